//! Fixed-size values taken out of a block of bytes read at once; what generated code uses to
//! read a run of `int`, `long`, `double`, `int128`, `int256` and flags words with a single
//! bounds check. Not part of the API.

/// A fixed-size TL value that can be taken from a byte array at a known offset.
pub trait FromWire: Sized {
    /// The value stored little-endian at `buf[at..]`. Generated code passes constant offsets
    /// that fit in `buf`, so the slicing below compiles to plain loads.
    fn from_wire<const N: usize>(buf: &[u8; N], at: usize) -> Self;
}

macro_rules! numbers {
    ($($ty:ty),*) => {$(
        impl FromWire for $ty {
            #[inline(always)]
            fn from_wire<const N: usize>(buf: &[u8; N], at: usize) -> Self {
                let mut bytes = [0u8; size_of::<$ty>()];
                bytes.copy_from_slice(&buf[at..at + size_of::<$ty>()]);
                <$ty>::from_le_bytes(bytes)
            }
        }
    )*};
}

numbers!(u32, i32, i64, f64);

impl<const M: usize> FromWire for [u8; M] {
    #[inline(always)]
    fn from_wire<const N: usize>(buf: &[u8; N], at: usize) -> Self {
        let mut out = [0u8; M];
        out.copy_from_slice(&buf[at..at + M]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::FromWire;

    #[test]
    fn values_come_from_their_offsets() {
        let mut buf = [0u8; 24];
        buf[..4].copy_from_slice(&7u32.to_le_bytes());
        buf[4..12].copy_from_slice(&(-2i64).to_le_bytes());
        buf[12..20].copy_from_slice(&1.5f64.to_le_bytes());
        buf[20..].copy_from_slice(&(-9i32).to_le_bytes());
        assert_eq!(u32::from_wire(&buf, 0), 7);
        assert_eq!(i64::from_wire(&buf, 4), -2);
        assert_eq!(f64::from_wire(&buf, 12), 1.5);
        assert_eq!(i32::from_wire(&buf, 20), -9);
        assert_eq!(<[u8; 4]>::from_wire(&buf, 0), [7, 0, 0, 0]);
    }
}
