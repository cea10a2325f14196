//! The file-part rules of `crate::files`, with arbitrary part sequences.

use crate::files::{
    FileError, MAX_PART_SIZE, PartTracker, UploadPlan, check_get_file, md5_hex, verify_md5,
};
use arbitrary::Unstructured;
use std::collections::BTreeMap;

/// The file-part assembler fed an arbitrary sequence of parts and finalisations, checked
/// against a model of what it accepted; an upload planned by [`UploadPlan`] sent in an
/// arbitrary order (with repeats) must be accepted and finish with the file's size; download
/// ranges and MD5 checks never panic.
pub fn file_parts(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
}

/// A part size the client may pick: mostly valid ones, sometimes anything.
fn part_len(u: &mut Unstructured<'_>) -> arbitrary::Result<usize> {
    Ok(match u.int_in_range(0..=3)? {
        0 => 1024 << u.int_in_range(0..=9)?,
        1 => u.int_in_range(1..=MAX_PART_SIZE)?,
        2 => u.int_in_range(0..=2 * MAX_PART_SIZE)?,
        _ => u.arbitrary()?,
    })
}

fn small_i32(u: &mut Unstructured<'_>) -> arbitrary::Result<i32> {
    Ok(match u.int_in_range(0..=3)? {
        0 => u.int_in_range(-2..=12)?,
        1 => u.int_in_range(0..=4100)?,
        _ => u.arbitrary()?,
    })
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let max_parts = match u.int_in_range(0..=2)? {
        0 => 4000,
        1 => u.int_in_range(1..=16)?,
        _ => u.arbitrary()?,
    };
    let mut tracker = PartTracker::new(max_parts);
    // What the tracker accepted: the size of each part.
    let mut model: BTreeMap<u32, usize> = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=64)? {
        match u.int_in_range(0..=9)? {
            0..=6 => {
                let index = small_i32(u)?;
                let total = match u.int_in_range(0..=2)? {
                    0 => None,
                    1 => Some(-1),
                    _ => Some(small_i32(u)?),
                };
                let len = part_len(u)?;
                let before = tracker.clone();
                match tracker.save_part(index, total, len) {
                    Ok(()) => {
                        assert!(
                            index >= 0 && (index as u32) < max_parts,
                            "part {index} of at most {max_parts} accepted"
                        );
                        assert!(
                            len > 0 && len <= MAX_PART_SIZE,
                            "part of {len} bytes accepted"
                        );
                        model.insert(index as u32, len);
                        check_consistent(&model);
                    }
                    Err(e) => {
                        let _ = e.rpc_message();
                        // A refused part changes nothing.
                        assert_eq!(format!("{before:?}"), format!("{tracker:?}"), "{e}");
                    }
                }
            }
            7 | 8 => {
                let parts = small_i32(u)?;
                match tracker.finish(parts) {
                    Ok(size) => {
                        let parts = parts as u32;
                        assert!(parts >= 1 && parts <= max_parts);
                        assert_eq!(model.len() as u32, parts, "finished with parts missing");
                        assert!(model.keys().copied().eq(0..parts));
                        assert_eq!(size, model.values().map(|&l| l as u64).sum::<u64>());
                    }
                    Err(FileError::PartMissing(i)) => {
                        assert!(!model.contains_key(&i), "part {i} reported missing");
                    }
                    Err(_) => {}
                }
            }
            _ => {
                let offset = match u.int_in_range(0..=3)? {
                    0 => i64::from(u.int_in_range(0..=4096u32)?) * 1024,
                    // The far end of the range, where offset + limit overflows.
                    1 => (i64::MAX & !1023) - i64::from(u.int_in_range(0..=2048u32)?) * 1024,
                    _ => u.arbitrary()?,
                };
                let limit = match u.int_in_range(0..=2)? {
                    0 => 1024 << u.int_in_range(0..=10)?,
                    _ => u.arbitrary()?,
                };
                let precise = u.arbitrary()?;
                if check_get_file(offset, limit, precise).is_ok() {
                    const MIB: i64 = 1 << 20;
                    assert!(offset >= 0 && limit > 0 && i64::from(limit) <= MIB);
                    // `limit - 1` first: offset + limit itself may be 2^63 (the last MiB).
                    assert_eq!(offset / MIB, (offset + (i64::from(limit) - 1)) / MIB);
                }
            }
        }
    }

    // A planned upload, in any order and with repeats, must be accepted.
    let size = match u.int_in_range(0..=2)? {
        0 => u.int_in_range(1..=3 << 20)?,
        1 => u.int_in_range(1..=4000 * MAX_PART_SIZE as u64)?,
        _ => u.arbitrary()?,
    };
    let max_parts = if u.arbitrary()? { 4000 } else { u.arbitrary()? };
    let Ok(plan) = UploadPlan::new(size, max_parts) else {
        return Ok(());
    };
    assert!(plan.parts >= 1 && plan.parts <= max_parts);
    assert_eq!(plan.big, size > crate::files::BIG_FILE_THRESHOLD);
    let (last_offset, last_len) = plan.part(plan.parts - 1);
    assert_eq!(
        last_offset + last_len as u64,
        size,
        "the parts do not cover the file"
    );
    assert!(last_len > 0 && last_len <= plan.part_size);
    if plan.parts > 200 {
        return Ok(());
    }
    let mut order: Vec<u32> = (0..plan.parts).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, u.int_in_range(0..=i)?);
    }
    if let Some(&again) = order.first() {
        if u.arbitrary()? {
            order.push(again);
        }
    }
    let mut tracker = PartTracker::new(max_parts);
    let total = plan.big.then_some(plan.parts as i32);
    for index in order {
        let (offset, len) = plan.part(index);
        assert_eq!(offset, u64::from(index) * plan.part_size as u64);
        tracker
            .save_part(index as i32, total, len)
            .unwrap_or_else(|e| panic!("{plan:?}: part {index} of {len} bytes refused: {e}"));
    }
    assert_eq!(tracker.finish(plan.parts as i32), Ok(size), "{plan:?}");

    let content: Vec<u8> = u.arbitrary()?;
    assert!(verify_md5(&md5_hex(&content), &content).is_ok());
    assert!(verify_md5(&md5_hex(&content).to_uppercase(), &content).is_ok());
    let claimed: String = u.arbitrary()?;
    let _ = verify_md5(&claimed, &content);
    Ok(())
}

/// The rules the accepted parts must keep: every part below the highest has one size, a
/// multiple of 1 KiB dividing 512 KiB, and the highest is no larger.
fn check_consistent(model: &BTreeMap<u32, usize>) {
    let Some((&last, &last_len)) = model.last_key_value() else {
        return;
    };
    let sizes: Vec<usize> = model.range(..last).map(|(_, &l)| l).collect();
    if let Some(&full) = sizes.first() {
        assert!(
            sizes.iter().all(|&l| l == full),
            "part sizes differ: {model:?}"
        );
        assert!(
            full % 1024 == 0 && MAX_PART_SIZE % full == 0,
            "bad part size {full}"
        );
        assert!(last_len <= full, "last part larger: {model:?}");
    }
}
