//! Photos in SQLite: see [`server_kit_store::photos`].

use crate::SqliteStore;
use rusqlite::{OptionalExtension, params};
use server_kit_store::StoreError;
use server_kit_store::photos::*;

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS photos(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, file_reference BLOB NOT NULL,
    date INTEGER NOT NULL, sizes TEXT NOT NULL);
";

impl PhotoStore for SqliteStore {
    fn insert_photo(&self, p: &Photo) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO photos(id, access_hash, file_reference, date, sizes)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.id,
                    p.access_hash,
                    p.file_reference,
                    p.date,
                    encode_sizes(&p.sizes)
                ],
            )
        })
        .map(|_| ())
    }

    fn photo(&self, id: i64) -> Result<Option<Photo>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT id, access_hash, file_reference, date, sizes FROM photos WHERE id = ?1",
                [id],
                |r| {
                    Ok(Photo {
                        id: r.get(0)?,
                        access_hash: r.get(1)?,
                        file_reference: r.get(2)?,
                        date: r.get(3)?,
                        sizes: decode_sizes(&r.get::<_, String>(4)?),
                    })
                },
            )
            .optional()
        })
    }
}
