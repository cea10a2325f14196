//! The operating system's randomness and clock, which the sans-IO mtproto crate takes as
//! arguments: the server reads them here and passes them in.

use mtproto::crypto::Random;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Randomness from the operating system.
pub fn os_random(buf: &mut [u8]) {
    // The OS random source does not fail on supported platforms; if it ever did, carrying on
    // with predictable keys would be worse than stopping.
    getrandom::fill(buf).expect("the operating system's random source failed");
}

/// A random value of `N` bytes.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    os_random(&mut out);
    out
}

/// A random i64.
pub fn random_i64() -> i64 {
    i64::from_le_bytes(random_array())
}

/// The OS randomness as an [`mtproto::crypto::Random`].
pub fn rng() -> impl Random {
    |buf: &mut [u8]| os_random(buf)
}

/// Now, as time since the Unix epoch.
pub fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Now in Unix seconds.
pub fn unix_now() -> i32 {
    now().as_secs() as i32
}
