//! File transfer rules (PROTOCOL.md 2): how a client splits an upload into parts, how a
//! server validates parts that arrive in any order, and the `upload.getFile` offset and limit
//! rules. Errors carry Telegram's names.

use std::collections::BTreeMap;

/// Files larger than this go through `upload.saveBigFilePart`.
pub const BIG_FILE_THRESHOLD: u64 = 10 * 1024 * 1024;
/// The largest part.
pub const MAX_PART_SIZE: usize = 512 * 1024;
/// The default limit of parts per file (`upload_max_fileparts_default`).
pub const DEFAULT_MAX_PARTS: u32 = 4000;

/// An upload or download request that breaks the rules, with Telegram's error name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The number of parts is not in 1..=max.
    #[error("FILE_PARTS_INVALID")]
    PartsInvalid,
    /// A part index outside 0..max.
    #[error("FILE_PART_INVALID")]
    PartInvalid,
    /// A part larger than 512 KiB.
    #[error("FILE_PART_TOO_BIG")]
    PartTooBig,
    /// An empty part.
    #[error("FILE_PART_EMPTY")]
    PartEmpty,
    /// A part size that is not a multiple of 1 KiB dividing 512 KiB.
    #[error("FILE_PART_SIZE_INVALID")]
    PartSizeInvalid,
    /// A part whose size differs from the earlier parts.
    #[error("FILE_PART_SIZE_CHANGED")]
    PartSizeChanged,
    /// Part `0` is missing at finalisation.
    #[error("FILE_PART_{0}_MISSING")]
    PartMissing(u32),
    /// The MD5 of the assembled file differs from the client's.
    #[error("MD5_CHECKSUM_INVALID")]
    Md5Invalid,
    /// A download offset that breaks the alignment rules.
    #[error("OFFSET_INVALID")]
    OffsetInvalid,
    /// A download limit that breaks the alignment rules.
    #[error("LIMIT_INVALID")]
    LimitInvalid,
}

impl FileError {
    /// The RPC error message, e.g. `FILE_PART_3_MISSING`.
    pub fn rpc_message(&self) -> String {
        self.to_string()
    }
}

/// How a client uploads a file of a known size.
///
/// ```
/// let plan = mtproto::files::UploadPlan::new(25 * 1024 * 1024, 4000).unwrap();
/// assert!(plan.big);
/// assert_eq!(plan.part_size, 128 * 1024);
/// assert_eq!(plan.parts, 200);
/// assert_eq!(plan.part(199), (199 * 128 * 1024, 128 * 1024));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPlan {
    /// The file size.
    pub size: u64,
    /// Bytes per part (the last part may be smaller).
    pub part_size: usize,
    /// Number of parts.
    pub parts: u32,
    /// Whether to use `upload.saveBigFilePart` and `inputFileBig`.
    pub big: bool,
}

impl UploadPlan {
    /// Picks the smallest of 128, 256 and 512 KiB parts that keeps the file within `max_parts`
    /// parts. Empty files and files too large for 512 KiB parts are `FILE_PARTS_INVALID`.
    pub fn new(size: u64, max_parts: u32) -> Result<Self, FileError> {
        if size == 0 {
            return Err(FileError::PartsInvalid);
        }
        for part_size in [128 * 1024usize, 256 * 1024, MAX_PART_SIZE] {
            let parts = size.div_ceil(part_size as u64);
            if parts <= u64::from(max_parts) {
                return Ok(UploadPlan {
                    size,
                    part_size,
                    parts: parts as u32,
                    big: size > BIG_FILE_THRESHOLD,
                });
            }
        }
        Err(FileError::PartsInvalid)
    }

    /// The byte offset and length of part `index`.
    pub fn part(&self, index: u32) -> (u64, usize) {
        let offset = u64::from(index) * self.part_size as u64;
        let len = (self.size.saturating_sub(offset)).min(self.part_size as u64) as usize;
        (offset, len)
    }
}

/// Server side: the parts of one upload received so far, checked as they come, in any order.
/// The caller stores the bytes; this tracks what arrived and whether it is consistent: every
/// part but the one with the highest index has the same size, a multiple of 1 KiB dividing
/// 512 KiB, and the highest part is no larger.
#[derive(Debug, Clone)]
pub struct PartTracker {
    max_parts: u32,
    total_parts: Option<u32>,
    /// Size of each part received, by index.
    sizes: BTreeMap<u32, usize>,
}

fn valid_part_size(len: usize) -> bool {
    len % 1024 == 0 && MAX_PART_SIZE % len == 0
}

impl PartTracker {
    /// A tracker for a file of at most `max_parts` parts.
    pub fn new(max_parts: u32) -> Self {
        PartTracker {
            max_parts,
            total_parts: None,
            sizes: BTreeMap::new(),
        }
    }

    /// Checks and records part `index` of `len` bytes; `total_parts` is the count sent with
    /// `saveBigFilePart` (`None` for small files; -1 while a stream's length is unknown). A part
    /// sent again replaces the earlier copy. A refused part is not recorded.
    pub fn save_part(
        &mut self,
        index: i32,
        total_parts: Option<i32>,
        len: usize,
    ) -> Result<(), FileError> {
        let index = u32::try_from(index).map_err(|_| FileError::PartInvalid)?;
        if index >= self.max_parts {
            return Err(FileError::PartInvalid);
        }
        let mut total = self.total_parts;
        if let Some(t) = total_parts.filter(|t| *t != -1) {
            let t = u32::try_from(t).map_err(|_| FileError::PartsInvalid)?;
            if t == 0 || t > self.max_parts || index >= t || total.is_some_and(|known| known != t) {
                return Err(FileError::PartsInvalid);
            }
            total = Some(t);
        }
        if len == 0 {
            return Err(FileError::PartEmpty);
        }
        if len > MAX_PART_SIZE {
            return Err(FileError::PartTooBig);
        }
        let previous = self.sizes.insert(index, len);
        let checked = self.check_sizes();
        if checked.is_err() {
            match previous {
                Some(old) => self.sizes.insert(index, old),
                None => self.sizes.remove(&index),
            };
            return checked;
        }
        self.total_parts = total;
        Ok(())
    }

    fn check_sizes(&self) -> Result<(), FileError> {
        let Some((&last_index, &last_len)) = self.sizes.last_key_value() else {
            return Ok(());
        };
        let mut full = None;
        for (_, &len) in self.sizes.range(..last_index) {
            match full {
                None => full = Some(len),
                Some(size) if size != len => return Err(FileError::PartSizeChanged),
                Some(_) => {}
            }
        }
        match full {
            Some(size) if !valid_part_size(size) => Err(FileError::PartSizeInvalid),
            Some(size) if last_len > size => Err(FileError::PartSizeChanged),
            _ => Ok(()),
        }
    }

    /// Finalisation with `parts` parts (from `inputFile`/`inputFileBig`): every part must be
    /// there and none beyond. Returns the file size.
    pub fn finish(&self, parts: i32) -> Result<u64, FileError> {
        let parts = u32::try_from(parts).map_err(|_| FileError::PartsInvalid)?;
        if parts == 0 || parts > self.max_parts || self.total_parts.is_some_and(|t| t != parts) {
            return Err(FileError::PartsInvalid);
        }
        if let Some(missing) = (0..parts).find(|i| !self.sizes.contains_key(i)) {
            return Err(FileError::PartMissing(missing));
        }
        if self.sizes.range(parts..).next().is_some() {
            return Err(FileError::PartsInvalid);
        }
        Ok(self.sizes.values().map(|&len| len as u64).sum())
    }
}

/// The `md5_checksum` of `inputFile`: the MD5 of the whole file, as lowercase hex.
///
/// ```
/// assert_eq!(mtproto::files::md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
/// ```
pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Server side: checks a client's `md5_checksum` (an empty one is not checked, as Telegram does).
pub fn verify_md5(checksum: &str, data: &[u8]) -> Result<(), FileError> {
    if checksum.is_empty() || checksum.eq_ignore_ascii_case(&md5_hex(data)) {
        Ok(())
    } else {
        Err(FileError::Md5Invalid)
    }
}

/// Checks an `upload.getFile` range: without `precise`, offset and limit are multiples of
/// 4 KiB and the limit divides 1 MiB; with it, multiples of 1 KiB up to 1 MiB; always within
/// one 1 MiB chunk.
///
/// ```
/// use mtproto::files::check_get_file;
/// assert!(check_get_file(1 << 20, 1 << 20, false).is_ok());
/// assert!(check_get_file(4096, 1 << 20, false).is_err());
/// assert!(check_get_file(1024, 2048, true).is_ok());
/// ```
pub fn check_get_file(offset: i64, limit: i32, precise: bool) -> Result<(), FileError> {
    if offset < 0 {
        return Err(FileError::OffsetInvalid);
    }
    if limit <= 0 {
        return Err(FileError::LimitInvalid);
    }
    let limit = i64::from(limit);
    const MIB: i64 = 1 << 20;
    if precise {
        if offset % 1024 != 0 {
            return Err(FileError::OffsetInvalid);
        }
        if limit % 1024 != 0 || limit > MIB {
            return Err(FileError::LimitInvalid);
        }
    } else {
        if offset % 4096 != 0 {
            return Err(FileError::OffsetInvalid);
        }
        if limit % 4096 != 0 || MIB % limit != 0 {
            return Err(FileError::LimitInvalid);
        }
    }
    // Within one 1 MiB chunk: offset / MIB == (offset + limit - 1) / MIB, written so that
    // it cannot overflow for offsets near i64::MAX.
    if offset % MIB + limit > MIB {
        return Err(FileError::LimitInvalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: usize = 1024;

    #[test]
    fn plans() {
        let small = UploadPlan::new(1000, 4000).unwrap();
        assert_eq!(
            (small.parts, small.big, small.part(0)),
            (1, false, (0, 1000))
        );
        let edge = UploadPlan::new(BIG_FILE_THRESHOLD, 4000).unwrap();
        assert!(!edge.big);
        let huge = UploadPlan::new(1_500_000_000, 4000).unwrap();
        assert_eq!(huge.part_size, 512 * K);
        assert!(huge.parts <= 4000);
        assert_eq!(
            UploadPlan::new(4000 * 512 * 1024 + 1, 4000),
            Err(FileError::PartsInvalid)
        );
        assert_eq!(UploadPlan::new(0, 4000), Err(FileError::PartsInvalid));
    }

    #[test]
    fn parts_out_of_order_then_finish() {
        let mut t = PartTracker::new(4000);
        t.save_part(2, None, 100).unwrap();
        t.save_part(0, None, 128 * K).unwrap();
        t.save_part(1, None, 128 * K).unwrap();
        assert_eq!(t.finish(3), Ok((256 * K + 100) as u64));
        assert_eq!(t.finish(4), Err(FileError::PartMissing(3)));
        assert_eq!(t.finish(2), Err(FileError::PartsInvalid));
    }

    #[test]
    fn missing_parts_are_named() {
        let mut t = PartTracker::new(4000);
        t.save_part(0, None, 64 * K).unwrap();
        t.save_part(2, None, 64 * K).unwrap();
        assert_eq!(t.finish(3), Err(FileError::PartMissing(1)));
        assert_eq!(
            FileError::PartMissing(1).rpc_message(),
            "FILE_PART_1_MISSING"
        );
    }

    #[test]
    fn part_errors() {
        let mut t = PartTracker::new(10);
        assert_eq!(t.save_part(10, None, 1024), Err(FileError::PartInvalid));
        assert_eq!(t.save_part(-1, None, 1024), Err(FileError::PartInvalid));
        assert_eq!(t.save_part(0, None, 0), Err(FileError::PartEmpty));
        assert_eq!(t.save_part(0, None, 600 * K), Err(FileError::PartTooBig));
        t.save_part(0, None, 64 * K).unwrap();
        assert_eq!(
            t.save_part(1, None, 128 * K),
            Err(FileError::PartSizeChanged)
        );
        t.save_part(3, None, 10).unwrap();
        assert_eq!(
            t.save_part(5, None, 64 * K),
            Err(FileError::PartSizeChanged),
            "a short part before the last"
        );
        assert_eq!(t.save_part(1, None, 3000), Err(FileError::PartSizeChanged));
        // Parts of an invalid size are refused once a later part shows they are not the last.
        let mut odd = PartTracker::new(10);
        odd.save_part(0, None, 3000).unwrap();
        assert_eq!(odd.save_part(1, None, 100), Err(FileError::PartSizeInvalid));
        assert_eq!(odd.finish(1), Ok(3000), "the refused part was not recorded");
        let mut big = PartTracker::new(10);
        big.save_part(0, Some(3), 512 * K).unwrap();
        assert_eq!(
            big.save_part(1, Some(4), 512 * K),
            Err(FileError::PartsInvalid)
        );
        assert_eq!(big.finish(2), Err(FileError::PartsInvalid));
        // Streamed uploads send -1 until the last part.
        let mut stream = PartTracker::new(10);
        stream.save_part(0, Some(-1), 512 * K).unwrap();
        stream.save_part(1, Some(2), 5).unwrap();
        assert_eq!(stream.finish(2), Ok((512 * K + 5) as u64));
    }

    #[test]
    fn md5_checks() {
        let sum = md5_hex(b"hello");
        assert_eq!(sum, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(verify_md5(&sum.to_uppercase(), b"hello"), Ok(()));
        assert_eq!(verify_md5("", b"anything"), Ok(()));
        assert_eq!(verify_md5(&sum, b"hellO"), Err(FileError::Md5Invalid));
    }

    #[test]
    fn get_file_offsets_near_the_end_of_i64_do_not_overflow() {
        let near = i64::MAX - (i64::MAX % 4096);
        assert_eq!(
            check_get_file(near, 1 << 20, false),
            Err(FileError::LimitInvalid)
        );
        assert_eq!(
            check_get_file(near - (near % (1 << 20)), 4096, false),
            Ok(())
        );
    }

    #[test]
    fn get_file_rules() {
        assert_eq!(
            check_get_file(-4096, 4096, false),
            Err(FileError::OffsetInvalid)
        );
        assert_eq!(
            check_get_file(4096, 3 * 4096, false),
            Err(FileError::LimitInvalid)
        );
        assert_eq!(
            check_get_file(1024, 4096, false),
            Err(FileError::OffsetInvalid)
        );
        assert_eq!(
            check_get_file((1 << 20) - 1024, 2048, true),
            Err(FileError::LimitInvalid),
            "crosses a 1 MiB boundary"
        );
        assert_eq!(
            check_get_file(0, (1 << 20) + 1024, true),
            Err(FileError::LimitInvalid)
        );
        assert_eq!(check_get_file(0, 0, true), Err(FileError::LimitInvalid));
    }
}
