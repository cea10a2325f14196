//! Profile photos in PostgreSQL: see [`server_kit_store::profile_photos`]. `users.photo_id`
//! keeps the head of each list, so user rows carry it without a join.

use super::{PgStore, R, Tx, col, lock_users};
use server_kit_store::photos::decode_sizes;
use server_kit_store::profile_photos::ProfilePhotoStore;
use server_kit_store::{Photo, StoreError};

/// Profile photos: each user's list, and its head on the user's row.
pub(crate) const SCHEMA_V13: &str = "
ALTER TABLE users ADD COLUMN photo_id BIGINT;
CREATE TABLE profile_photos(
    user_id BIGINT NOT NULL, photo_id BIGINT NOT NULL, date INTEGER NOT NULL,
    seq BIGINT NOT NULL, PRIMARY KEY(user_id, photo_id));
";

/// Points `users.photo_id` at the head of the user's list (NULL when empty).
fn refresh_current(tx: &mut Tx<'_, '_>, user: i64) -> R<()> {
    tx.execute(
        "UPDATE users SET photo_id = (SELECT photo_id FROM profile_photos
             WHERE user_id = $1 ORDER BY seq DESC LIMIT 1)
         WHERE id = $1",
        &[&user],
    )?;
    Ok(())
}

impl ProfilePhotoStore for PgStore {
    fn set_profile_photo(&self, user: i64, photo: i64, date: i32) -> Result<(), StoreError> {
        self.tx(|tx| {
            // The user's row orders writers of the list (and is the row that changes).
            if lock_users(tx, &[user])?.is_empty() {
                return Err(StoreError::NotFound { what: "user" }.into());
            }
            tx.execute(
                "INSERT INTO profile_photos(user_id, photo_id, date, seq)
                 VALUES ($1, $2, $3, (SELECT coalesce(max(seq), 0) + 1 FROM profile_photos
                                      WHERE user_id = $1))
                 ON CONFLICT(user_id, photo_id) DO UPDATE SET date = EXCLUDED.date,
                     seq = EXCLUDED.seq",
                &[&user, &photo, &date],
            )?;
            refresh_current(tx, user)
        })
    }

    fn profile_photos(
        &self,
        user: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Photo>, i32), StoreError> {
        let (limit, offset) = (i64::from(limit.clamp(1, 100)), i64::from(offset.max(0)));
        self.snapshot(|c| {
            let count: i64 = col(
                &c.query_one(
                    "SELECT count(*) FROM profile_photos WHERE user_id = $1",
                    &[&user],
                )?,
                0,
            )?;
            let photos = c
                .query(
                    "SELECT p.id, p.access_hash, p.file_reference, p.date, p.sizes
                     FROM profile_photos l JOIN photos p ON p.id = l.photo_id
                     WHERE l.user_id = $1 ORDER BY l.seq DESC LIMIT $2 OFFSET $3",
                    &[&user, &limit, &offset],
                )?
                .iter()
                .map(|r| {
                    Ok(Photo {
                        id: col(r, 0)?,
                        access_hash: col(r, 1)?,
                        file_reference: col(r, 2)?,
                        date: col(r, 3)?,
                        sizes: decode_sizes(&col::<String>(r, 4)?),
                    })
                })
                .collect::<R<Vec<_>>>()?;
            Ok((photos, i32::try_from(count).unwrap_or(i32::MAX)))
        })
    }

    fn is_profile_photo(&self, user: i64, photo: i64) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM profile_photos WHERE user_id = $1 AND photo_id = $2",
                &[&user, &photo],
            )?
            .is_some())
        })
    }

    fn delete_profile_photos(&self, user: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.tx(|tx| {
            lock_users(tx, &[user])?;
            let deleted = tx
                .query(
                    "DELETE FROM profile_photos WHERE user_id = $1 AND photo_id = ANY($2)
                     RETURNING photo_id",
                    &[&user, &ids],
                )?
                .iter()
                .map(|r| col(r, 0))
                .collect::<R<Vec<i64>>>()?;
            refresh_current(tx, user)?;
            Ok(deleted)
        })
    }
}
