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
        let len = read_header(reader, false)?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            // Each item is built in its slot of the vector (see `Deserialize::deserialize_as`).
            T::deserialize_as(
                reader,
                #[inline(always)]
                |item| out.push(item),
            )?;
        }
        Ok(out)
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
    let count = (items.len() as u32).to_le_bytes();
    if bare {
        out.extend_from_slice(&count);
    } else {
        let id = VECTOR_ID.to_le_bytes();
        out.extend_from_slice(&[
            id[0], id[1], id[2], id[3], count[0], count[1], count[2], count[3],
        ]);
    }
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
    let len = read_header(reader, bare)?;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(item(reader)?);
    }
    Ok(out)
}

/// Reads the `vector` id unless `bare`, and the count, which must not exceed the bytes left.
#[inline]
fn read_header(reader: &mut Reader, bare: bool) -> Result<usize, Error> {
    if !bare {
        reader.expect_id(VECTOR_ID, "Vector")?;
    }
    let len = reader.read_u32()?;
    let remaining = reader.remaining();
    if len as usize > remaining {
        return Err(ErrorKind::VectorTooLong { len, remaining }.into());
    }
    Ok(len as usize)
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
