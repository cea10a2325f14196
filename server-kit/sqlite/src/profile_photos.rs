//! Profile photos in SQLite: see [`server_kit_store::profile_photos`]. `users.photo_id` keeps
//! the head of each list, so user rows carry it without a join.

use crate::{SqliteStore, db};
use rusqlite::{OptionalExtension, Transaction, params};
use server_kit_store::photos::decode_sizes;
use server_kit_store::profile_photos::ProfilePhotoStore;
use server_kit_store::{Photo, StoreError};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS profile_photos(
    user_id INTEGER NOT NULL, photo_id INTEGER NOT NULL, date INTEGER NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY(user_id, photo_id));
";

/// Points `users.photo_id` at the head of the user's list (NULL when empty).
fn refresh_current(tx: &Transaction<'_>, user: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET photo_id = (SELECT photo_id FROM profile_photos
             WHERE user_id = ?1 ORDER BY seq DESC LIMIT 1)
         WHERE id = ?1",
        [user],
    )
    .map_err(db)?;
    Ok(())
}

impl ProfilePhotoStore for SqliteStore {
    fn set_profile_photo(&self, user: i64, photo: i64, date: i32) -> Result<(), StoreError> {
        self.tx(|tx| {
            let exists = tx
                .query_row("SELECT 1 FROM users WHERE id = ?1", [user], |_| Ok(()))
                .optional()
                .map_err(db)?;
            if exists.is_none() {
                return Err(StoreError::NotFound { what: "user" });
            }
            tx.execute(
                "INSERT INTO profile_photos(user_id, photo_id, date, seq)
                 VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM profile_photos
                                      WHERE user_id = ?1))
                 ON CONFLICT(user_id, photo_id) DO UPDATE SET date = excluded.date,
                     seq = excluded.seq",
                params![user, photo, date],
            )
            .map_err(db)?;
            refresh_current(tx, user)
        })
    }

    fn profile_photos(
        &self,
        user: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Photo>, i32), StoreError> {
        let limit = limit.clamp(1, 100);
        self.with(|c| {
            let count: i32 = c.query_row(
                "SELECT count(*) FROM profile_photos WHERE user_id = ?1",
                [user],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare_cached(
                "SELECT p.id, p.access_hash, p.file_reference, p.date, p.sizes
                 FROM profile_photos l JOIN photos p ON p.id = l.photo_id
                 WHERE l.user_id = ?1 ORDER BY l.seq DESC LIMIT ?2 OFFSET ?3",
            )?;
            let photos = stmt
                .query_map(params![user, limit, offset.max(0)], |r| {
                    Ok(Photo {
                        id: r.get(0)?,
                        access_hash: r.get(1)?,
                        file_reference: r.get(2)?,
                        date: r.get(3)?,
                        sizes: decode_sizes(&r.get::<_, String>(4)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((photos, count))
        })
    }

    fn is_profile_photo(&self, user: i64, photo: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM profile_photos WHERE user_id = ?1 AND photo_id = ?2",
                params![user, photo],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })
    }

    fn delete_profile_photos(&self, user: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.tx(|tx| {
            let mut deleted = Vec::new();
            for id in ids {
                let gone = tx
                    .execute(
                        "DELETE FROM profile_photos WHERE user_id = ?1 AND photo_id = ?2",
                        params![user, id],
                    )
                    .map_err(db)?;
                if gone > 0 && !deleted.contains(id) {
                    deleted.push(*id);
                }
            }
            refresh_current(tx, user)?;
            Ok(deleted)
        })
    }
}
