//! Photos: each stored as its standard sizes, every size a file in file storage.

use crate::StoreError;

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

/// The sizes as the text a photo row keeps.
pub fn encode_sizes(sizes: &[PhotoSize]) -> String {
    sizes
        .iter()
        .map(|s| format!("{},{},{},{},{}", s.kind, s.w, s.h, s.size, s.content))
        .collect::<Vec<_>>()
        .join(";")
}

/// The inverse of [`encode_sizes`] (malformed entries are left out).
pub fn decode_sizes(text: &str) -> Vec<PhotoSize> {
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
