//! Firebase Cloud Messaging, HTTP v1 API: notifications for devices registered with token
//! type 2.
//!
//! Authentication is Google's service-account flow: a JWT signed (RS256) with the account's
//! private key (`iss` = its `client_email`, `scope` = [`SCOPE`], `aud` = its `token_uri`,
//! valid one hour) is traded at `token_uri` (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`)
//! for an OAuth2 access token. The token is kept and reused until [`REFRESH_MARGIN`] before it
//! expires, and fetched again at once when FCM answers 401.
//!
//! Each device is one `POST {base}/v1/projects/{project_id}/messages:send` of a data message
//! ([`FcmPush::message`]). FCM's answers: 2xx delivered; 404 or `UNREGISTERED` forgets the
//! device ([`PushError::Unregistered`]); 429 and 5xx are retried (after `Retry-After` when
//! given); the rest are final.

use super::{base_url, client, custom, loc, retry_after, transport_error, unix_seconds};
use crate::provider_error::ProviderError;
use crate::push::{Notification, PushError, PushProvider, RetryPolicy, Target};
use crate::rpc::BoxFuture;
use std::path::Path;
use std::time::{Duration, Instant};

/// The token type FCM serves (`account.registerDevice`).
pub const TOKEN_TYPE: i32 = 2;
/// The OAuth2 scope of sending messages.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// FCM's base URL.
pub const DEFAULT_URL: &str = "https://fcm.googleapis.com";
/// An access token is fetched again this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How long the signed assertion is valid (Google's maximum).
pub const ASSERTION_LIFETIME: u64 = 3600;

/// The fields of a service-account JSON key file that signing in needs.
#[derive(Clone)]
pub struct ServiceAccount {
    /// The Firebase project.
    pub project_id: String,
    /// The account's address (the JWT's `iss`).
    pub client_email: String,
    /// Where assertions are traded for access tokens (the JWT's `aud`).
    pub token_uri: String,
    /// The key's id (the JWT header's `kid`), when the file has it.
    pub private_key_id: Option<String>,
    key: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a service-account JSON key file.
    pub fn load(path: &Path) -> Result<Self, ProviderError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProviderError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text).map_err(|e| match e {
            ProviderError::Invalid { why, .. } => ProviderError::Invalid {
                what: format!("service account {}", path.display()),
                why,
            },
            other => other,
        })
    }

    /// Parses the JSON of a service-account key: `project_id`, `client_email`,
    /// `private_key` (PEM), `token_uri` (default Google's), `private_key_id` (optional).
    pub fn from_json(text: &str) -> Result<Self, ProviderError> {
        Self::parse(text).map_err(|why| ProviderError::Invalid {
            what: "service account".into(),
            why,
        })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let field = |name: &str| {
            json.get(name)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let need = |name: &str| field(name).ok_or_else(|| format!("no {name:?}"));
        if let Some(kind) = field("type") {
            if kind != "service_account" {
                return Err(format!("type {kind:?}, expected \"service_account\""));
            }
        }
        let pem = need("private_key")?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("private_key is not an RSA key in PEM: {e}"))?;
        Ok(ServiceAccount {
            project_id: need("project_id")?,
            client_email: need("client_email")?,
            token_uri: field("token_uri")
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            private_key_id: field("private_key_id"),
            key,
        })
    }

    /// The signed assertion (RS256 JWT) to trade for an access token, issued at `now`.
    pub fn assertion(&self, now: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.private_key_id.clone();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

/// An OAuth2 access token and when it stops working.
#[derive(Debug, Clone)]
struct AccessToken {
    value: String,
    expires: Instant,
}

/// Sends notifications through FCM (see the [module docs](self)).
pub struct FcmPush {
    account: ServiceAccount,
    client: reqwest::Client,
    send_url: String,
    token: tokio::sync::Mutex<Option<AccessToken>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for FcmPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmPush")
            .field("account", &self.account)
            .field("send_url", &self.send_url)
            .finish_non_exhaustive()
    }
}

/// Whether a delivery ended, or needs a new access token first.
enum Outcome {
    Done(Result<(), PushError>),
    Unauthorized,
}

impl FcmPush {
    /// A provider signing in as `account` and sending to `base` (normally [`DEFAULT_URL`]).
    pub fn new(account: ServiceAccount, base: &str) -> Result<Self, ProviderError> {
        let base = base_url("--fcm-url", base)?;
        base_url("token_uri", &account.token_uri)?;
        let send_url = format!("{base}/v1/projects/{}/messages:send", account.project_id);
        Ok(FcmPush {
            account,
            client: client(false)?,
            send_url,
            token: tokio::sync::Mutex::new(None),
            retry: RetryPolicy::default(),
        })
    }

    /// Retries as `policy` says instead of [`RetryPolicy::default`].
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The Firebase project.
    pub fn project_id(&self) -> &str {
        &self.account.project_id
    }

    /// The FCM message for one device: a data message (all values strings, as FCM wants)
    /// with Telegram's fields: `loc_key`, `loc_args` (a JSON array), `custom` (a JSON
    /// object, see [`custom`]), `user_id`, `date`, `silent` (`"1"` or
    /// `"0"`); high priority on Android.
    pub fn message(n: &Notification, token: &str) -> serde_json::Value {
        let (loc_key, loc_args) = loc(n);
        serde_json::json!({
            "message": {
                "token": token,
                "data": {
                    "loc_key": loc_key,
                    "loc_args": serde_json::Value::from(loc_args).to_string(),
                    "custom": custom(n).to_string(),
                    "user_id": n.user_id.to_string(),
                    "date": n.date.to_string(),
                    "silent": if n.silent { "1" } else { "0" },
                },
                "android": {"priority": "high"},
            }
        })
    }

    /// The cached access token, or a new one when there is none or it is about to expire.
    async fn access_token(&self) -> Result<String, PushError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.expires > Instant::now() + REFRESH_MARGIN {
                return Ok(token.value.clone());
            }
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Drops the cached token if it is still `used` (another delivery may have replaced it).
    async fn forget_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == used) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<AccessToken, PushError> {
        let assertion = self
            .account
            .assertion(unix_seconds())
            .map_err(|e| PushError::Permanent(format!("signing the FCM assertion: {e}")))?;
        let started = Instant::now();
        let response = self
            .client
            .post(&self.account.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| PushError::Temporary(format!("FCM token: {}", transport_error(e))))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let reason = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|j| j.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_default();
            let reason = format!("FCM token endpoint: HTTP {status} {reason}");
            return Err(match (status, wait) {
                (429 | 500..=599, Some(retry_after)) => PushError::Throttled {
                    reason,
                    retry_after,
                },
                (408 | 429 | 500..=599, None) => PushError::Temporary(reason),
                _ => PushError::Permanent(reason),
            });
        }
        let json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| PushError::Temporary(format!("FCM token endpoint: not JSON: {e}")))?;
        let value = json
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PushError::Temporary("FCM token endpoint: no access_token".into()))?;
        let lifetime = json
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(3600);
        Ok(AccessToken {
            value: value.to_owned(),
            expires: started + Duration::from_secs(lifetime),
        })
    }

    async fn send(&self, body: &str, token: &str, device: &Target) -> Outcome {
        let response = match self
            .client
            .post(&self.send_url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Done(Err(PushError::Temporary(format!(
                    "FCM: {}",
                    transport_error(e)
                ))));
            }
        };
        let status = response.status().as_u16();
        if status == 401 {
            return Outcome::Unauthorized;
        }
        let wait = retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        Outcome::Done(classify(status, wait, &body, device))
    }
}

/// FCM's error: its `status` and the `errorCode` of its FcmError detail.
fn error_names(body: &[u8]) -> (String, Option<String>) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error = &json["error"];
    let status = error["status"].as_str().unwrap_or_default().to_owned();
    let code = error["details"].as_array().and_then(|details| {
        details
            .iter()
            .find_map(|d| d["errorCode"].as_str().map(str::to_owned))
    });
    (status, code)
}

/// What an answer of messages:send means.
fn classify(
    status: u16,
    wait: Option<Duration>,
    body: &[u8],
    device: &Target,
) -> Result<(), PushError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let (name, code) = error_names(body);
    let reason = format!("FCM: HTTP {status} {}", code.as_deref().unwrap_or(&name));
    if status == 404 || code.as_deref() == Some("UNREGISTERED") {
        return Err(PushError::Unregistered {
            device: device.clone(),
            reason,
        });
    }
    Err(match (status, wait) {
        (429 | 500..=599, Some(retry_after)) => PushError::Throttled {
            reason,
            retry_after,
        },
        (408 | 429 | 500..=599, None) => PushError::Temporary(reason),
        _ => PushError::Permanent(reason),
    })
}

impl PushProvider for FcmPush {
    /// One attempt per device of `n` (the [`Pusher`](crate::push::Pusher) gives it one,
    /// see [`split`](PushProvider::split)); a 401 fetches a new access token and tries once
    /// more.
    fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
        Box::pin(async move {
            for device in &n.devices {
                let body = Self::message(n, &device.token).to_string();
                let token = self.access_token().await?;
                if let Outcome::Done(result) = self.send(&body, &token, device).await {
                    result?;
                    continue;
                }
                self.forget_token(&token).await;
                let token = self.access_token().await?;
                match self.send(&body, &token, device).await {
                    Outcome::Done(result) => result?,
                    Outcome::Unauthorized => {
                        return Err(PushError::Permanent(
                            "FCM: HTTP 401 with a new access token".into(),
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
            token_type: 2,
            token: "tok".into(),
            app_sandbox: false,
        }
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, None, b"{}", &device()), Ok(()));
        let unregistered = br#"{"error": {"code": 404, "status": "NOT_FOUND", "details": [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
             "errorCode": "UNREGISTERED"}]}}"#;
        assert!(matches!(
            classify(404, None, unregistered, &device()),
            Err(PushError::Unregistered { device: d, .. }) if d == device()
        ));
        let bad = br#"{"error": {"status": "INVALID_ARGUMENT", "details": [
            {"errorCode": "UNREGISTERED"}]}}"#;
        assert!(matches!(
            classify(400, None, bad, &device()),
            Err(PushError::Unregistered { .. })
        ));
        assert_eq!(
            classify(429, Some(Duration::from_secs(2)), b"", &device()),
            Err(PushError::Throttled {
                reason: "FCM: HTTP 429 ".into(),
                retry_after: Duration::from_secs(2)
            })
        );
        assert!(matches!(
            classify(503, None, b"", &device()),
            Err(PushError::Temporary(_))
        ));
        let invalid = br#"{"error": {"status": "INVALID_ARGUMENT"}}"#;
        assert_eq!(
            classify(400, None, invalid, &device()),
            Err(PushError::Permanent(
                "FCM: HTTP 400 INVALID_ARGUMENT".into()
            ))
        );
    }

    #[test]
    fn service_accounts_are_checked() {
        assert!(ServiceAccount::parse("nope").is_err());
        let no_key = r#"{"type": "service_account", "project_id": "p",
            "client_email": "a@p.iam.gserviceaccount.com"}"#;
        assert_eq!(
            ServiceAccount::parse(no_key).unwrap_err(),
            "no \"private_key\""
        );
        let bad_key = r#"{"project_id": "p", "client_email": "a@b", "private_key": "x"}"#;
        assert!(
            ServiceAccount::parse(bad_key)
                .unwrap_err()
                .starts_with("private_key is not an RSA key")
        );
        let wrong_type = r#"{"type": "authorized_user"}"#;
        assert!(matches!(
            ServiceAccount::from_json(wrong_type),
            Err(ProviderError::Invalid { .. })
        ));
    }

    #[test]
    fn the_message_carries_telegram_fields_as_strings() {
        let n = super::super::tests::notification();
        let m = FcmPush::message(&n, "tok");
        assert_eq!(m["message"]["token"], "tok");
        let data = &m["message"]["data"];
        assert_eq!(data["loc_key"], "MESSAGE_TEXT");
        assert_eq!(data["loc_args"], r#"["Anna","hi"]"#);
        let custom: serde_json::Value =
            serde_json::from_str(data["custom"].as_str().unwrap()).unwrap();
        assert_eq!(custom, serde_json::json!({"from_id": "1", "msg_id": "7"}));
        assert_eq!(data["user_id"], "2");
        assert_eq!(data["silent"], "0");
        assert!(
            data.as_object()
                .unwrap()
                .values()
                .all(serde_json::Value::is_string)
        );
        assert_eq!(m["message"]["android"]["priority"], "high");
    }
}
