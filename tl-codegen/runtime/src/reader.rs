//! A cursor over received bytes; `bytes` values come out as slices of the same buffer.

use crate::{Error, ErrorKind};
use bytes::Bytes;

/// How deeply boxed values may nest before reading stops with [`ErrorKind::TooDeep`]; bounds
/// the stack a hostile message can make the reader use.
pub const MAX_DEPTH: u32 = 64;

/// Reads TL values from a buffer.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    pos: usize,
    depth: u32,
}

impl Reader {
    /// A reader at the start of `buf`.
    pub fn new(buf: impl Into<Bytes>) -> Self {
        Reader {
            buf: buf.into(),
            pos: 0,
            depth: 0,
        }
    }

    /// The offset of the next byte to read.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// How many bytes are left.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails with [`ErrorKind::TrailingBytes`] unless everything was read.
    pub fn finish(&self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(ErrorKind::TrailingBytes { count }.into()),
        }
    }

    /// Takes the next `n` bytes as a slice of the buffer.
    #[inline]
    pub fn read_slice(&mut self, n: usize) -> Result<&[u8], Error> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(ErrorKind::UnexpectedEof {
                offset: self.pos,
                needed: n,
                remaining,
            }
            .into());
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    /// Reads a fixed-size array (`int128`, `int256`, raw words).
    #[inline]
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.read_slice(N)?);
        Ok(out)
    }

    /// Reads a little-endian `u32`.
    #[inline]
    pub fn read_u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.read_array()?))
    }

    /// Reads the next `u32` without moving past it.
    #[inline]
    pub fn peek_u32(&self) -> Result<u32, Error> {
        self.clone().read_u32()
    }

    /// Reads a little-endian `i32`.
    #[inline]
    pub fn read_i32(&mut self) -> Result<i32, Error> {
        Ok(i32::from_le_bytes(self.read_array()?))
    }

    /// Reads a little-endian `i64`.
    #[inline]
    pub fn read_i64(&mut self) -> Result<i64, Error> {
        Ok(i64::from_le_bytes(self.read_array()?))
    }

    /// Reads a little-endian IEEE-754 `f64`.
    #[inline]
    pub fn read_f64(&mut self) -> Result<f64, Error> {
        Ok(f64::from_le_bytes(self.read_array()?))
    }

    /// Reads the length prefix of TL `bytes`/`string` and moves past the whole value;
    /// returns where the data starts and how long it is.
    fn read_prefixed(&mut self) -> Result<(usize, usize), Error> {
        let start = self.pos;
        let rest = &self.buf[start..];
        let (len, header) = match rest.first() {
            None => {
                return Err(ErrorKind::UnexpectedEof {
                    offset: start,
                    needed: 1,
                    remaining: 0,
                }
                .into());
            }
            Some(&first) if first < 254 => (first as usize, 1),
            Some(254) if rest.len() >= 4 => (
                rest[1] as usize | (rest[2] as usize) << 8 | (rest[3] as usize) << 16,
                4,
            ),
            Some(254) => {
                return Err(ErrorKind::UnexpectedEof {
                    offset: start,
                    needed: 4,
                    remaining: rest.len(),
                }
                .into());
            }
            Some(_) => return Err(ErrorKind::BadLength { offset: start }.into()),
        };
        let total = (header + len + 3) & !3;
        if total > rest.len() {
            return Err(ErrorKind::UnexpectedEof {
                offset: start,
                needed: total,
                remaining: rest.len(),
            }
            .into());
        }
        self.pos = start + total;
        Ok((start + header, len))
    }

    /// Reads TL `bytes`: a length prefix, the data, zero padding to 4. No copy is made.
    pub fn read_bytes(&mut self) -> Result<Bytes, Error> {
        let (start, len) = self.read_prefixed()?;
        Ok(self.buf.slice(start..start + len))
    }

    /// Reads TL `string`. Invalid UTF-8 is replaced by U+FFFD, as every Telegram client does.
    pub fn read_string(&mut self) -> Result<String, Error> {
        let (start, len) = self.read_prefixed()?;
        let data = &self.buf[start..start + len];
        Ok(match std::str::from_utf8(data) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(data).into_owned(),
        })
    }

    /// Everything left, as one slice (for `!X` queries read as raw bytes).
    pub fn read_rest(&mut self) -> Bytes {
        let rest = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        rest
    }

    /// Reads a constructor id and fails unless it is `expected`.
    pub fn expect_id(&mut self, expected: u32, type_name: &'static str) -> Result<(), Error> {
        let offset = self.pos;
        let id = self.read_u32()?;
        if id == expected {
            Ok(())
        } else {
            Err(ErrorKind::UnexpectedConstructor {
                id,
                offset,
                expected: type_name,
            }
            .into())
        }
    }

    /// Goes one nesting level deeper, failing past [`MAX_DEPTH`]. Pair with [`Reader::leave`]
    /// once the nested value is read. After any error the reader's position and depth are
    /// unspecified: start a new reader.
    #[inline]
    pub fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(ErrorKind::TooDeep { limit: MAX_DEPTH }.into());
        }
        self.depth += 1;
        Ok(())
    }

    /// Comes back up one nesting level after [`Reader::enter`].
    #[inline]
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs `f` one nesting level deeper, failing past [`MAX_DEPTH`].
    #[inline]
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        if self.depth >= MAX_DEPTH {
            return Err(ErrorKind::TooDeep { limit: MAX_DEPTH }.into());
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }
}

/// Appends TL `bytes` (length prefix, data, zero padding to 4) to `out`.
///
/// Data longer than 16 MiB − 1 cannot be expressed in TL; such input is cut to that length.
#[inline]
pub fn write_bytes(data: &[u8], out: &mut Vec<u8>) {
    let data = &data[..data.len().min(0xff_ffff)];
    let len = data.len();
    let start = out.len();
    let total = if len < 254 {
        out.reserve(len + 5);
        out.push(len as u8);
        (len + 4) & !3
    } else {
        out.reserve(len + 8);
        out.extend_from_slice(&[254, len as u8, (len >> 8) as u8, (len >> 16) as u8]);
        (len + 7) & !3
    };
    out.extend_from_slice(data);
    // Zero padding to a multiple of 4: four zeros, then drop those beyond it (a fixed-size
    // write and a length change are cheaper than a variable-size one).
    out.extend_from_slice(&[0u8; 4]);
    out.truncate(start + total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_at_length_boundaries() {
        for len in [0usize, 1, 3, 4, 253, 254, 255, 1000, 0x10000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            write_bytes(&data, &mut out);
            assert_eq!(out.len() % 4, 0, "len {len}");
            let mut r = Reader::new(out);
            assert_eq!(&r.read_bytes().unwrap()[..], &data[..]);
            r.finish().unwrap();
        }
    }

    #[test]
    fn truncated_and_bad_prefixes_are_errors() {
        let mut r = Reader::new(vec![5u8, 1, 2]);
        assert!(matches!(
            r.read_bytes().unwrap_err().kind(),
            ErrorKind::UnexpectedEof { .. }
        ));
        let mut r = Reader::new(vec![255u8, 0, 0, 0]);
        assert_eq!(
            r.read_bytes().unwrap_err(),
            ErrorKind::BadLength { offset: 0 }
        );
        let mut r = Reader::new(vec![254u8, 0xff, 0xff, 0xff]);
        assert!(matches!(
            r.read_bytes().unwrap_err().kind(),
            ErrorKind::UnexpectedEof { .. }
        ));
        let mut r = Reader::new(vec![1u8, 2]);
        assert!(r.read_u32().is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        fn dive(r: &mut Reader) -> Result<(), Error> {
            r.nested(dive)
        }
        assert_eq!(
            dive(&mut Reader::new(vec![])).unwrap_err(),
            ErrorKind::TooDeep { limit: MAX_DEPTH }
        );
    }
}
