//! Apple Push Notification service: notifications for devices registered with token type 1,
//! over HTTP/2 with token-based authentication.
//!
//! The provider token is a JWT signed with the team's `.p8` key (ES256; header `kid` = the
//! key id, claims `iss` = the team id and `iat`), made once and reused for
//! [`TOKEN_LIFETIME`] (Apple refuses tokens older than an hour and too frequent new ones),
//! and made again at once when APNs answers 403 `ExpiredProviderToken`.
//!
//! Each device is one `POST {host}/3/device/{token}` with `authorization: bearer JWT`,
//! `apns-topic` (the app's bundle id), `apns-push-type: alert`, `apns-priority: 10` and
//! `apns-expiration` (a day after sending), and an `aps` payload ([`ApnsPush::payload`]).
//! The host is Apple's production one, or its sandbox for devices registered with
//! `app_sandbox` (or all of them with `--apns-sandbox`). Answers: 200 delivered; 410
//! `Unregistered` and 400 `BadDeviceToken` forget the device; 429 and 5xx are retried; the
//! rest are final.

use super::{base_url, client, custom, loc, retry_after, transport_error, unix_seconds};
use crate::provider_error::ProviderError;
use crate::push::{Notification, PushError, PushProvider, RetryPolicy, Target};
use crate::rpc::BoxFuture;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The token type APNs serves (`account.registerDevice`).
pub const TOKEN_TYPE: i32 = 1;
/// Apple's production host.
pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
/// Apple's sandbox host (development builds of an app).
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// How long one provider token is used before a new one is made.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(50 * 60);
/// How long APNs keeps trying to reach an offline device (`apns-expiration`).
pub const EXPIRATION: u64 = 24 * 3600;

/// A `.p8` token signing key with its key id and team id.
#[derive(Clone)]
pub struct ApnsKey {
    key: jsonwebtoken::EncodingKey,
    /// The key's id (the JWT header's `kid`).
    pub key_id: String,
    /// The team's id (the JWT's `iss`).
    pub team_id: String,
}

impl std::fmt::Debug for ApnsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsKey")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

impl ApnsKey {
    /// Reads a `.p8` file (a PKCS#8 P-256 private key in PEM).
    pub fn load(path: &Path, key_id: &str, team_id: &str) -> Result<Self, ProviderError> {
        let pem = std::fs::read(path).map_err(|source| ProviderError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&pem, key_id, team_id).map_err(|why| ProviderError::Invalid {
            what: format!("APNs key {}", path.display()),
            why,
        })
    }

    /// A key from its PEM text.
    pub fn from_pem(pem: &[u8], key_id: &str, team_id: &str) -> Result<Self, ProviderError> {
        Self::parse(pem, key_id, team_id).map_err(|why| ProviderError::Invalid {
            what: "APNs key".into(),
            why,
        })
    }

    fn parse(pem: &[u8], key_id: &str, team_id: &str) -> Result<Self, String> {
        let key = jsonwebtoken::EncodingKey::from_ec_pem(pem)
            .map_err(|e| format!("not a P-256 private key in PEM (a .p8 file): {e}"))?;
        if key_id.is_empty() || team_id.is_empty() {
            return Err("the key id and the team id must not be empty".into());
        }
        let key = ApnsKey {
            key,
            key_id: key_id.to_owned(),
            team_id: team_id.to_owned(),
        };
        // A PEM of another kind of key parses but cannot sign ES256.
        key.provider_token(0)
            .map_err(|e| format!("cannot sign ES256 with it: {e}"))?;
        Ok(key)
    }

    /// A provider token issued at `now` (Unix seconds).
    pub fn provider_token(&self, now: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = serde_json::json!({"iss": self.team_id, "iat": now});
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

/// Sends notifications through APNs (see the [module docs](self)).
pub struct ApnsPush {
    key: ApnsKey,
    topic: String,
    client: reqwest::Client,
    production: String,
    sandbox: String,
    sandbox_only: bool,
    token: Mutex<Option<(String, Instant)>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ApnsPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsPush")
            .field("key", &self.key)
            .field("topic", &self.topic)
            .field("production", &self.production)
            .field("sandbox", &self.sandbox)
            .field("sandbox_only", &self.sandbox_only)
            .finish_non_exhaustive()
    }
}

/// Whether a delivery ended, or needs a new provider token first.
enum Outcome {
    Done(Result<(), PushError>),
    ExpiredToken,
}

impl ApnsPush {
    /// A provider for the app `topic` (its bundle id) signing with `key`, on Apple's hosts.
    pub fn new(key: ApnsKey, topic: &str) -> Result<Self, ProviderError> {
        if topic.is_empty() {
            return Err(ProviderError::Invalid {
                what: "--apns-topic".into(),
                why: "empty".into(),
            });
        }
        Ok(ApnsPush {
            key,
            topic: topic.to_owned(),
            client: client(true)?,
            production: PRODUCTION_URL.into(),
            sandbox: SANDBOX_URL.into(),
            sandbox_only: false,
            token: Mutex::new(None),
            retry: RetryPolicy::default(),
        })
    }

    /// Every notification goes to the sandbox host, whatever the device said.
    pub fn sandbox_only(mut self, yes: bool) -> Self {
        self.sandbox_only = yes;
        self
    }

    /// One host for production and sandbox devices alike (tests: a local HTTP/2 server;
    /// `http://` is HTTP/2 without TLS).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, ProviderError> {
        let url = base_url("--apns-url", url)?;
        self.production.clone_from(&url);
        self.sandbox = url;
        Ok(self)
    }

    /// Retries as `policy` says instead of [`RetryPolicy::default`].
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The payload: `aps` with Telegram's localized `alert` (`loc-key`, `loc-args`, see
    /// [`loc`]), `sound` (`default`, left out when silent), `thread-id` (the
    /// chat) and `mutable-content`; next to it Telegram's `custom` and the recipient's
    /// `user_id`.
    pub fn payload(n: &Notification) -> serde_json::Value {
        let (loc_key, loc_args) = loc(n);
        let thread = match (&n.channel, n.sender_id) {
            (Some(c), _) => c.id.to_string(),
            (None, Some(from)) => from.to_string(),
            (None, None) => String::new(),
        };
        let mut aps = serde_json::json!({
            "alert": {"loc-key": loc_key, "loc-args": loc_args},
            "thread-id": thread,
            "mutable-content": 1,
        });
        if !n.silent {
            aps["sound"] = "default".into();
        }
        serde_json::json!({
            "aps": aps,
            "custom": custom(n),
            "user_id": n.user_id.to_string(),
        })
    }

    /// The provider token in use, or a new one when it is [`TOKEN_LIFETIME`] old.
    fn provider_token(&self) -> Result<String, PushError> {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, made)) = cached.as_ref() {
            if made.elapsed() < TOKEN_LIFETIME {
                return Ok(token.clone());
            }
        }
        let token = self
            .key
            .provider_token(unix_seconds())
            .map_err(|e| PushError::Permanent(format!("signing the APNs token: {e}")))?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// Drops the provider token if it is still `used`.
    fn forget_token(&self, used: &str) {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if cached.as_ref().is_some_and(|(t, _)| t == used) {
            *cached = None;
        }
    }

    async fn send(&self, device: &Target, body: &str, token: &str) -> Outcome {
        let host = if self.sandbox_only || device.app_sandbox {
            &self.sandbox
        } else {
            &self.production
        };
        let expiration = unix_seconds() + EXPIRATION;
        let response = match self
            .client
            .post(format!("{host}/3/device/{}", device.token))
            .bearer_auth(token)
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-expiration", expiration.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Done(Err(PushError::Temporary(format!(
                    "APNs: {}",
                    transport_error(e)
                ))));
            }
        };
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        let reason = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|j| j["reason"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if status == 403 && reason == "ExpiredProviderToken" {
            return Outcome::ExpiredToken;
        }
        Outcome::Done(classify(status, &reason, wait, device))
    }
}

/// What an APNs answer means.
fn classify(
    status: u16,
    reason: &str,
    wait: Option<Duration>,
    device: &Target,
) -> Result<(), PushError> {
    if status == 200 {
        return Ok(());
    }
    let why = format!("APNs: HTTP {status} {reason}");
    if status == 410 || (status == 400 && reason == "BadDeviceToken") {
        return Err(PushError::Unregistered {
            device: device.clone(),
            reason: why,
        });
    }
    Err(match (status, wait) {
        (429 | 500..=599, Some(retry_after)) => PushError::Throttled {
            reason: why,
            retry_after,
        },
        (429 | 500..=599, None) => PushError::Temporary(why),
        _ => PushError::Permanent(why),
    })
}

/// An APNs device token: hexadecimal digits.
fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl PushProvider for ApnsPush {
    /// One attempt per device of `n` (the [`Pusher`](crate::push::Pusher) gives it one);
    /// a 403 `ExpiredProviderToken` makes a new provider token and tries once more.
    fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
        Box::pin(async move {
            let body = Self::payload(n).to_string();
            for device in &n.devices {
                if !valid_token(&device.token) {
                    // What APNs would answer, without asking it.
                    return Err(PushError::Unregistered {
                        device: device.clone(),
                        reason: "APNs: the token is not hexadecimal (BadDeviceToken)".into(),
                    });
                }
                let token = self.provider_token()?;
                if let Outcome::Done(result) = self.send(device, &body, &token).await {
                    result?;
                    continue;
                }
                self.forget_token(&token);
                let token = self.provider_token()?;
                match self.send(device, &body, &token).await {
                    Outcome::Done(result) => result?,
                    Outcome::ExpiredToken => {
                        return Err(PushError::Permanent(
                            "APNs: ExpiredProviderToken with a new token (is the clock right?)"
                                .into(),
                        ));
                    }
                }
            }
            Ok(())
        })
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn split(&self, n: Notification) -> Vec<Notification> {
        super::per_device(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Target {
        Target {
            token_type: 1,
            token: "ab01".into(),
            app_sandbox: false,
        }
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, "", None, &device()), Ok(()));
        for (status, reason) in [(410, "Unregistered"), (400, "BadDeviceToken")] {
            assert!(
                matches!(
                    classify(status, reason, None, &device()),
                    Err(PushError::Unregistered { device: d, .. }) if d == device()
                ),
                "{status}"
            );
        }
        assert!(matches!(
            classify(429, "TooManyRequests", None, &device()),
            Err(PushError::Temporary(_))
        ));
        assert!(matches!(
            classify(
                503,
                "ServiceUnavailable",
                Some(Duration::from_secs(1)),
                &device()
            ),
            Err(PushError::Throttled { .. })
        ));
        assert_eq!(
            classify(400, "DeviceTokenNotForTopic", None, &device()),
            Err(PushError::Permanent(
                "APNs: HTTP 400 DeviceTokenNotForTopic".into()
            ))
        );
        assert!(matches!(
            classify(403, "InvalidProviderToken", None, &device()),
            Err(PushError::Permanent(_))
        ));
    }

    #[test]
    fn tokens_and_keys_are_checked() {
        assert!(valid_token("0123abcdEF"));
        assert!(!valid_token(""));
        assert!(!valid_token("ab/../x"));
        assert!(ApnsKey::from_pem(b"not a key", "K", "T").is_err());
    }

    #[test]
    fn the_payload_is_telegram_like() {
        let mut n = super::super::tests::notification();
        let p = ApnsPush::payload(&n);
        assert_eq!(p["aps"]["alert"]["loc-key"], "MESSAGE_TEXT");
        assert_eq!(
            p["aps"]["alert"]["loc-args"],
            serde_json::json!(["Anna", "hi"])
        );
        assert_eq!(p["aps"]["sound"], "default");
        assert_eq!(p["aps"]["thread-id"], "1");
        assert_eq!(p["custom"]["msg_id"], "7");
        n.silent = true;
        assert!(ApnsPush::payload(&n)["aps"].get("sound").is_none());
    }
}
