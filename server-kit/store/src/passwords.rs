//! Cloud passwords (two-step verification with SRP, see `mtproto::srp`): each user's verifier
//! and the algorithm it was made with, the SRP checks `account.getPassword` hands out (its
//! `srp_id` and the server's secret `b`), and the sign-ins that wait for a password.
//!
//! All of it lives in the store, not in a node's memory: with several nodes, the
//! `account.getPassword` that made a check and the `auth.checkPassword` that answers it may
//! reach different nodes. A check is used once ([`PasswordStore::take_srp_check`] removes it
//! as it reads it) and has an expiry; expired checks and sign-ins are swept whenever new ones
//! are stored, and a user keeps at most [`MAX_SRP_CHECKS_PER_USER`] checks.

use crate::StoreError;

/// The most SRP checks a user has open; storing one more forgets the oldest.
pub const MAX_SRP_CHECKS_PER_USER: usize = 16;

/// A user's cloud password: what `passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow`
/// needs to check it, never the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password {
    /// The whole `salt1` (the server's part and the client's 32 bytes).
    pub salt1: Vec<u8>,
    /// `salt2`.
    pub salt2: Vec<u8>,
    /// The generator.
    pub g: i32,
    /// The 2048-bit prime, big-endian.
    pub p: Vec<u8>,
    /// `v = g^x mod p`, 256 bytes (the client's `new_password_hash`).
    pub verifier: Vec<u8>,
    /// The hint shown when the password is asked for (may be empty).
    pub hint: String,
    /// Checks are refused until then (Unix seconds; 0: never locked), after too many wrong
    /// passwords. [`PasswordStore::set_password`] keeps the stored value;
    /// [`PasswordStore::lock_password`] sets it.
    pub locked_until: i64,
}

/// An SRP check handed out by `account.getPassword`.
#[derive(Clone, PartialEq, Eq)]
pub struct SrpCheck {
    /// The `srp_id` the client was given.
    pub srp_id: i64,
    /// Whose password it checks.
    pub user_id: i64,
    /// The server's secret `b` (256 bytes) behind the `srp_B` the client was given.
    pub b: Vec<u8>,
    /// The verifier `B` was made from (a different one now: the password changed since).
    pub verifier: Vec<u8>,
    /// When it stops being valid (Unix seconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for SrpCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrpCheck")
            .field("srp_id", &self.srp_id)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A sign-in that got the right code for an account with a password: the key is signed in
/// as `user_id` once `auth.checkPassword` succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordLogin {
    /// The auth key signing in.
    pub key_id: i64,
    /// The account.
    pub user_id: i64,
    /// When the code's success stops counting (Unix seconds).
    pub expires_at: i64,
}

/// Password storage.
pub trait PasswordStore {
    /// A user's password, if one is set.
    fn password(&self, user_id: i64) -> Result<Option<Password>, StoreError>;
    /// Sets (`Some`, replacing any) or removes (`None`) a user's password. A replaced
    /// password's `locked_until` stays.
    fn set_password(&self, user_id: i64, password: Option<&Password>) -> Result<(), StoreError>;
    /// Refuses checks of a user's password until `until` (nothing if none is set).
    fn lock_password(&self, user_id: i64, until: i64) -> Result<(), StoreError>;

    /// Stores a new SRP check; first forgets the checks that expired by `now` and, past
    /// [`MAX_SRP_CHECKS_PER_USER`], the user's oldest.
    fn put_srp_check(&self, check: &SrpCheck, now: i64) -> Result<(), StoreError>;
    /// Removes and returns the check with this `srp_id` (also when it has expired: the
    /// caller decides). Two callers never both get the same check.
    fn take_srp_check(&self, srp_id: i64) -> Result<Option<SrpCheck>, StoreError>;

    /// Records that `login.key_id` waits for the password of `login.user_id`, replacing what
    /// the key waited for; first forgets the sign-ins that expired by `now`.
    fn put_password_login(&self, login: &PasswordLogin, now: i64) -> Result<(), StoreError>;
    /// What a key waits for (also when it has expired: the caller decides).
    fn password_login(&self, key_id: i64) -> Result<Option<PasswordLogin>, StoreError>;
    /// Forgets what a key waits for.
    fn delete_password_login(&self, key_id: i64) -> Result<(), StoreError>;
}
