//! How a client is set up: which server, which transport, who the app is, and the policies
//! for reconnects, flood waits and file transfers.

use crate::storage::{MemorySessionStore, SessionStore};
use mtproto::crypto::{Random, RsaPublicKey};
use mtproto::session::ClientSessionConfig;
use mtproto::transport::{Codec, Kind, client_header};
use std::sync::Arc;
use std::time::Duration;
use tl_runtime::{Blob, Serialize};

/// Telegram's production RSA key (fingerprint `0xd09d1d85de64fd85`), the default server key.
pub const TELEGRAM_RSA_KEY: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA6LszBcC1LGzyr992NzE0ieY+BSaOW622Aa9Bd4ZHLl+TuFQ4lo4g
5nKaMBwK/BIb9xUfg0Q29/2mgIR6Zr9krM7HjuIcCzFvDtr+L0GQjae9H0pRB2OO
62cECs5HKhT5DZ98K33vmWiLowc621dQuwKWSQKjWf50XYFw42h21P2KXUGyp2y/
+aEyZ+uVgLLQbRA1dEjSDZ2iGRy12Mk5gpYc397aYp438fsJoHIgJ2lgMv5h7WY9
t6N/byY9Nw9p21Og3AoXSL2q/2IJ1WRUhebgAdGVMlV1fkuOQoEzR7EdpqtQD9Cs
5+bfo3Nhmcyvk5ftB0WkJ9z6bNZ7yxrP8wIDAQAB
-----END RSA PUBLIC KEY-----";

/// Telegram's production data centers (IPv4, port 443), used until `help.getConfig` says
/// otherwise.
pub const TELEGRAM_DCS: [(i32, &str); 5] = [
    (1, "149.154.175.53:443"),
    (2, "149.154.167.51:443"),
    (3, "149.154.175.100:443"),
    (4, "149.154.167.91:443"),
    (5, "91.108.56.130:443"),
];

/// The transport framing, whether it is obfuscated (obfuscated2, what MTProxy and censored
/// networks need), and whether it goes in WebSocket messages. The full transport cannot be
/// obfuscated.
///
/// The WebSocket ones connect to `ws://ADDR/apiws` (ADDR being the DC's `host:port`; an
/// address that is already a `ws://` URL is used as it is) with the subprotocol `binary`, as
/// Telegram's web clients do, e.g. through HTTP proxies that pass WebSocket only. Plain `ws://`
/// only: client-sdk carries no TLS stack, so `wss://` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// Length, sequence number and CRC32 per packet.
    Full,
    /// A 4-byte length per packet (the default: cheap and simple).
    #[default]
    Intermediate,
    /// Intermediate with 0-15 random bytes of padding per packet.
    PaddedIntermediate,
    /// One length byte for short packets.
    Abridged,
    /// Obfuscated abridged (what Telethon and GramJS call "obfuscated").
    ObfuscatedAbridged,
    /// Obfuscated intermediate.
    ObfuscatedIntermediate,
    /// Obfuscated padded intermediate (what Telegram's own apps use).
    ObfuscatedPadded,
    /// Obfuscated abridged in WebSocket messages (what GramJS's browser build speaks).
    WebSocketAbridged,
    /// Obfuscated intermediate in WebSocket messages (what mtcute's web transport speaks).
    WebSocketIntermediate,
    /// Obfuscated padded intermediate in WebSocket messages.
    WebSocketPadded,
}

impl Transport {
    /// Whether it goes in WebSocket messages.
    pub fn is_websocket(self) -> bool {
        matches!(
            self,
            Transport::WebSocketAbridged
                | Transport::WebSocketIntermediate
                | Transport::WebSocketPadded
        )
    }

    /// A fresh client codec for one connection.
    pub(crate) fn codec(self, dc: i32, rng: &mut impl Random) -> Codec {
        let (kind, obfuscated) = match self {
            Transport::Full => (Kind::Full, false),
            Transport::Intermediate => (Kind::Intermediate, false),
            Transport::PaddedIntermediate => (Kind::PaddedIntermediate, false),
            Transport::Abridged => (Kind::Abridged, false),
            Transport::ObfuscatedAbridged => (Kind::Abridged, true),
            Transport::ObfuscatedIntermediate => (Kind::Intermediate, true),
            Transport::ObfuscatedPadded | Transport::WebSocketPadded => {
                (Kind::PaddedIntermediate, true)
            }
            Transport::WebSocketAbridged => (Kind::Abridged, true),
            Transport::WebSocketIntermediate => (Kind::Intermediate, true),
        };
        match obfuscated
            .then(|| client_header(kind, dc as i16, None, rng))
            .flatten()
        {
            Some(header) => Codec::client_obfuscated(kind, header),
            None => Codec::client(kind),
        }
    }
}

/// Who the app is, sent in `initConnection` on every new session.
#[derive(Debug, Clone)]
pub struct InitParams {
    /// The app's id from my.telegram.org.
    pub api_id: i32,
    /// The device, e.g. "PC 64bit".
    pub device_model: String,
    /// The operating system.
    pub system_version: String,
    /// The app's version.
    pub app_version: String,
    /// The system language (ISO 639-1).
    pub system_lang_code: String,
    /// The app's language (ISO 639-1).
    pub lang_code: String,
}

impl Default for InitParams {
    fn default() -> Self {
        InitParams {
            api_id: 0,
            device_model: std::env::consts::ARCH.to_string(),
            system_version: std::env::consts::OS.to_string(),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            system_lang_code: "en".into(),
            lang_code: "en".into(),
        }
    }
}

impl InitParams {
    /// `invokeWithLayer(LAYER, initConnection(..., query))` around a serialized query.
    pub(crate) fn wrap(&self, query: Vec<u8>) -> Vec<u8> {
        use mtproto_api::functions::{InitConnection, InvokeWithLayer};
        InvokeWithLayer {
            layer: mtproto_api::LAYER,
            query: InitConnection {
                api_id: self.api_id,
                device_model: self.device_model.clone(),
                system_version: self.system_version.clone(),
                app_version: self.app_version.clone(),
                system_lang_code: self.system_lang_code.clone(),
                lang_pack: String::new(),
                lang_code: self.lang_code.clone(),
                proxy: None,
                params: None,
                query: Blob(query.into()),
            },
        }
        .to_bytes()
    }
}

/// How a lost connection is retried: exponential backoff from `initial_delay` to
/// `max_delay`, and, with `max_attempts`, failing waiting requests after that many failures
/// in a row (the next request starts over).
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    /// The wait after the first failure.
    pub initial_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Give up after this many failures in a row; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_attempts: Some(30),
        }
    }
}

impl ReconnectPolicy {
    /// The wait before attempt `failures + 1`.
    ///
    /// ```
    /// use client_sdk::ReconnectPolicy;
    /// use std::time::Duration;
    /// let p = ReconnectPolicy::default();
    /// assert_eq!(p.delay(1), Duration::from_millis(200));
    /// assert_eq!(p.delay(2), Duration::from_millis(400));
    /// assert_eq!(p.delay(40), Duration::from_secs(30));
    /// ```
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// Everything [`Client::connect`](crate::Client::connect) needs.
#[derive(Clone)]
pub struct Config {
    /// Who the app is. `api_id` must be set for real Telegram.
    pub init: InitParams,
    /// The app's `api_hash` from my.telegram.org (sent with login requests).
    pub api_hash: String,
    /// The DC to start with when the session has none.
    pub dc: i32,
    /// DC addresses (`host:port`) to use before and instead of `help.getConfig`'s. Defaults
    /// to Telegram's; point it at your own server with `vec![(2, "127.0.0.1:4430".into())]`.
    pub dc_addrs: Vec<(i32, String)>,
    /// Take DC addresses from `help.getConfig` for DCs not in `dc_addrs`.
    pub use_server_dc_list: bool,
    /// The server keys trusted for the key exchange.
    pub rsa_keys: Vec<RsaPublicKey>,
    /// The transport.
    pub transport: Transport,
    /// Where the session is kept.
    pub session: Arc<dyn SessionStore>,
    /// Reconnects.
    pub reconnect: ReconnectPolicy,
    /// `FLOOD_WAIT_X` errors with X up to this are waited out and the call retried; longer
    /// ones are returned to the caller.
    pub flood_sleep_threshold: Duration,
    /// How many updates may wait for [`Client::next_update`](crate::Client::next_update)
    /// before the client stops reading more (they are fetched later with getDifference,
    /// never dropped).
    pub update_queue: usize,
    /// File parts in flight at once per upload or download.
    pub parts_in_flight: usize,
    /// Session timers (pings, acks, compression).
    pub session_config: ClientSessionConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("init", &self.init)
            .field("dc", &self.dc)
            .field("dc_addrs", &self.dc_addrs)
            .field("transport", &self.transport)
            .field("parts_in_flight", &self.parts_in_flight)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    /// Telegram's production servers from DC 2, an in-memory session.
    fn default() -> Self {
        Config {
            init: InitParams::default(),
            api_hash: String::new(),
            dc: 2,
            dc_addrs: TELEGRAM_DCS
                .iter()
                .map(|(id, addr)| (*id, addr.to_string()))
                .collect(),
            use_server_dc_list: true,
            rsa_keys: vec![
                RsaPublicKey::from_pem(TELEGRAM_RSA_KEY).expect("Telegram's key is valid PEM"),
            ],
            transport: Transport::default(),
            session: Arc::new(MemorySessionStore::default()),
            reconnect: ReconnectPolicy::default(),
            flood_sleep_threshold: Duration::from_secs(60),
            update_queue: 1000,
            parts_in_flight: 4,
            session_config: ClientSessionConfig::default(),
        }
    }
}

impl Config {
    /// A configuration for one server of your own (e.g. server-kit's reference server): DC
    /// `dc` at `addr`, trusting `key`, with the session kept in `session`.
    pub fn for_server(
        dc: i32,
        addr: impl Into<String>,
        key: RsaPublicKey,
        session: Arc<dyn SessionStore>,
    ) -> Self {
        Config {
            dc,
            dc_addrs: vec![(dc, addr.into())],
            use_server_dc_list: false,
            rsa_keys: vec![key],
            session,
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegrams_key_has_its_known_fingerprint() {
        let key = RsaPublicKey::from_pem(TELEGRAM_RSA_KEY).unwrap();
        assert_eq!(key.fingerprint() as u64, 0xd09d1d85de64fd85);
    }
}
