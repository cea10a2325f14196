//! Photo sizes: an uploaded JPEG or PNG is decoded (with size limits) and re-encoded as JPEG
//! at Telegram's standard sizes (`s` 100 px, `m` 320, `x` 800, `y` 1280, each no larger than
//! the original).

use image::{ImageReader, Limits};
use std::io::Cursor;

/// The sizes made, by type letter and longest side.
pub const SIZES: [(char, u32); 4] = [('s', 100), ('m', 320), ('x', 800), ('y', 1280)];
/// The largest photo upload accepted.
pub const MAX_PHOTO_BYTES: u64 = 10 << 20;
/// The largest side accepted.
pub const MAX_SIDE: u32 = 10_000;

/// One size of a photo, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSize {
    /// Its type letter.
    pub kind: char,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

/// Why an upload is not a usable photo.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not a JPEG or PNG, damaged, or too large.
    #[error("not a usable photo: {0}")]
    Invalid(String),
}

impl PhotoError {
    /// Telegram's error name.
    pub fn rpc_error_name(&self) -> &'static str {
        "PHOTO_INVALID"
    }
}

/// Decodes `original` and encodes every standard size that fits within it.
pub fn make_sizes(original: &[u8]) -> Result<Vec<EncodedSize>, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(|e| PhotoError::Invalid(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| PhotoError::Invalid(e.to_string()))?;
    let longest = image.width().max(image.height());
    let mut out: Vec<EncodedSize> = Vec::new();
    for (kind, side) in SIZES {
        let scaled = if longest > side {
            image.thumbnail(side, side)
        } else {
            image.clone()
        };
        if out
            .last()
            .is_some_and(|p| p.w == scaled.width() && p.h == scaled.height())
        {
            break;
        }
        let rgb = scaled.to_rgb8();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&rgb)
            .map_err(|e| PhotoError::Invalid(e.to_string()))?;
        out.push(EncodedSize {
            kind,
            w: rgb.width(),
            h: rgb.height(),
            jpeg,
        });
        if longest <= side {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn sizes_fit_the_original() {
        let sizes = make_sizes(&png(1000, 500)).unwrap();
        let dims: Vec<(char, u32, u32)> = sizes.iter().map(|s| (s.kind, s.w, s.h)).collect();
        assert_eq!(
            dims,
            [
                ('s', 100, 50),
                ('m', 320, 160),
                ('x', 800, 400),
                ('y', 1000, 500)
            ]
        );
        assert!(sizes.iter().all(|s| s.jpeg.starts_with(&[0xff, 0xd8])));
        let small = make_sizes(&png(90, 60)).unwrap();
        assert_eq!(small.len(), 1);
        assert_eq!((small[0].w, small[0].h), (90, 60));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(make_sizes(b"not an image").is_err());
        let mut damaged = png(50, 50);
        damaged.truncate(60);
        assert!(make_sizes(&damaged).is_err());
    }
}
