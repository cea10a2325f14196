//! Updates in order, none missed, none twice: the pts / qts / seq / channel-pts machinery.
//!
//! [`MessageBoxes`] is the pure part (no I/O, time passed in): it checks each update against
//! its box, applies what is next, holds what arrived early, and says when a gap has lasted
//! 0.5 s and a difference must be fetched. The client's update task is around it: it takes pushed
//! updates, fetches `updates.getDifference` / `updates.getChannelDifference` when told to,
//! after a reconnect and after 15 idle minutes, and hands updates to the application through
//! a bounded queue.

use crate::storage::UpdateState;
use mtproto_api::{enums, types};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an update that arrived early waits for the ones before it.
pub const GAP_WAIT: Duration = Duration::from_millis(500);
/// The most updates held per box while waiting for a gap to fill; beyond it the box asks
/// for its difference at once (a hostile or broken server cannot grow memory without bound).
pub const MAX_HELD: usize = 10_000;
/// After this long without updates the client asks for a difference anyway.
pub const IDLE_DIFFERENCE: Duration = Duration::from_secs(15 * 60);

/// What the update task is fed.
#[derive(Debug)]
pub(crate) enum Input {
    /// A serialized `Updates` (pushed, or the answer to a call).
    Pushed(Vec<u8>),
    /// `messages.affectedMessages` / `affectedHistory` of a call on the common box.
    Affected { pts: i32, pts_count: i32 },
    /// Updates may have been missed (reconnect, new session): fetch the difference.
    CatchUp,
    /// Start from this state (after sign-in).
    SetState(UpdateState),
}

/// Which sequence an update belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoxId {
    /// The account's common box (pts).
    Common,
    /// The secondary box (qts: secret chats, bot updates).
    Secondary,
    /// One channel's own box.
    Channel(i64),
}

/// Where an update falls: its box, its pts and how many events it covers.
fn position(update: &enums::Update) -> Option<(BoxId, i32, i32)> {
    use enums::Update as U;
    let channel_of = |m: &enums::Message| match m {
        enums::Message::Message(m) => peer_channel(&m.peer_id),
        enums::Message::Service(m) => peer_channel(&m.peer_id),
        enums::Message::Empty(m) => m.peer_id.as_ref().and_then(peer_channel),
    };
    Some(match update {
        U::NewMessage(u) => (BoxId::Common, u.pts, u.pts_count),
        U::DeleteMessages(u) => (BoxId::Common, u.pts, u.pts_count),
        U::ReadHistoryInbox(u) => (BoxId::Common, u.pts, u.pts_count),
        U::ReadHistoryOutbox(u) => (BoxId::Common, u.pts, u.pts_count),
        U::WebPage(u) => (BoxId::Common, u.pts, u.pts_count),
        U::ReadMessagesContents(u) => (BoxId::Common, u.pts, u.pts_count),
        U::EditMessage(u) => (BoxId::Common, u.pts, u.pts_count),
        U::FolderPeers(u) => (BoxId::Common, u.pts, u.pts_count),
        U::PinnedMessages(u) => (BoxId::Common, u.pts, u.pts_count),
        U::NewChannelMessage(u) => (BoxId::Channel(channel_of(&u.message)?), u.pts, u.pts_count),
        U::EditChannelMessage(u) => (BoxId::Channel(channel_of(&u.message)?), u.pts, u.pts_count),
        U::DeleteChannelMessages(u) => (BoxId::Channel(u.channel_id), u.pts, u.pts_count),
        U::ChannelWebPage(u) => (BoxId::Channel(u.channel_id), u.pts, u.pts_count),
        U::PinnedChannelMessages(u) => (BoxId::Channel(u.channel_id), u.pts, u.pts_count),
        U::ReadChannelInbox(u) => (BoxId::Channel(u.channel_id), u.pts, 0),
        U::NewEncryptedMessage(u) => (BoxId::Secondary, u.qts, 1),
        U::MessagePollVote(u) => (BoxId::Secondary, u.qts, 1),
        U::ChatParticipant(u) => (BoxId::Secondary, u.qts, 1),
        U::ChannelParticipant(u) => (BoxId::Secondary, u.qts, 1),
        U::BotStopped(u) => (BoxId::Secondary, u.qts, 1),
        _ => return None,
    })
}

fn peer_channel(peer: &enums::Peer) -> Option<i64> {
    match peer {
        enums::Peer::Channel(c) => Some(c.channel_id),
        _ => None,
    }
}

/// One update held until the ones before it arrive (`None`: a pts-only advance, e.g. the
/// answer to sending a message).
#[derive(Debug)]
struct Held {
    pts: i32,
    count: i32,
    update: Option<enums::Update>,
}

/// An `updateShortMessage` / `updateShortChatMessage` as the `updateNewMessage` it stands
/// for: `(update, pts, pts_count, date)`. (A macro: the two short types share these fields
/// by name but no trait.)
macro_rules! short_message {
    ($s:ident, $peer:expr, $from:expr) => {{
        let mut m = types::Message::new($s.id, $peer, $s.date, $s.message);
        m.out = $s.out;
        m.mentioned = $s.mentioned;
        m.media_unread = $s.media_unread;
        m.silent = $s.silent;
        m.from_id = Some(enums::Peer::User(types::PeerUser { user_id: $from }));
        m.fwd_from = $s.fwd_from;
        m.via_bot_id = $s.via_bot_id;
        m.reply_to = $s.reply_to;
        m.entities = $s.entities;
        m.ttl_period = $s.ttl_period;
        let update = enums::Update::NewMessage(types::UpdateNewMessage {
            message: enums::Message::Message(m),
            pts: $s.pts,
            pts_count: $s.pts_count,
        });
        (update, $s.pts, $s.pts_count, $s.date)
    }};
}

/// What processing produced.
#[derive(Debug, Default)]
pub struct Batch {
    /// Updates to hand to the application, in order.
    pub updates: Vec<enums::Update>,
    /// Users that came with them.
    pub users: Vec<enums::User>,
    /// Chats that came with them.
    pub chats: Vec<enums::Chat>,
    /// The common box needs `updates.getDifference` now.
    pub get_difference: bool,
    /// These channels need `updates.getChannelDifference` now.
    pub channel_differences: Vec<i64>,
}

/// The boxes' state and the updates waiting for a gap to fill.
#[derive(Debug, Default)]
pub struct MessageBoxes {
    /// The state (what has been applied).
    pub state: UpdateState,
    /// Whether `state` is known (signed in and fetched or loaded).
    pub has_state: bool,
    held: HashMap<BoxId, Vec<Held>>,
    deadlines: HashMap<BoxId, Instant>,
}

impl MessageBoxes {
    /// Boxes starting from a known state.
    pub fn new(state: Option<UpdateState>) -> Self {
        MessageBoxes {
            has_state: state.is_some(),
            state: state.unwrap_or_default(),
            ..Default::default()
        }
    }

    /// The earliest gap deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.values().min().copied()
    }

    /// Boxes whose gap has waited long enough: they need a difference. Their held updates
    /// stay held until it is applied.
    pub fn expired(&mut self, now: Instant) -> Vec<BoxId> {
        let due: Vec<BoxId> = self
            .deadlines
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(b, _)| *b)
            .collect();
        for b in &due {
            self.deadlines.remove(b);
        }
        due
    }

    fn local(&mut self, b: BoxId) -> Option<&mut i32> {
        match b {
            BoxId::Common => Some(&mut self.state.pts),
            BoxId::Secondary => Some(&mut self.state.qts),
            BoxId::Channel(id) => self.state.channels.get_mut(&id),
        }
    }

    /// Processes one `Updates` object from the server. `self_id` is the signed-in user (for
    /// the short message forms).
    pub fn process(&mut self, updates: enums::Updates, self_id: i64, now: Instant) -> Batch {
        let mut out = Batch::default();
        match updates {
            enums::Updates::TooLong => out.get_difference = true,
            enums::Updates::UpdateShortMessage(s) => {
                let peer = enums::Peer::User(types::PeerUser { user_id: s.user_id });
                let from = if s.out { self_id } else { s.user_id };
                let (update, pts, count, date) = short_message!(s, peer, from);
                self.check(Some(update), BoxId::Common, pts, count, now, &mut out);
                self.state.date = self.state.date.max(date);
            }
            enums::Updates::UpdateShortChatMessage(s) => {
                let peer = enums::Peer::Chat(types::PeerChat { chat_id: s.chat_id });
                let (update, pts, count, date) = short_message!(s, peer, s.from_id);
                self.check(Some(update), BoxId::Common, pts, count, now, &mut out);
                self.state.date = self.state.date.max(date);
            }
            enums::Updates::UpdateShort(s) => {
                self.update(s.update, now, &mut out);
                self.state.date = self.state.date.max(s.date);
            }
            enums::Updates::UpdateShortSentMessage(s) => {
                self.check(None, BoxId::Common, s.pts, s.pts_count, now, &mut out);
            }
            enums::Updates::Updates(u) => {
                self.container(u.updates, u.seq, u.seq, u.date, now, &mut out);
                out.users = u.users;
                out.chats = u.chats;
            }
            enums::Updates::Combined(u) => {
                self.container(u.updates, u.seq_start, u.seq, u.date, now, &mut out);
                out.users = u.users;
                out.chats = u.chats;
            }
        }
        out
    }

    /// The updates of an `updates` / `updatesCombined`, checked against `seq` and each
    /// against its box.
    fn container(
        &mut self,
        updates: Vec<enums::Update>,
        seq_start: i32,
        seq: i32,
        date: i32,
        now: Instant,
        out: &mut Batch,
    ) {
        self.sequence(seq_start, seq, now);
        for update in updates {
            self.update(update, now, out);
        }
        self.finish_sequence(seq, date);
    }

    /// A pts-only advance of the common box (`messages.affectedMessages`).
    pub fn affected(&mut self, pts: i32, pts_count: i32, now: Instant) -> Batch {
        let mut out = Batch::default();
        self.check(None, BoxId::Common, pts, pts_count, now, &mut out);
        out
    }

    fn sequence(&mut self, seq_start: i32, _seq: i32, now: Instant) {
        if seq_start != 0
            && self.has_state
            && self.state.seq != 0
            && i64::from(self.state.seq) + 1 < i64::from(seq_start)
        {
            // A whole `updates` went missing: wait a little, then fetch the difference.
            self.deadlines
                .entry(BoxId::Common)
                .or_insert(now + GAP_WAIT);
        }
    }

    fn finish_sequence(&mut self, seq: i32, date: i32) {
        if seq != 0 {
            self.state.seq = self.state.seq.max(seq);
        }
        self.state.date = self.state.date.max(date);
    }

    fn update(&mut self, update: enums::Update, now: Instant, out: &mut Batch) {
        if let enums::Update::ChannelTooLong(u) = &update {
            out.channel_differences.push(u.channel_id);
            return;
        }
        match position(&update) {
            Some((b, pts, count)) => self.check(Some(update), b, pts, count, now, out),
            None => out.updates.push(update),
        }
    }

    fn check(
        &mut self,
        update: Option<enums::Update>,
        b: BoxId,
        pts: i32,
        count: i32,
        now: Instant,
        out: &mut Batch,
    ) {
        if !self.has_state {
            out.updates.extend(update);
            return;
        }
        let Some(local) = self.local(b) else {
            // A channel not tracked yet: start tracking it from here.
            if let BoxId::Channel(id) = b {
                self.state.channels.insert(id, pts);
            }
            out.updates.extend(update);
            return;
        };
        // In i64: a hostile server's pts near i32::MAX must not overflow.
        let next = i64::from(*local) + i64::from(count);
        let pts64 = i64::from(pts);
        if next == pts64 {
            *local = pts;
            out.updates.extend(update);
            self.release(b, out);
        } else if next > pts64 {
            // Already applied (a duplicate, or covered by a difference).
        } else {
            let held = self.held.entry(b).or_default();
            if held.len() >= MAX_HELD {
                // Too far ahead to keep waiting: fetch the difference now instead.
                held.clear();
                self.deadlines.insert(b, now);
                return;
            }
            held.push(Held { pts, count, update });
            self.deadlines.entry(b).or_insert(now + GAP_WAIT);
        }
    }

    /// Applies held updates that have become next in line.
    fn release(&mut self, b: BoxId, out: &mut Batch) {
        let Some(mut held) = self.held.remove(&b) else {
            return;
        };
        held.sort_by_key(|h| i64::from(h.pts) - i64::from(h.count));
        let mut still = Vec::new();
        for h in held {
            let Some(local) = self.local(b) else { break };
            let next = i64::from(*local) + i64::from(h.count);
            if next == i64::from(h.pts) {
                *local = h.pts;
                out.updates.extend(h.update);
            } else if next < i64::from(h.pts) {
                still.push(h);
            }
        }
        if still.is_empty() {
            self.deadlines.remove(&b);
        } else {
            self.held.insert(b, still);
        }
    }

    /// Re-checks the updates held for `b` after its state moved (by a difference).
    fn recheck(&mut self, b: BoxId, now: Instant, out: &mut Batch) {
        self.deadlines.remove(&b);
        let Some(mut held) = self.held.remove(&b) else {
            return;
        };
        held.sort_by_key(|h| i64::from(h.pts) - i64::from(h.count));
        for h in held {
            self.check(h.update, b, h.pts, h.count, now, out);
        }
    }

    /// Applies one answer to `updates.getDifference`; `true` when it was the last part.
    pub fn apply_difference(
        &mut self,
        difference: enums::updates::Difference,
        now: Instant,
        out: &mut Batch,
    ) -> bool {
        use enums::updates::Difference as D;
        let (done, state) = match difference {
            D::Empty(d) => {
                self.state.date = d.date;
                self.state.seq = d.seq;
                (true, None)
            }
            D::TooLong(d) => {
                self.state.pts = d.pts;
                (true, None)
            }
            D::Difference(d) => {
                self.deliver_difference(d.new_messages, d.other_updates, out);
                out.users.extend(d.users);
                out.chats.extend(d.chats);
                (true, Some(d.state))
            }
            D::Slice(d) => {
                self.deliver_difference(d.new_messages, d.other_updates, out);
                out.users.extend(d.users);
                out.chats.extend(d.chats);
                (false, Some(d.intermediate_state))
            }
        };
        if let Some(enums::updates::State::State(s)) = state {
            self.state.pts = s.pts;
            self.state.qts = s.qts;
            self.state.date = s.date;
            self.state.seq = s.seq;
        }
        self.has_state = true;
        if done {
            self.recheck(BoxId::Common, now, out);
            self.recheck(BoxId::Secondary, now, out);
        }
        done
    }

    fn deliver_difference(
        &mut self,
        messages: Vec<enums::Message>,
        others: Vec<enums::Update>,
        out: &mut Batch,
    ) {
        for message in messages {
            out.updates
                .push(enums::Update::NewMessage(types::UpdateNewMessage {
                    message,
                    pts: 0,
                    pts_count: 0,
                }));
        }
        for update in others {
            match position(&update) {
                Some((BoxId::Channel(id), pts, _)) => {
                    let local = self.state.channels.entry(id).or_insert(pts);
                    if *local < pts {
                        *local = pts;
                    }
                    out.updates.push(update);
                }
                _ => match update {
                    enums::Update::ChannelTooLong(u) => out.channel_differences.push(u.channel_id),
                    update => out.updates.push(update),
                },
            }
        }
    }

    /// Applies one answer to `updates.getChannelDifference`; `true` when it was the last.
    pub fn apply_channel_difference(
        &mut self,
        channel: i64,
        difference: enums::updates::ChannelDifference,
        now: Instant,
        out: &mut Batch,
    ) -> bool {
        use enums::updates::ChannelDifference as D;
        let wrap = |message| {
            enums::Update::NewChannelMessage(types::UpdateNewChannelMessage {
                message,
                pts: 0,
                pts_count: 0,
            })
        };
        let done = match difference {
            D::Empty(d) => {
                self.state.channels.insert(channel, d.pts);
                d.r#final
            }
            D::TooLong(d) => {
                if let enums::Dialog::Dialog(dialog) = &d.dialog {
                    if let Some(pts) = dialog.pts {
                        self.state.channels.insert(channel, pts);
                    }
                }
                out.updates.extend(d.messages.into_iter().map(wrap));
                out.users.extend(d.users);
                out.chats.extend(d.chats);
                true
            }
            D::ChannelDifference(d) => {
                self.state.channels.insert(channel, d.pts);
                out.updates.extend(d.new_messages.into_iter().map(wrap));
                out.updates.extend(d.other_updates);
                out.users.extend(d.users);
                out.chats.extend(d.chats);
                d.r#final
            }
        };
        if done {
            self.recheck(BoxId::Channel(channel), now, out);
        }
        done
    }

    /// Stops tracking a channel (left, or no longer readable).
    pub fn forget_channel(&mut self, channel: i64) {
        self.state.channels.remove(&channel);
        self.held.remove(&BoxId::Channel(channel));
        self.deadlines.remove(&BoxId::Channel(channel));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_message(id: i32, pts: i32) -> enums::Updates {
        enums::Updates::UpdateShortMessage(types::UpdateShortMessage {
            id,
            user_id: 7,
            message: format!("m{id}"),
            pts,
            pts_count: 1,
            date: 1000 + id,
            ..Default::default()
        })
    }

    fn ids(batch: &Batch) -> Vec<i32> {
        batch
            .updates
            .iter()
            .map(|u| match u {
                enums::Update::NewMessage(u) => match &u.message {
                    enums::Message::Message(m) => m.id,
                    _ => -1,
                },
                enums::Update::NewChannelMessage(u) => match &u.message {
                    enums::Message::Message(m) => m.id,
                    _ => -1,
                },
                _ => -2,
            })
            .collect()
    }

    fn boxes(pts: i32) -> MessageBoxes {
        MessageBoxes::new(Some(UpdateState {
            pts,
            ..Default::default()
        }))
    }

    #[test]
    fn in_order_updates_apply_and_duplicates_are_dropped() {
        let now = Instant::now();
        let mut b = boxes(10);
        assert_eq!(ids(&b.process(new_message(1, 11), 1, now)), [1]);
        assert_eq!(ids(&b.process(new_message(2, 12), 1, now)), [2]);
        assert_eq!(
            ids(&b.process(new_message(2, 12), 1, now)),
            Vec::<i32>::new()
        );
        assert_eq!(b.state.pts, 12);
        assert_eq!(b.next_deadline(), None);
    }

    #[test]
    fn an_early_update_waits_for_the_gap_to_fill() {
        let now = Instant::now();
        let mut b = boxes(10);
        assert!(ids(&b.process(new_message(3, 13), 1, now)).is_empty());
        assert_eq!(b.next_deadline(), Some(now + GAP_WAIT));
        assert!(ids(&b.process(new_message(2, 12), 1, now)).is_empty());
        // The missing one arrives: all three in order.
        assert_eq!(ids(&b.process(new_message(1, 11), 1, now)), [1, 2, 3]);
        assert_eq!(b.state.pts, 13);
        assert_eq!(b.next_deadline(), None);
    }

    #[test]
    fn a_gap_that_lasts_asks_for_a_difference_then_held_updates_apply_once() {
        let now = Instant::now();
        let mut b = boxes(10);
        b.process(new_message(3, 13), 1, now);
        assert!(b.expired(now + Duration::from_millis(100)).is_empty());
        assert_eq!(b.expired(now + GAP_WAIT), [BoxId::Common]);
        // The difference brings 1 and 2 (and says the state is 12); 3 is then applied from
        // the held ones, once.
        let diff = enums::updates::Difference::Difference(types::updates::Difference {
            new_messages: vec![
                enums::Message::Message(types::Message::new(
                    1,
                    enums::Peer::User(types::PeerUser { user_id: 7 }),
                    0,
                    "m1".into(),
                )),
                enums::Message::Message(types::Message::new(
                    2,
                    enums::Peer::User(types::PeerUser { user_id: 7 }),
                    0,
                    "m2".into(),
                )),
            ],
            new_encrypted_messages: vec![],
            other_updates: vec![],
            chats: vec![],
            users: vec![],
            state: enums::updates::State::State(types::updates::State {
                pts: 12,
                qts: 0,
                date: 5,
                seq: 0,
                unread_count: 0,
            }),
        });
        let mut out = Batch::default();
        assert!(b.apply_difference(diff, now, &mut out));
        assert_eq!(ids(&out), [1, 2, 3]);
        assert_eq!(b.state.pts, 13);
        // A difference that already covers the held update drops it instead.
        let mut b = boxes(10);
        b.process(new_message(3, 13), 1, now);
        let mut out = Batch::default();
        b.apply_difference(
            enums::updates::Difference::TooLong(types::updates::DifferenceTooLong { pts: 20 }),
            now,
            &mut out,
        );
        assert!(ids(&out).is_empty());
        assert_eq!(b.state.pts, 20);
    }

    #[test]
    fn channels_have_their_own_boxes_and_too_long_asks_for_their_difference() {
        let now = Instant::now();
        let mut b = boxes(10);
        let post = |id: i32, pts: i32| {
            enums::Updates::Updates(types::Updates {
                updates: vec![enums::Update::NewChannelMessage(
                    types::UpdateNewChannelMessage {
                        message: enums::Message::Message(types::Message::new(
                            id,
                            enums::Peer::Channel(types::PeerChannel { channel_id: 55 }),
                            0,
                            String::new(),
                        )),
                        pts,
                        pts_count: 1,
                    },
                )],
                users: vec![],
                chats: vec![],
                date: 0,
                seq: 0,
            })
        };
        // First sight of the channel: tracked from there.
        assert_eq!(ids(&b.process(post(1, 100), 1, now)), [1]);
        assert_eq!(ids(&b.process(post(2, 101), 1, now)), [2]);
        assert!(ids(&b.process(post(4, 103), 1, now)).is_empty());
        assert_eq!(b.expired(now + GAP_WAIT), [BoxId::Channel(55)]);
        assert_eq!(b.state.pts, 10, "the common box is untouched");
        let tl = enums::Updates::UpdateShort(types::UpdateShort {
            update: enums::Update::ChannelTooLong(types::UpdateChannelTooLong {
                channel_id: 55,
                pts: None,
            }),
            date: 0,
        });
        assert_eq!(b.process(tl, 1, now).channel_differences, [55]);
        let mut out = Batch::default();
        let done = b.apply_channel_difference(
            55,
            enums::updates::ChannelDifference::Empty(types::updates::ChannelDifferenceEmpty {
                r#final: true,
                pts: 102,
                timeout: None,
            }),
            now,
            &mut out,
        );
        assert!(done);
        assert_eq!(ids(&out), [4], "the held post applies after the difference");
    }

    #[test]
    fn sent_message_answers_advance_pts_without_an_update() {
        let now = Instant::now();
        let mut b = boxes(10);
        let sent = enums::Updates::UpdateShortSentMessage(types::UpdateShortSentMessage {
            id: 5,
            pts: 11,
            pts_count: 1,
            date: 0,
            ..Default::default()
        });
        assert!(b.process(sent, 1, now).updates.is_empty());
        assert_eq!(b.state.pts, 11);
        assert!(b.affected(13, 2, now).updates.is_empty());
        assert_eq!(b.state.pts, 13);
        assert_eq!(ids(&b.process(new_message(6, 14), 1, now)), [6]);
    }

    #[test]
    fn short_messages_become_new_message_updates_with_the_sender() {
        let now = Instant::now();
        let mut b = boxes(0);
        let mut m = match new_message(1, 1) {
            enums::Updates::UpdateShortMessage(m) => m,
            _ => unreachable!(),
        };
        m.out = true;
        let batch = b.process(enums::Updates::UpdateShortMessage(m), 99, now);
        match &batch.updates[0] {
            enums::Update::NewMessage(u) => match &u.message {
                enums::Message::Message(m) => {
                    assert!(m.out);
                    assert_eq!(
                        m.from_id,
                        Some(enums::Peer::User(types::PeerUser { user_id: 99 }))
                    );
                    assert_eq!(m.peer_id, enums::Peer::User(types::PeerUser { user_id: 7 }));
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
}
