//! `Vector<T>` (boxed, with the `vector` id) and `vector<T>` (bare, count only).

use crate::{Deserialize, Error, ErrorKind, Reader, Serialize, VECTOR_ID};

/// `Vector<T>` of boxed items.
impl<T: Serialize> Serialize for Vec<T> {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_vector(self, false, out, T::serialize);
    }
}

impl<T: Serialize> Serialize for [T] {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_vector(self, false, out, T::serialize);
    }
}

impl<T: Deserialize> Deserialize for Vec<T> {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        read_vector(reader, false, T::deserialize)
    }
}

/// Writes a vector: the `vector` id unless `bare`, the count, then each item with `item`.
#[inline]
pub fn write_vector<T>(
    items: &[T],
    bare: bool,
    out: &mut Vec<u8>,
    item: impl Fn(&T, &mut Vec<u8>),
) {
    if !bare {
        out.extend_from_slice(&VECTOR_ID.to_le_bytes());
    }
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for x in items {
        item(x, out);
    }
}

/// Reads a vector written by [`write_vector`]. A count larger than the bytes left is an error
/// before anything is allocated.
#[inline]
pub fn read_vector<T>(
    reader: &mut Reader,
    bare: bool,
    item: impl Fn(&mut Reader) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    if !bare {
        reader.expect_id(VECTOR_ID, "Vector")?;
    }
    let len = reader.read_u32()?;
    let remaining = reader.remaining();
    if len as usize > remaining {
        return Err(ErrorKind::VectorTooLong { len, remaining }.into());
    }
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len {
        out.push(item(reader)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_boxed_vectors() {
        let v = vec![1i32, 2];
        let mut bare = Vec::new();
        write_vector(&v, true, &mut bare, i32::serialize);
        assert_eq!(bare, [2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
        let mut r = Reader::new(bare);
        assert_eq!(read_vector(&mut r, true, i32::deserialize).unwrap(), v);
        assert_eq!(Vec::<i32>::from_bytes(v.to_bytes()).unwrap(), v);
    }

    #[test]
    fn huge_counts_are_rejected_without_allocating() {
        let mut bytes = VECTOR_ID.to_le_bytes().to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Vec::<i64>::from_bytes(bytes).unwrap_err(),
            ErrorKind::VectorTooLong {
                len: u32::MAX,
                remaining: 0
            }
        );
    }
}
