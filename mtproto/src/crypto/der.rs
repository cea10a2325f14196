//! A small strict DER reader and writer: only what RSA keys need (INTEGER, BIT STRING, OCTET
//! STRING, NULL, OBJECT IDENTIFIER, SEQUENCE, and skipping context-tagged optional fields).
//!
//! Strictness: definite lengths only, in their shortest form (a non-minimal length or a
//! non-minimal or negative INTEGER is refused, as DER requires); an element may not run past
//! the one around it; `finish` refuses anything left over. Offsets in errors count bytes from
//! the start of the DER.

use super::key_error::PemError;
pub(crate) use super::key_error::tag::{BIT_STRING, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE};
use num_bigint::BigUint;

/// Reads the elements between `pos` and `end` of `buf`.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over all of `der`.
    pub(crate) fn new(der: &'a [u8]) -> Self {
        Reader {
            buf: der,
            pos: 0,
            end: der.len(),
        }
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        if self.pos < self.end {
            self.buf.get(self.pos).copied()
        } else {
            None
        }
    }

    /// Reads one element of any tag: its tag, the offset of its content, and the content.
    fn any(&mut self) -> Result<(u8, usize, &'a [u8]), PemError> {
        let start = self.pos;
        let byte = |at: usize| -> Result<u8, PemError> {
            if at < self.end {
                self.buf
                    .get(at)
                    .copied()
                    .ok_or(PemError::UnexpectedEnd { offset: at })
            } else {
                Err(PemError::UnexpectedEnd { offset: at })
            }
        };
        let tag = byte(start)?;
        if tag & 0x1f == 0x1f {
            // High tag numbers never occur in the structures read here.
            return Err(PemError::UnexpectedTag {
                offset: start,
                expected: None,
                found: tag,
            });
        }
        let first = byte(start + 1)?;
        let (len, header) = if first < 0x80 {
            (first as usize, 2)
        } else if first == 0x80 {
            // Indefinite length: BER, not DER.
            return Err(PemError::BadLength { offset: start + 1 });
        } else {
            let count = (first & 0x7f) as usize;
            if count > 4 {
                return Err(PemError::BadLength { offset: start + 1 });
            }
            let mut len = 0usize;
            for i in 0..count {
                len = (len << 8) | byte(start + 2 + i)? as usize;
            }
            // Shortest form only: no leading zero byte, no long form below 128.
            if byte(start + 2)? == 0 || len < 0x80 {
                return Err(PemError::BadLength { offset: start + 1 });
            }
            (len, 2 + count)
        };
        let content = start + header;
        if len > self.end - content {
            return Err(PemError::BadLength { offset: start + 1 });
        }
        self.pos = content + len;
        Ok((tag, content, &self.buf[content..content + len]))
    }

    /// Reads one element that must carry `expected`; returns its content offset and content.
    pub(crate) fn element(&mut self, expected: u8) -> Result<(usize, &'a [u8]), PemError> {
        let start = self.pos;
        match self.peek_tag() {
            None => return Err(PemError::UnexpectedEnd { offset: start }),
            Some(found) if found != expected => {
                return Err(PemError::UnexpectedTag {
                    offset: start,
                    expected: Some(expected),
                    found,
                });
            }
            Some(_) => {}
        }
        let (_, offset, content) = self.any()?;
        Ok((offset, content))
    }

    /// Skips one element whatever its tag.
    pub(crate) fn skip(&mut self) -> Result<(), PemError> {
        self.any().map(|_| ())
    }

    /// Enters a SEQUENCE: the returned reader covers its content.
    pub(crate) fn sequence(&mut self) -> Result<Reader<'a>, PemError> {
        let (offset, content) = self.element(SEQUENCE)?;
        Ok(Reader {
            buf: self.buf,
            pos: offset,
            end: offset + content.len(),
        })
    }

    /// A non-negative INTEGER in its minimal encoding.
    pub(crate) fn uint(&mut self) -> Result<BigUint, PemError> {
        let (offset, content) = self.element(INTEGER)?;
        match content {
            [] => Err(PemError::BadInteger {
                offset,
                reason: "empty",
            }),
            [first, ..] if first & 0x80 != 0 => Err(PemError::BadInteger {
                offset,
                reason: "negative",
            }),
            [0, second, ..] if second & 0x80 == 0 => Err(PemError::BadInteger {
                offset,
                reason: "not minimally encoded",
            }),
            _ => Ok(BigUint::from_bytes_be(content)),
        }
    }

    /// The content octets of an OBJECT IDENTIFIER.
    pub(crate) fn oid(&mut self) -> Result<(usize, &'a [u8]), PemError> {
        self.element(OID)
    }

    /// A NULL.
    pub(crate) fn null(&mut self) -> Result<(), PemError> {
        let (offset, content) = self.element(NULL)?;
        if !content.is_empty() {
            return Err(PemError::BadLength {
                offset: offset.saturating_sub(1),
            });
        }
        Ok(())
    }

    /// A BIT STRING of whole bytes (no unused bits); returns its offset and bytes.
    pub(crate) fn bit_string(&mut self) -> Result<(usize, &'a [u8]), PemError> {
        let (offset, content) = self.element(BIT_STRING)?;
        match content {
            [0, rest @ ..] => Ok((offset + 1, rest)),
            _ => Err(PemError::BadBitString { offset }),
        }
    }

    /// An OCTET STRING; returns its offset and bytes.
    pub(crate) fn octet_string(&mut self) -> Result<(usize, &'a [u8]), PemError> {
        self.element(OCTET_STRING)
    }

    /// Ends the reading: nothing may be left.
    pub(crate) fn finish(self) -> Result<(), PemError> {
        if self.pos != self.end {
            return Err(PemError::TrailingData { offset: self.pos });
        }
        Ok(())
    }

    /// A reader over `len` bytes at `offset` of the same DER (the content of a BIT STRING or
    /// OCTET STRING that holds DER itself), so that offsets stay those of the whole DER.
    pub(crate) fn nested(&self, offset: usize, len: usize) -> Reader<'a> {
        let end = offset.saturating_add(len).min(self.buf.len());
        Reader {
            buf: self.buf,
            pos: offset.min(end),
            end,
        }
    }

    /// The offset of the next element.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }
}

/// Formats OBJECT IDENTIFIER content octets as dotted decimal (for error messages); content
/// that is not a valid OID is shown in hex.
pub(crate) fn oid_to_string(content: &[u8]) -> String {
    let hex = || {
        content
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        if value == 0 && b == 0x80 {
            return hex();
        }
        value = match value.checked_mul(128) {
            Some(v) => v | u64::from(b & 0x7f),
            None => return hex(),
        };
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == content.len() {
            return hex();
        }
    }
    if arcs.is_empty() {
        return hex();
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Appends one element with `tag` and `content`.
pub(crate) fn write(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// Appends a non-negative INTEGER.
pub(crate) fn write_uint(out: &mut Vec<u8>, n: &BigUint) {
    let mut bytes = n.to_bytes_be();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    write(out, INTEGER, &bytes);
}

/// A SEQUENCE of already encoded elements.
pub(crate) fn sequence(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    write(&mut out, SEQUENCE, content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_and_must_be_minimal() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536] {
            let mut der = Vec::new();
            write(&mut der, OCTET_STRING, &vec![7u8; len]);
            let mut r = Reader::new(&der);
            assert_eq!(r.octet_string().unwrap().1.len(), len);
            r.finish().unwrap();
        }
        // Long form for a short length, leading zero length byte, indefinite length.
        for bad in [
            &[0x04, 0x81, 0x01, 0xaa][..],
            &[0x04, 0x82, 0x00, 0x81],
            &[0x30, 0x80],
        ] {
            assert!(matches!(
                Reader::new(bad).element(bad[0]),
                Err(PemError::BadLength { offset: 1 })
            ));
        }
        // Longer than what is there, and more than four length bytes.
        assert!(matches!(
            Reader::new(&[0x04, 0x05, 1, 2]).octet_string(),
            Err(PemError::BadLength { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x04, 0x85, 1, 0, 0, 0, 0]).octet_string(),
            Err(PemError::BadLength { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x04]).octet_string(),
            Err(PemError::UnexpectedEnd { offset: 1 })
        ));
    }

    #[test]
    fn integers_are_strict() {
        let read = |der: &[u8]| Reader::new(der).uint();
        assert_eq!(read(&[2, 1, 0]).unwrap(), BigUint::ZERO);
        assert_eq!(read(&[2, 2, 0, 0x80]).unwrap(), BigUint::from(128u32));
        assert!(matches!(read(&[2, 0]), Err(PemError::BadInteger { .. })));
        assert!(matches!(
            read(&[2, 1, 0xff]),
            Err(PemError::BadInteger { .. })
        ));
        assert!(matches!(
            read(&[2, 2, 0, 1]),
            Err(PemError::BadInteger { .. })
        ));
        assert!(matches!(
            read(&[4, 1, 0]),
            Err(PemError::UnexpectedTag {
                offset: 0,
                expected: Some(INTEGER),
                found: 4
            })
        ));
        for n in [0u64, 1, 127, 128, 255, 256, u64::MAX] {
            let mut der = Vec::new();
            write_uint(&mut der, &BigUint::from(n));
            assert_eq!(read(&der).unwrap(), BigUint::from(n));
        }
    }

    #[test]
    fn nested_elements_stay_inside_their_parent() {
        // SEQUENCE of length 3 whose INTEGER claims 4 bytes.
        let der = [0x30, 0x03, 0x02, 0x04, 0x01, 0x02, 0x03];
        let mut outer = Reader::new(&der);
        let mut inner = outer.sequence().unwrap();
        assert!(matches!(inner.uint(), Err(PemError::BadLength { .. })));
        assert!(matches!(
            outer.finish(),
            Err(PemError::TrailingData { offset: 5 })
        ));
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]),
            "1.2.840.113549.1.1.1"
        );
        assert_eq!(oid_to_string(&[0x2b, 0x65, 0x70]), "1.3.101.112");
        assert_eq!(oid_to_string(&[0x2a, 0x86]), "2a86");
        assert_eq!(oid_to_string(&[]), "");
    }
}
