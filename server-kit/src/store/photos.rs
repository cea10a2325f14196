//! Photos: each stored as its standard sizes, every size a file in file storage.

use super::{SqliteStore, StoreError};
use rusqlite::{OptionalExtension, params};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS photos(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, file_reference BLOB NOT NULL,
    date INTEGER NOT NULL, sizes TEXT NOT NULL);
";

/// One size of a stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoSize {
    /// Its type letter (`s`, `m`, `x`, `y`).
    pub kind: String,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
    /// Bytes.
    pub size: i32,
    /// Its key in file storage.
    pub content: String,
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    /// Its id.
    pub id: i64,
    /// The secret a client must show to use it.
    pub access_hash: i64,
    /// The reference a client must show to download it.
    pub file_reference: Vec<u8>,
    /// When it was uploaded.
    pub date: i32,
    /// Its sizes, smallest first.
    pub sizes: Vec<PhotoSize>,
}

/// Photo storage.
pub trait PhotoStore {
    /// Stores a photo's description (its sizes are in file storage).
    fn insert_photo(&self, photo: &Photo) -> Result<(), StoreError>;
    /// A photo by id.
    fn photo(&self, id: i64) -> Result<Option<Photo>, StoreError>;
}

pub(super) fn encode_sizes(sizes: &[PhotoSize]) -> String {
    sizes
        .iter()
        .map(|s| format!("{},{},{},{},{}", s.kind, s.w, s.h, s.size, s.content))
        .collect::<Vec<_>>()
        .join(";")
}

pub(super) fn decode_sizes(text: &str) -> Vec<PhotoSize> {
    text.split(';')
        .filter_map(|s| {
            let mut f = s.split(',');
            Some(PhotoSize {
                kind: f.next()?.to_owned(),
                w: f.next()?.parse().ok()?,
                h: f.next()?.parse().ok()?,
                size: f.next()?.parse().ok()?,
                content: f.next()?.to_owned(),
            })
        })
        .collect()
}

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
