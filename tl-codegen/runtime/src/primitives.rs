//! TL's built-in types: `int`, `long`, `double`, `#`, `Bool`, `int128`, `int256`, `string`,
//! `bytes`, and boxes.

use crate::reader::write_bytes;
use crate::{BOOL_FALSE_ID, BOOL_TRUE_ID, Deserialize, Error, ErrorKind, Reader, Serialize};
use bytes::Bytes;

macro_rules! fixed {
    ($($ty:ty => $read:ident),*) => {$(
        impl Serialize for $ty {
            #[inline]
            fn serialize(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Deserialize for $ty {
            #[inline]
            fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
                reader.$read()
            }
        }
    )*};
}

fixed!(i32 => read_i32, u32 => read_u32, i64 => read_i64, f64 => read_f64);

impl<const N: usize> Serialize for [u8; N] {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Deserialize for [u8; N] {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        reader.read_array()
    }
}

/// `Bool`: `boolTrue` or `boolFalse`.
impl Serialize for bool {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        let id = if *self { BOOL_TRUE_ID } else { BOOL_FALSE_ID };
        out.extend_from_slice(&id.to_le_bytes());
    }
}

impl Deserialize for bool {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        let offset = reader.position();
        match reader.read_u32()? {
            BOOL_TRUE_ID => Ok(true),
            BOOL_FALSE_ID => Ok(false),
            id => Err(ErrorKind::UnexpectedConstructor {
                id,
                offset,
                expected: "Bool",
            }
            .into()),
        }
    }
}

impl Serialize for String {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_bytes(self.as_bytes(), out);
    }
}

impl Serialize for str {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_bytes(self.as_bytes(), out);
    }
}

impl Deserialize for String {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        reader.read_string()
    }
}

impl Serialize for Bytes {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_bytes(self, out);
    }
}

impl Deserialize for Bytes {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        reader.read_bytes()
    }
}

impl<T: Serialize + ?Sized> Serialize for Box<T> {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        (**self).serialize(out);
    }
}

impl<T: Deserialize> Deserialize for Box<T> {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        T::deserialize(reader).map(Box::new)
    }
}

impl<T: Serialize + ?Sized> Serialize for &T {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        (**self).serialize(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_values_are_little_endian() {
        assert_eq!(0x0102_0304i32.to_bytes(), [4, 3, 2, 1]);
        assert_eq!((-1i64).to_bytes(), [0xff; 8]);
        assert_eq!(f64::from_bytes(1.5f64.to_bytes()).unwrap(), 1.5);
        assert_eq!(true.to_bytes(), BOOL_TRUE_ID.to_le_bytes());
        assert!(bool::from_bytes(vec![0u8; 4]).is_err());
        assert_eq!(<[u8; 16]>::from_bytes(vec![7u8; 16]).unwrap(), [7u8; 16]);
    }

    #[test]
    fn strings_with_invalid_utf8_decode_lossily() {
        let mut out = Vec::new();
        write_bytes(&[0x61, 0xff], &mut out);
        assert_eq!(String::from_bytes(out).unwrap(), "a\u{fffd}");
    }
}
