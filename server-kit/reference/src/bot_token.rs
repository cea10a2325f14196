//! Bot tokens in Telegram's format, `BOT_ID:SECRET` (`123456:AAH...`): the bot's user id, a
//! colon and a secret of 35 URL-safe base64 characters (26 random bytes).
//!
//! The server keeps only the SHA-256 of the secret ([`BotStore`](crate::store::BotStore)), so a
//! copy of the database signs no one in; a presented token is checked by hashing its secret
//! and comparing the hashes in constant time.
//!
//! ```
//! use server_kit_reference::bot_token::BotToken;
//! let (token, hash) = BotToken::generate(100_007);
//! let text = token.to_string();
//! let parsed: BotToken = text.parse().unwrap();
//! assert_eq!(parsed.bot_id(), 100_007);
//! assert!(parsed.matches(&hash));
//! assert!(!"100007:wrong".parse::<BotToken>().unwrap().matches(&hash));
//! ```

use sha2::{Digest, Sha256};
use std::fmt;

/// Random bytes in a new secret (35 base64 characters).
const SECRET_BYTES: usize = 26;
/// The longest secret accepted from a client (Telegram's are 35 characters).
const MAX_SECRET_LEN: usize = 64;

/// A token that is not `BOT_ID:SECRET`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BotTokenError {
    /// No `:` between the id and the secret.
    #[error("a bot token is BOT_ID:SECRET (no `:` found)")]
    NoColon,
    /// The part before the colon is not a positive number.
    #[error("bad bot id `{0}` in the token")]
    BadId(String),
    /// The secret is empty, too long, or has characters outside URL-safe base64.
    #[error("bad secret in the token ({len} characters)")]
    BadSecret {
        /// Its length in bytes.
        len: usize,
    },
}

/// A bot's token: its user id and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken {
    bot_id: i64,
    secret: String,
}

impl BotToken {
    /// A new random token for `bot_id`, and the hash of its secret to store.
    pub fn generate(bot_id: i64) -> (BotToken, [u8; 32]) {
        let bytes = crate::state::random_array::<SECRET_BYTES>();
        let token = BotToken {
            bot_id,
            secret: base64_url(&bytes),
        };
        let hash = token.secret_hash();
        (token, hash)
    }

    /// A fresh secret's hash, for a bot whose id is not known yet: the returned closure makes
    /// the token once the id is.
    pub fn generate_secret() -> (impl FnOnce(i64) -> BotToken, [u8; 32]) {
        let (template, hash) = Self::generate(0);
        let secret = template.secret;
        (move |bot_id| BotToken { bot_id, secret }, hash)
    }

    /// The bot's user id.
    pub fn bot_id(&self) -> i64 {
        self.bot_id
    }

    /// SHA-256 of the secret: what the store keeps.
    pub fn secret_hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }

    /// Whether the secret hashes to `stored`, compared in constant time.
    pub fn matches(&self, stored: &[u8; 32]) -> bool {
        let hash = self.secret_hash();
        hash.iter()
            .zip(stored)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::str::FromStr for BotToken {
    type Err = BotTokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, secret) = s.split_once(':').ok_or(BotTokenError::NoColon)?;
        let bot_id: i64 = id
            .parse()
            .ok()
            .filter(|&n: &i64| n > 0 && id.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| BotTokenError::BadId(id.chars().take(24).collect()))?;
        let valid = !secret.is_empty()
            && secret.len() <= MAX_SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(BotTokenError::BadSecret { len: secret.len() });
        }
        Ok(BotToken {
            bot_id,
            secret: secret.to_owned(),
        })
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bot_id, self.secret)
    }
}

/// Never shows the secret.
impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotToken")
            .field("bot_id", &self.bot_id)
            .finish_non_exhaustive()
    }
}

/// URL-safe base64 without padding.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_look_like_telegrams() {
        let (token, hash) = BotToken::generate(123_456);
        let text = token.to_string();
        let (id, secret) = text.split_once(':').unwrap();
        assert_eq!(id, "123456");
        assert_eq!(secret.len(), 35);
        assert_eq!(text.parse::<BotToken>().unwrap(), token);
        assert!(token.matches(&hash));
        let (other, _) = BotToken::generate(123_456);
        assert!(!other.matches(&hash), "two tokens share a secret");
    }

    #[test]
    fn base64_matches_the_rfc() {
        assert_eq!(base64_url(b"f"), "Zg");
        assert_eq!(base64_url(b"fo"), "Zm8");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn bad_tokens_are_errors() {
        assert_eq!("abc".parse::<BotToken>(), Err(BotTokenError::NoColon));
        assert!(matches!(
            "x:abc".parse::<BotToken>(),
            Err(BotTokenError::BadId(_))
        ));
        assert!(matches!(
            "-5:abc".parse::<BotToken>(),
            Err(BotTokenError::BadId(_))
        ));
        assert!(matches!(
            "+5:abc".parse::<BotToken>(),
            Err(BotTokenError::BadId(_))
        ));
        assert_eq!(
            "5:".parse::<BotToken>(),
            Err(BotTokenError::BadSecret { len: 0 })
        );
        assert_eq!(
            "5:a b".parse::<BotToken>(),
            Err(BotTokenError::BadSecret { len: 3 })
        );
        let long = format!("5:{}", "a".repeat(65));
        assert_eq!(
            long.parse::<BotToken>(),
            Err(BotTokenError::BadSecret { len: 65 })
        );
    }
}
