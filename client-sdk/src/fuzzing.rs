//! Entry point of the `client_updates` cargo-fuzz target (feature `fuzzing`; not a public
//! API): the update machinery fed what a hostile or broken server could send.

use crate::storage::UpdateState;
use crate::updates::{Batch, BoxId, MessageBoxes};
use mtproto_api::{enums, types};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tl_runtime::arbitrary::{TlArbitrary, Unstructured};

/// Where an update the boxes checked falls (the ones `process` applies by pts).
fn common_or_channel(update: &enums::Update) -> Option<(BoxId, i32, i32)> {
    match update {
        enums::Update::NewMessage(u) => Some((BoxId::Common, u.pts, u.pts_count)),
        enums::Update::DeleteMessages(u) => Some((BoxId::Common, u.pts, u.pts_count)),
        enums::Update::EditMessage(u) => Some((BoxId::Common, u.pts, u.pts_count)),
        enums::Update::DeleteChannelMessages(u) => {
            Some((BoxId::Channel(u.channel_id), u.pts, u.pts_count))
        }
        _ => None,
    }
}

/// Feeds [`MessageBoxes`] a mix of arbitrary `Updates`, realistic short messages around the
/// current pts (in order, duplicated, early), gap deadlines and arbitrary differences.
/// Checks that nothing panics and that, between two differences (which may move the state
/// anywhere, as the server decides), no pts of a box is delivered twice or out of order.
pub fn updates(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
}

fn run(u: &mut Unstructured<'_>) -> tl_runtime::arbitrary::Result<()> {
    let mut now = Instant::now();
    let mut boxes = MessageBoxes::new(Some(UpdateState {
        pts: u.int_in_range(0..=1000)?,
        qts: u.arbitrary()?,
        date: u.arbitrary()?,
        seq: u.int_in_range(0..=5)?,
        channels: HashMap::new(),
    }));
    // Highest pts delivered per box since the last difference.
    let mut delivered: HashMap<BoxId, i32> = HashMap::new();
    let check = |batch: &Batch, delivered: &mut HashMap<BoxId, i32>| {
        for update in &batch.updates {
            if let Some((b, pts, count)) = common_or_channel(update) {
                if count > 0 && pts != 0 {
                    if let Some(last) = delivered.get(&b) {
                        assert!(pts > *last, "{b:?}: pts {pts} delivered after {last}");
                    }
                    delivered.insert(b, pts);
                }
            }
        }
    };
    for _ in 0..u.int_in_range(1..=64)? {
        match u.int_in_range(0..=9)? {
            0 | 1 => {
                let updates = enums::Updates::tl_arbitrary(u)?;
                let batch = boxes.process(updates, 1, now);
                check(&batch, &mut delivered);
            }
            2..=6 => {
                let offset: i32 = u.int_in_range(-3..=3)?;
                let count: i32 = u.int_in_range(0..=2)?;
                let pts = boxes.state.pts.saturating_add(count).saturating_add(offset);
                let short = enums::Updates::UpdateShortMessage(types::UpdateShortMessage {
                    id: pts,
                    user_id: 7,
                    pts,
                    pts_count: count,
                    out: u.arbitrary()?,
                    ..Default::default()
                });
                let batch = boxes.process(short, 1, now);
                check(&batch, &mut delivered);
            }
            7 => {
                now += Duration::from_millis(u.int_in_range(0..=1000)?);
                for b in boxes.expired(now) {
                    let mut out = Batch::default();
                    match b {
                        BoxId::Channel(id) => {
                            let d = enums::updates::ChannelDifference::tl_arbitrary(u)?;
                            boxes.apply_channel_difference(id, d, now, &mut out);
                        }
                        _ => {
                            let d = enums::updates::Difference::tl_arbitrary(u)?;
                            boxes.apply_difference(d, now, &mut out);
                        }
                    }
                    delivered.clear();
                }
            }
            8 => {
                let mut out = Batch::default();
                let d = enums::updates::Difference::tl_arbitrary(u)?;
                boxes.apply_difference(d, now, &mut out);
                delivered.clear();
            }
            _ => {
                let batch = boxes.affected(u.arbitrary()?, u.arbitrary()?, now);
                check(&batch, &mut delivered);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_inputs_run_clean() {
        for seed in 0..200u32 {
            let data: Vec<u8> = (0..512u32)
                .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed * 97) >> 13) as u8)
                .collect();
            super::updates(&data);
        }
    }
}
