//! `gzip_packed#3072cfa1 packed_data:bytes`, with a bound on the unpacked size.
//!
//! What is packed is a gzip stream (RFC 1952) as the schema's name says and Telethon, GramJS
//! and the Pyrogram forks write, or a zlib stream (RFC 1950), which mtcute writes (Node's
//! `deflateSync`) and Telegram reads all the same. Both are read; gzip is written.

use std::io::{Read as _, Write as _};

/// The constructor id of `gzip_packed`.
pub const GZIP_PACKED_ID: u32 = 0x3072_cfa1;

/// Why a `gzip_packed` body could not be unpacked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GzipError {
    /// Not a `gzip_packed` object.
    #[error("not a gzip_packed object")]
    NotGzip,
    /// The compressed data is damaged.
    #[error("damaged gzip data: {0}")]
    Damaged(String),
    /// It unpacks to more than the limit.
    #[error("gzip data unpacks to more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// Wraps `body` in `gzip_packed`.
pub fn gzip_pack(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    let packed = encoder.finish().unwrap_or_default();
    let mut out = GZIP_PACKED_ID.to_le_bytes().to_vec();
    tl_runtime::write_bytes(&packed, &mut out);
    out
}

/// Unwraps a `gzip_packed` object, refusing output larger than `limit` bytes (a small
/// compressed message can expand enormously).
pub fn gzip_unpack(object: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let mut reader = tl_runtime::Reader::new(object.to_vec());
    if reader.read_u32().ok() != Some(GZIP_PACKED_ID) {
        return Err(GzipError::NotGzip);
    }
    let packed = reader.read_bytes().map_err(|_| GzipError::NotGzip)?;
    let mut out = Vec::new();
    let read = if packed.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&packed[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    } else if is_zlib_header(&packed) {
        flate2::read::ZlibDecoder::new(&packed[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    } else {
        return Err(GzipError::Damaged(format!(
            "neither a gzip nor a zlib stream (starts with {:02x?})",
            &packed[..packed.len().min(2)]
        )));
    };
    read.map_err(|e| GzipError::Damaged(e.to_string()))?;
    if out.len() > limit {
        return Err(GzipError::TooLarge { limit });
    }
    Ok(out)
}

/// Whether `data` starts with a zlib header (RFC 1950 2.2): method 8 (deflate) with a window
/// of at most 32 KiB, no preset dictionary, and the check bits making the pair a multiple
/// of 31.
fn is_zlib_header(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && flg & 0x20 == 0
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_limit_and_damage() {
        let body: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let packed = gzip_pack(&body);
        assert!(packed.len() < body.len() / 4);
        assert_eq!(gzip_unpack(&packed, body.len()), Ok(body.clone()));
        assert_eq!(
            gzip_unpack(&packed, body.len() - 1),
            Err(GzipError::TooLarge {
                limit: body.len() - 1
            })
        );
        assert_eq!(gzip_unpack(&body, 100), Err(GzipError::NotGzip));
        let mut damaged = packed.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0xff;
        assert!(gzip_unpack(&damaged, body.len()).is_err());
        for cut in [4, 5, 8, packed.len() / 2] {
            assert!(gzip_unpack(&packed[..cut], body.len()).is_err());
        }
    }

    /// A zlib stream of `body`, as mtcute packs (Node's `deflateSync`).
    fn zlib(body: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(body).expect("to a Vec");
        encoder.finish().expect("to a Vec")
    }

    /// `gzip_packed` around `stream`.
    fn wrap(stream: &[u8]) -> Vec<u8> {
        let mut out = GZIP_PACKED_ID.to_le_bytes().to_vec();
        tl_runtime::write_bytes(stream, &mut out);
        out
    }

    #[test]
    fn zlib_streams_are_read_as_telegram_reads_them() {
        let body: Vec<u8> = (0..5_000u32).flat_map(|i| (i % 13).to_le_bytes()).collect();
        let stream = zlib(&body);
        let packed = wrap(&stream);
        assert_eq!(gzip_unpack(&packed, body.len()), Ok(body.clone()));
        assert_eq!(
            gzip_unpack(&packed, body.len() - 1),
            Err(GzipError::TooLarge {
                limit: body.len() - 1
            })
        );
        // Bytes that are neither gzip nor zlib, and a zlib stream cut short.
        let raw = wrap(&[0x12, 0x34, 0x56, 0x78]);
        assert!(matches!(gzip_unpack(&raw, 100), Err(GzipError::Damaged(_))));
        let short = wrap(&stream[..stream.len() / 2]);
        assert!(matches!(
            gzip_unpack(&short, body.len()),
            Err(GzipError::Damaged(_))
        ));
    }
}
