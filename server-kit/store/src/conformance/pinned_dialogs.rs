//! Checks of [`PinnedDialogStore`](crate::pinned_dialogs::PinnedDialogStore).

use super::{new_users, ok};
use crate::{DialogPeer, Store};

/// Pinning puts a dialog on top (again: no change), unpinning takes it off; reordering
/// without `force` keeps the ones it leaves out below, with `force` drops them; each owner's
/// list is their own; a user, a chat and a channel of one number are different dialogs.
pub fn pinned_dialogs(store: &dyn Store) {
    let [a, b] = new_users(store);
    let (user, chat, channel) = (
        DialogPeer::User(b),
        DialogPeer::Chat(b),
        DialogPeer::Channel(b),
    );
    assert!(ok(store.pinned_dialogs(a)).is_empty());
    assert!(ok(store.pin_dialog(a, user, true)));
    assert!(ok(store.pin_dialog(a, chat, true)));
    assert!(!ok(store.pin_dialog(a, user, true)), "pinned already");
    assert!(ok(store.pin_dialog(a, channel, true)));
    assert_eq!(ok(store.pinned_dialogs(a)), vec![channel, chat, user]);
    assert!(ok(store.pinned_dialogs(b)).is_empty(), "a's pins are a's");
    assert!(ok(store.pin_dialog(a, chat, false)));
    assert!(!ok(store.pin_dialog(a, chat, false)), "unpinned already");
    assert_eq!(ok(store.pinned_dialogs(a)), vec![channel, user]);
    ok(store.reorder_pinned_dialogs(a, &[user, chat, user], false));
    assert_eq!(ok(store.pinned_dialogs(a)), vec![user, chat, channel]);
    ok(store.reorder_pinned_dialogs(a, &[channel, user], true));
    assert_eq!(ok(store.pinned_dialogs(a)), vec![channel, user]);
    ok(store.reorder_pinned_dialogs(a, &[], true));
    assert!(ok(store.pinned_dialogs(a)).is_empty());
}
