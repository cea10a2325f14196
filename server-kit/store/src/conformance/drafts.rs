//! Checks of [`DraftStore`](crate::DraftStore).

use super::{new_users, ok};
use crate::Store;

/// Drafts: one per owner and chat (a user, a chat and a channel of the same number are
/// different chats), replaced by a new one, cleared with `None` (`false` when there was
/// none), listed newest first, each owner's alone.
pub fn drafts(store: &dyn Store) {
    use crate::DialogPeer;
    use crate::drafts::Draft;
    let [a, b] = new_users(store);
    let draft = |text: &str, date| Draft {
        text: text.into(),
        reply_to: None,
        no_webpage: false,
        date,
    };
    assert!(ok(store.drafts(a)).is_empty());
    let peers = [
        DialogPeer::User(b),
        DialogPeer::Chat(b),
        DialogPeer::Channel(b),
    ];
    for (i, peer) in peers.iter().enumerate() {
        assert!(ok(store.save_draft(
            a,
            *peer,
            Some(&draft("typing", 10 + i as i32))
        )));
    }
    let replaced = Draft {
        reply_to: Some(3),
        no_webpage: true,
        ..draft("typing more", 20)
    };
    ok(store.save_draft(a, DialogPeer::Chat(b), Some(&replaced)));
    let listed = ok(store.drafts(a));
    assert_eq!(
        listed,
        vec![
            (DialogPeer::Chat(b), replaced),
            (DialogPeer::Channel(b), draft("typing", 12)),
            (DialogPeer::User(b), draft("typing", 10)),
        ]
    );
    assert!(ok(store.drafts(b)).is_empty(), "b's drafts are b's");
    assert!(ok(store.save_draft(a, DialogPeer::User(b), None)));
    assert!(!ok(store.save_draft(a, DialogPeer::User(b), None)));
    assert_eq!(ok(store.drafts(a)).len(), 2);
    let odd = draft("nul \0 and emoji 👍", 30);
    ok(store.save_draft(b, DialogPeer::User(a), Some(&odd)));
    assert_eq!(ok(store.drafts(b)), vec![(DialogPeer::User(a), odd)]);
}
