//! Message ids: about Unix time × 2³², the low 32 bits carrying the fraction of the second,
//! strictly increasing, with parity telling who sent them.

use super::BadMsgCode;
use std::collections::BTreeSet;
use std::time::Duration;

/// What kind of message an id is for; it fixes the two low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    /// Sent by a client (≡ 0 mod 4).
    Client,
    /// Sent by the server in answer to a client message (≡ 1 mod 4).
    ServerResponse,
    /// Sent by the server on its own (≡ 3 mod 4).
    ServerInitiated,
}

impl MsgKind {
    fn low_bits(self) -> i64 {
        match self {
            MsgKind::Client => 0,
            MsgKind::ServerResponse => 1,
            MsgKind::ServerInitiated => 3,
        }
    }
}

/// Makes strictly increasing message ids from the time the caller passes in.
///
/// ```
/// use mtproto::session::{MsgIdGenerator, MsgKind};
/// use std::time::Duration;
/// let mut ids = MsgIdGenerator::default();
/// let now = Duration::new(1_707_425_104, 123_456_789);
/// assert_eq!(ids.next(now, MsgKind::Client), 7333334982579641652);
/// // Same instant again: still strictly increasing, parity kept.
/// let second = ids.next(now, MsgKind::Client);
/// assert!(second > 7333334982579641652 && second % 4 == 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MsgIdGenerator {
    last: i64,
}

impl MsgIdGenerator {
    /// The next id for `kind` at `now` (time since the Unix epoch, corrected by the caller's
    /// offset to the server's clock).
    pub fn next(&mut self, now: Duration, kind: MsgKind) -> i64 {
        let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
        let mut id = (now.as_secs() as i64) << 32 | fraction as i64;
        id = (id & !3) | kind.low_bits();
        if id <= self.last {
            id = ((self.last & !3) + 4) | kind.low_bits();
        }
        self.last = id;
        id
    }
}

/// The Unix second a message id was made at.
pub fn msg_id_time(msg_id: i64) -> i64 {
    msg_id >> 32
}

/// Why a received message id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("msg_id {msg_id}: {code:?}")]
pub struct MsgIdError {
    /// The id.
    pub msg_id: i64,
    /// The `bad_msg_notification` code to answer with.
    pub code: BadMsgCode,
}

/// Checks a received id: parity for `kind` and the time window of 300 s in the past to 30 s
/// in the future around `now` (Unix seconds).
///
/// The low 32 bits may be zero, as Telegram takes them: pyrotgfork (like Pyrogram 2.0) makes
/// ids as whole seconds × 2³² plus a counter that starts again at 0 each second, so its first
/// message of every second, a lone ping above all, has them zero. Replays are caught by the
/// [`DuplicateWindow`], not by this.
pub fn check_msg_id(msg_id: i64, kind: MsgKind, now: i64) -> Result<(), MsgIdError> {
    let fail = |code| Err(MsgIdError { msg_id, code });
    let parity_ok = match kind {
        MsgKind::Client => msg_id & 3 == 0,
        MsgKind::ServerResponse | MsgKind::ServerInitiated => msg_id & 1 == 1,
    };
    if !parity_ok {
        return fail(BadMsgCode::MsgIdBadParity);
    }
    let time = msg_id_time(msg_id);
    if time > now + 30 {
        return fail(BadMsgCode::MsgIdTooHigh);
    }
    if time < now - 300 {
        return fail(BadMsgCode::MsgIdTooLow);
    }
    Ok(())
}

/// The ids received lately, to drop replays: remembers the last `capacity` ids.
#[derive(Debug, Clone)]
pub struct DuplicateWindow {
    ids: BTreeSet<i64>,
    capacity: usize,
}

impl Default for DuplicateWindow {
    /// Keeps 1000 ids, as tdlib does.
    fn default() -> Self {
        DuplicateWindow::new(1000)
    }
}

impl DuplicateWindow {
    /// A window of `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        DuplicateWindow {
            ids: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `msg_id`. `Ok(false)` if it was seen already (a duplicate to answer from the
    /// cache or ignore), `Err` with code 16/20 if it is older than everything remembered.
    pub fn insert(&mut self, msg_id: i64) -> Result<bool, MsgIdError> {
        if self.ids.contains(&msg_id) {
            return Ok(false);
        }
        if self.ids.len() >= self.capacity {
            if let Some(&oldest) = self.ids.first() {
                if msg_id < oldest {
                    return Err(MsgIdError {
                        msg_id,
                        code: BadMsgCode::MessageTooOld,
                    });
                }
            }
            self.ids.pop_first();
        }
        self.ids.insert(msg_id);
        Ok(true)
    }

    /// Whether `msg_id` is remembered.
    pub fn contains(&self, msg_id: i64) -> bool {
        self.ids.contains(&msg_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        let now = Duration::new(1_707_425_104, 123_456_789);
        let mut g = MsgIdGenerator::default();
        assert_eq!(g.next(now, MsgKind::ServerResponse), 7333334982579641653);
        let mut g = MsgIdGenerator::default();
        assert_eq!(g.next(now, MsgKind::ServerInitiated), 7333334982579641655);
    }

    #[test]
    fn ids_increase_even_when_the_clock_goes_back() {
        let mut g = MsgIdGenerator::default();
        let a = g.next(Duration::new(1000, 0), MsgKind::Client);
        let b = g.next(Duration::new(999, 0), MsgKind::Client);
        assert!(b > a && b % 4 == 0);
    }

    #[test]
    fn window_checks() {
        let now = 1_700_000_000i64;
        let id = |t: i64, low: i64| t << 32 | low;
        assert_eq!(check_msg_id(id(now, 4), MsgKind::Client, now), Ok(()));
        assert_eq!(
            check_msg_id(id(now, 5), MsgKind::Client, now)
                .unwrap_err()
                .code,
            BadMsgCode::MsgIdBadParity
        );
        assert_eq!(
            check_msg_id(id(now + 31, 4), MsgKind::Client, now)
                .unwrap_err()
                .code,
            BadMsgCode::MsgIdTooHigh
        );
        assert_eq!(
            check_msg_id(id(now - 301, 4), MsgKind::Client, now)
                .unwrap_err()
                .code,
            BadMsgCode::MsgIdTooLow
        );
        // Whole seconds with zero low bits, as pyrotgfork makes its first id of a second.
        assert_eq!(check_msg_id(id(now, 0), MsgKind::Client, now), Ok(()));
        assert_eq!(
            check_msg_id(id(now - 301, 0), MsgKind::Client, now)
                .unwrap_err()
                .code,
            BadMsgCode::MsgIdTooLow
        );
        assert_eq!(
            check_msg_id(id(now, 7), MsgKind::ServerInitiated, now),
            Ok(())
        );
        assert_eq!(
            check_msg_id(id(now, 4), MsgKind::ServerResponse, now)
                .unwrap_err()
                .code,
            BadMsgCode::MsgIdBadParity
        );
    }

    #[test]
    fn duplicates_and_old_ids() {
        let mut w = DuplicateWindow::new(3);
        assert_eq!(w.insert(10), Ok(true));
        assert_eq!(w.insert(10), Ok(false));
        assert_eq!(w.insert(20), Ok(true));
        assert_eq!(w.insert(30), Ok(true));
        assert_eq!(w.insert(40), Ok(true));
        assert!(!w.contains(10));
        assert_eq!(w.insert(5).unwrap_err().code, BadMsgCode::MessageTooOld);
        assert_eq!(w.insert(25), Ok(true), "between known ids is fine");
    }
}
