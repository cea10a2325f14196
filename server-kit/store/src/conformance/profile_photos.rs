//! Checks of [`ProfilePhotoStore`](crate::ProfilePhotoStore).

use super::{expect_not_found, new_users, ok};
use crate::{Photo, PhotoSize, Store};

fn photo(id: i64, date: i32) -> Photo {
    Photo {
        id,
        access_hash: id * 7,
        file_reference: vec![1, 2, 3],
        date,
        sizes: vec![PhotoSize {
            kind: "m".into(),
            w: 320,
            h: 320,
            size: 1000,
            content: format!("content{id}"),
        }],
    }
}

/// A user's photos: the newest set is the current one (on the user row too), setting an old
/// one again moves it to the head, paging newest first with the total, deleting moves the
/// head to the next newest (none left: no photo), ids not in the list are not reported; each
/// user's list is theirs; an unknown user is refused.
pub fn profile_photos(store: &dyn Store) {
    let [a, b] = new_users(store);
    assert_eq!(ok(store.user(a)).unwrap().photo, None);
    for (id, date) in [(11, 100), (12, 101), (13, 102)] {
        ok(store.insert_photo(&photo(id, date)));
        ok(store.set_profile_photo(a, id, date));
    }
    assert_eq!(ok(store.user(a)).unwrap().photo, Some(13));
    assert_eq!(ok(store.users(&[a, b]))[0].photo, Some(13));
    assert_eq!(ok(store.user(b)).unwrap().photo, None, "b has none");
    let ids = |page: (Vec<Photo>, i32)| (page.0.iter().map(|p| p.id).collect::<Vec<_>>(), page.1);
    assert_eq!(
        ids(ok(store.profile_photos(a, 0, 10))),
        (vec![13, 12, 11], 3)
    );
    assert_eq!(ids(ok(store.profile_photos(a, 1, 1))), (vec![12], 3));
    assert_eq!(ok(store.profile_photos(a, 0, 10)).0[0], photo(13, 102));
    // An older photo set again becomes the current one.
    ok(store.set_profile_photo(a, 11, 103));
    assert_eq!(ok(store.user(a)).unwrap().photo, Some(11));
    assert_eq!(
        ids(ok(store.profile_photos(a, 0, 10))),
        (vec![11, 13, 12], 3)
    );
    assert!(ok(store.is_profile_photo(a, 12)));
    assert!(!ok(store.is_profile_photo(b, 12)));
    // Deleting the head: the next newest is current.
    assert_eq!(ok(store.delete_profile_photos(a, &[11, 99, 11])), vec![11]);
    assert_eq!(ok(store.user(a)).unwrap().photo, Some(13));
    assert!(!ok(store.is_profile_photo(a, 11)));
    assert_eq!(ok(store.delete_profile_photos(b, &[13])), Vec::<i64>::new());
    let mut rest = ok(store.delete_profile_photos(a, &[12, 13]));
    rest.sort_unstable();
    assert_eq!(rest, vec![12, 13]);
    assert_eq!(ok(store.user(a)).unwrap().photo, None);
    assert_eq!(ids(ok(store.profile_photos(a, 0, 10))), (vec![], 0));
    expect_not_found(
        store.set_profile_photo(999_999, 12, 104),
        "set_profile_photo of an unknown user",
    );
}
