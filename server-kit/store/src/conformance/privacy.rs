//! Checks of [`PrivacyStore`](crate::PrivacyStore).

use super::{expect_not_found, new_users, ok};
use crate::{Store, Visibility};

/// Status visibility: everybody by default, each setting read back on the user row (one user
/// and several at once), each user's own; an unknown user is refused.
pub fn status_visibility(store: &dyn Store) {
    let [a, b] = new_users(store);
    assert_eq!(
        ok(store.user(a)).unwrap().status_visibility,
        Visibility::Everybody
    );
    for v in [
        Visibility::Contacts,
        Visibility::Nobody,
        Visibility::Everybody,
        Visibility::Nobody,
    ] {
        ok(store.set_status_visibility(a, v));
        assert_eq!(ok(store.user(a)).unwrap().status_visibility, v);
        let both = ok(store.users(&[a, b]));
        assert_eq!(both[0].status_visibility, v);
        assert_eq!(
            both[1].status_visibility,
            Visibility::Everybody,
            "b's is b's"
        );
    }
    expect_not_found(
        store.set_status_visibility(999_999, Visibility::Nobody),
        "set_status_visibility of an unknown user",
    );
}
