//! Checks of the pins of [`ChannelStore`](crate::ChannelStore).

use super::{expect_not_found, new_users, no_extras, ok};
use crate::Store;
use crate::channels::ChannelChange;
use crate::chats::ServiceAction;

/// Pinning a post flags it (one `Pin` entry) and writes the `PinMessage` service post that
/// replies to it, which reads back whole; pinning it again writes only a new notice;
/// unpinning all unpins every pinned post with no notice; an unknown id is refused with
/// nothing written.
pub fn channel_pins(store: &dyn Store) {
    let [a] = new_users(store);
    let ch = ok(store.create_channel(a, "Pins", "", true, false, 7, 10));
    let first = ok(store.post(ch.id, a, "first", 1, 11, no_extras())).message;
    let second = ok(store.post(ch.id, a, "second", 2, 12, no_extras())).message;
    let done = ok(store.pin_channel_messages(ch.id, a, Some(first.id), true, 13));
    let entry = done.entry.expect("a pin entry");
    assert_eq!(
        entry.change,
        ChannelChange::Pin {
            ids: vec![first.id],
            pinned: true
        }
    );
    let notice = done.notice.expect("a notice");
    assert_eq!(
        notice.entry.pts,
        entry.pts + 1,
        "the notice comes after the pin"
    );
    assert_eq!(
        (
            notice.message.action.clone(),
            notice.message.reply_to,
            notice.message.from_id
        ),
        (Some(ServiceAction::PinMessage), Some(first.id), a)
    );
    let stored = ok(store.channel_messages(ch.id, &[notice.message.id, first.id]));
    assert_eq!(stored[0], notice.message, "the notice reads back whole");
    assert!(stored[1].pinned && !second.pinned);
    let again = ok(store.pin_channel_messages(ch.id, a, Some(first.id), true, 14));
    assert!(again.entry.is_none() && again.notice.is_some());
    ok(store.pin_channel_messages(ch.id, a, Some(second.id), true, 15));
    assert_eq!(ok(store.channel_pinned(ch.id)), vec![second.id, first.id]);
    let before = ok(store.channel(ch.id)).expect("the channel").pts;
    expect_not_found(
        store.pin_channel_messages(ch.id, a, Some(9_999), true, 16),
        "pin of an unknown post",
    );
    assert_eq!(ok(store.channel(ch.id)).expect("the channel").pts, before);
    let unpinned = ok(store.pin_channel_messages(ch.id, a, None, false, 17));
    assert!(unpinned.notice.is_none());
    assert!(matches!(
        unpinned.entry.map(|e| e.change),
        Some(ChannelChange::Pin { ids, pinned: false }) if ids == vec![first.id, second.id]
    ));
    assert!(ok(store.channel_pinned(ch.id)).is_empty());
}
