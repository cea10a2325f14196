//! Checks of [`ScheduledStore`](crate::ScheduledStore).

use super::{new_users, ok};
use crate::scheduled::{NewScheduled, ScheduledMessage};
use crate::{DialogPeer, MediaRef, Store};

fn message(peer: DialogPeer, text: &str, random_id: i64, date: i32) -> NewScheduled {
    NewScheduled {
        peer,
        text: text.into(),
        random_id,
        date,
        media: None,
        reply_to: None,
    }
}

fn ids(listed: &[ScheduledMessage]) -> Vec<i32> {
    listed.iter().map(|m| m.id).collect()
}

/// Scheduling keeps every field, once per random_id; lists are per owner and chat, soonest
/// first (then by id); deleting returns what it deleted; ids are never reused.
pub fn scheduled_keep_and_list(store: &dyn Store) {
    let [a, b] = new_users(store);
    let to_b = DialogPeer::User(b);
    let full = NewScheduled {
        media: Some(MediaRef::Photo(77)),
        reply_to: Some(5),
        ..message(to_b, "later \0 👍", 1, 2_000)
    };
    let first = ok(store.schedule(a, &full));
    assert_eq!((first.owner, &first.message), (a, &full));
    let again = ok(store.schedule(a, &full));
    assert_eq!(again, first, "one message per random_id");
    let soon = ok(store.schedule(a, &message(to_b, "soon", 2, 1_000)));
    let same_time = ok(store.schedule(a, &message(to_b, "same time", 3, 1_000)));
    assert!(soon.id != first.id && same_time.id != soon.id);
    ok(store.schedule(a, &message(DialogPeer::Chat(b), "in a group", 4, 500)));
    ok(store.schedule(b, &message(DialogPeer::User(a), "b's own", 1, 500)));
    let listed = ok(store.scheduled(a, to_b, None));
    assert_eq!(ids(&listed), vec![soon.id, same_time.id, first.id]);
    assert_eq!(listed[2], first);
    let picked = ok(store.scheduled(a, to_b, Some(&[first.id, 999])));
    assert_eq!(picked, vec![first.clone()]);
    assert!(
        ok(store.scheduled(b, to_b, None)).is_empty(),
        "a's list is a's"
    );
    assert_eq!(ok(store.scheduled(a, DialogPeer::Chat(b), None)).len(), 1);
    let deleted = ok(store.delete_scheduled(a, to_b, &[soon.id, 999]));
    assert_eq!(deleted, vec![soon.id]);
    assert!(ok(store.delete_scheduled(a, to_b, &[soon.id])).is_empty());
    assert!(
        ok(store.delete_scheduled(b, to_b, &[first.id])).is_empty(),
        "nobody deletes another's"
    );
    let next = ok(store.schedule(a, &message(to_b, "next", 5, 3_000)));
    assert!(
        next.id > same_time.id && next.id > first.id,
        "ids are not reused"
    );
}

/// Claims: only messages whose time has come, soonest first, up to the limit; a claimed
/// message is not claimed again before its claim runs out, and is after; claiming by id
/// ignores the time but not a live claim.
pub fn scheduled_claims(store: &dyn Store) {
    let [a, b] = new_users(store);
    let to_b = DialogPeer::User(b);
    let early = ok(store.schedule(a, &message(to_b, "early", 1, 100)));
    let later = ok(store.schedule(a, &message(to_b, "later", 2, 200)));
    let future = ok(store.schedule(b, &message(DialogPeer::User(a), "future", 1, 10_000)));
    assert!(
        ok(store.claim_due(99, 130, 10)).is_empty(),
        "nothing due yet"
    );
    assert_eq!(ok(store.claim_due(250, 280, 1)), vec![early.clone()]);
    assert_eq!(ok(store.claim_due(250, 280, 10)), vec![later.clone()]);
    assert!(ok(store.claim_due(260, 290, 10)).is_empty(), "claims hold");
    assert_eq!(
        ids(&ok(store.claim_due(281, 310, 10))),
        vec![early.id, later.id],
        "claims run out"
    );
    let peer_a = DialogPeer::User(a);
    assert!(ok(store.claim_scheduled(b, peer_a, &[future.id], 300, 330)).len() == 1);
    assert!(ok(store.claim_scheduled(b, peer_a, &[future.id], 301, 331)).is_empty());
    assert!(
        ok(store.claim_scheduled(a, peer_a, &[future.id], 400, 430)).is_empty(),
        "b's own"
    );
    ok(store.delete_scheduled(a, to_b, &[early.id, later.id]));
    assert!(
        ok(store.claim_due(1_000, 1_030, 10)).is_empty(),
        "sent ones are gone"
    );
}
