//! Server salts. The server derives each 30-minute salt from a secret, the auth key id and the
//! number of the window, so salts need no storage, survive restarts and are the same on every
//! server node that shares the secret. A salt stays accepted for one window after its own
//! (the 1800 s grace of PROTOCOL.md 1.2).

use sha2::{Digest, Sha256};

/// How long one salt is current, in seconds.
pub const SALT_WINDOW_SECS: i64 = 1800;

/// The salts of one auth key.
///
/// ```
/// use mtproto::session::SaltSchedule;
/// let salts = SaltSchedule::new([7; 32], 0x1122_3344_5566_7788);
/// let now = 1_700_000_000;
/// let current = salts.current(now);
/// assert!(salts.accepts(current, now));
/// assert!(salts.accepts(current, now + 1800), "still inside the grace period");
/// assert!(!salts.accepts(current, now + 3600));
/// ```
#[derive(Clone)]
pub struct SaltSchedule {
    secret: [u8; 32],
    auth_key_id: u64,
}

impl std::fmt::Debug for SaltSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SaltSchedule {{ auth_key_id: {:016x} }}",
            self.auth_key_id
        )
    }
}

/// One salt and when it is the current one (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledSalt {
    /// The salt.
    pub salt: i64,
    /// When it becomes current.
    pub valid_since: i64,
    /// When it stops being current (it is still accepted for another window).
    pub valid_until: i64,
}

impl SaltSchedule {
    /// The schedule for `auth_key_id`, derived from the server's `secret`.
    pub fn new(secret: [u8; 32], auth_key_id: u64) -> Self {
        SaltSchedule {
            secret,
            auth_key_id,
        }
    }

    fn window(now: i64) -> i64 {
        now.div_euclid(SALT_WINDOW_SECS)
    }

    fn salt_of_window(&self, window: i64) -> i64 {
        let hash = Sha256::new()
            .chain_update(self.secret)
            .chain_update(self.auth_key_id.to_le_bytes())
            .chain_update(window.to_le_bytes())
            .finalize();
        let mut salt = [0u8; 8];
        salt.copy_from_slice(&hash[..8]);
        i64::from_le_bytes(salt)
    }

    /// The salt to give out at `now` (Unix seconds).
    pub fn current(&self, now: i64) -> i64 {
        self.salt_of_window(Self::window(now))
    }

    /// Whether a client may use `salt` at `now`: the current salt or the previous one.
    pub fn accepts(&self, salt: i64, now: i64) -> bool {
        let window = Self::window(now);
        salt == self.salt_of_window(window) || salt == self.salt_of_window(window - 1)
    }

    /// The current salt and the `count - 1` after it, for `future_salts`.
    pub fn upcoming(&self, now: i64, count: usize) -> Vec<ScheduledSalt> {
        let first = Self::window(now);
        (0..count as i64)
            .map(|i| {
                let window = first + i;
                ScheduledSalt {
                    salt: self.salt_of_window(window),
                    valid_since: window * SALT_WINDOW_SECS,
                    valid_until: (window + 1) * SALT_WINDOW_SECS,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_differ_by_key_and_window_and_are_stable() {
        let a = SaltSchedule::new([1; 32], 1);
        let b = SaltSchedule::new([1; 32], 2);
        let now = 1_700_000_000;
        assert_ne!(a.current(now), b.current(now));
        assert_ne!(a.current(now), a.current(now + SALT_WINDOW_SECS));
        assert_eq!(a.current(now), SaltSchedule::new([1; 32], 1).current(now));
        let upcoming = a.upcoming(now, 3);
        assert_eq!(upcoming[0].salt, a.current(now));
        assert_eq!(upcoming[1].salt, a.current(now + SALT_WINDOW_SECS));
        assert!(upcoming[0].valid_since <= now && now < upcoming[0].valid_until);
        assert_eq!(upcoming[1].valid_since, upcoming[0].valid_until);
    }
}
