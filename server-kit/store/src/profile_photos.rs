//! Profile photos: each user's list of photos (stored by [`PhotoStore`](crate::PhotoStore)),
//! newest first; the newest is the one others see (`User::photo`).

use crate::{Photo, StoreError};

/// Profile photo storage.
pub trait ProfilePhotoStore {
    /// Puts a stored photo at the head of the user's list (moving it there if it is in the
    /// list already): it becomes their current photo.
    fn set_profile_photo(&self, user: i64, photo: i64, date: i32) -> Result<(), StoreError>;
    /// A page of the user's photos, newest first (skip `offset`, at most `limit`, 1 to 100),
    /// and how many there are.
    fn profile_photos(
        &self,
        user: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Photo>, i32), StoreError>;
    /// Whether `photo` is in the user's list (who may download it as their profile photo).
    fn is_profile_photo(&self, user: i64, photo: i64) -> Result<bool, StoreError>;
    /// Takes photos out of the user's list (the next newest becomes the current one); the
    /// ids that were in it.
    fn delete_profile_photos(&self, user: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError>;
}
