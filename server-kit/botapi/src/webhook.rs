//! Webhooks (`setWebhook`): where each bot wants its updates POSTed, kept in memory and, when
//! given a file, in that file (beside the offsets file, replaced whole on each change), so a
//! restarted server goes on delivering; the delivery state `getWebhookInfo` reports; and the
//! HTTP client that POSTs (hyper's, over rustls for `https` URLs).
//!
//! Why a file and not the store: like the confirmed offsets ([`crate::Offsets`]), this is the
//! frontend's own state, read and written by this node only, and the MTProto services never
//! see it.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The header carrying the bot's `secret_token` on each POST.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// How long one POST may take before it counts as failed.
pub const POST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait between retries of a failing webhook.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// `max_connections` when the bot names none (Telegram's default), and the largest.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 40;
/// The largest `max_connections`.
pub const MAX_CONNECTIONS: u32 = 100;

/// One bot's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where updates are POSTed.
    pub url: String,
    /// Sent as [`SECRET_HEADER`] (none: no header).
    pub secret_token: Option<String>,
    /// The update kinds wanted (empty: the default ones).
    pub allowed_updates: Vec<String>,
    /// As the bot set it (updates of one bot are delivered one at a time, in order).
    pub max_connections: u32,
}

/// What the last deliveries of a bot's webhook met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// When a POST last failed (Unix seconds).
    pub last_error_date: Option<i32>,
    /// Why.
    pub last_error_message: Option<String>,
}

/// A webhook file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("bot api webhooks {path}: {reason}")]
pub struct WebhooksError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// Every bot's webhook, and the client that POSTs to them.
pub struct Webhooks {
    hooks: Mutex<HashMap<i64, Webhook>>,
    delivery: Mutex<HashMap<i64, Delivery>>,
    file: Option<PathBuf>,
    /// One write at a time.
    writing: Arc<Mutex<()>>,
    /// `None` when TLS could not be set up (logged; every POST then fails).
    client: Option<Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Self::with(HashMap::new(), None)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Webhooks {
    fn with(hooks: HashMap<i64, Webhook>, file: Option<PathBuf>) -> Self {
        Webhooks {
            hooks: Mutex::new(hooks),
            delivery: Mutex::new(HashMap::new()),
            file,
            writing: Arc::default(),
            client: https_client(),
        }
    }

    /// Webhooks kept in `path` (read now if it exists).
    pub fn load(path: &Path) -> Result<Self, WebhooksError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(WebhooksError {
                    path: path.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let hooks = parse(&text).map_err(|reason| WebhooksError {
            path: path.to_owned(),
            reason,
        })?;
        Ok(Self::with(hooks, Some(path.to_owned())))
    }

    /// The bot's webhook, if set.
    pub fn get(&self, bot: i64) -> Option<Webhook> {
        lock(&self.hooks).get(&bot).cloned()
    }

    /// Every bot with a webhook.
    pub fn bots(&self) -> Vec<i64> {
        lock(&self.hooks).keys().copied().collect()
    }

    /// Sets (`Some`) or removes the bot's webhook and saves the file; a change of URL
    /// forgets the last error.
    pub async fn set(&self, bot: i64, hook: Option<Webhook>) {
        let url_changed = {
            let mut hooks = lock(&self.hooks);
            let before = hooks.get(&bot).map(|h| h.url.clone());
            match &hook {
                Some(hook) => hooks.insert(bot, hook.clone()),
                None => hooks.remove(&bot),
            };
            before != hook.map(|h| h.url)
        };
        if url_changed {
            lock(&self.delivery).remove(&bot);
        }
        self.save().await;
    }

    /// What the bot's last deliveries met.
    pub fn delivery(&self, bot: i64) -> Delivery {
        lock(&self.delivery).get(&bot).cloned().unwrap_or_default()
    }

    /// Records a failed delivery.
    pub fn failed(&self, bot: i64, date: i32, message: String) {
        lock(&self.delivery).insert(
            bot,
            Delivery {
                last_error_date: Some(date),
                last_error_message: Some(message),
            },
        );
    }

    /// POSTs `body` (JSON) to the webhook; `Err` with what went wrong unless the receiver
    /// answered 2xx within [`POST_TIMEOUT`].
    pub async fn post(&self, hook: &Webhook, body: Vec<u8>) -> Result<(), String> {
        let mut request =
            hyper::Request::post(&hook.url).header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(secret) = &hook.secret_token {
            request = request.header(SECRET_HEADER, secret);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("bad webhook URL: {e}"))?;
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| "no TLS configuration".to_owned())?;
        let response = tokio::time::timeout(POST_TIMEOUT, client.request(request))
            .await
            .map_err(|_| "Read timeout expired".to_owned())?
            .map_err(|e| format!("Connection failed: {e}"))?;
        let status = response.status();
        // Read the (small) answer so the connection can be reused.
        let _ = tokio::time::timeout(POST_TIMEOUT, response.into_body().collect()).await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "Wrong response from the webhook: {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ))
        }
    }

    /// Writes the current webhooks to the file (if any), off the async threads; a failure is
    /// logged.
    async fn save(&self) {
        let Some(path) = self.file.clone() else {
            return;
        };
        let text = format_hooks(&lock(&self.hooks));
        let writing = self.writing.clone();
        let written = tokio::task::spawn_blocking(move || {
            let _one = lock(&writing);
            let temporary = path.with_extension("new");
            std::fs::write(&temporary, text)?;
            std::fs::rename(&temporary, &path)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("bot api: writing the webhooks: {e}"),
            Err(e) => tracing::warn!("bot api: writing the webhooks: {e}"),
        }
    }
}

/// The webhook client: https with the system's roots (ring, whatever other providers the
/// process links), plain http for receivers on a private network; `None` (logged) if TLS
/// cannot be set up.
fn https_client() -> Option<Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider) {
            Ok(builder) => builder,
            Err(e) => {
                tracing::warn!("bot api webhooks: no TLS (system root certificates: {e})");
                return None;
            }
        };
    let https = builder.https_or_http().enable_http1().build();
    Some(Client::builder(TokioExecutor::new()).build(https))
}

/// The file's text: one JSON object, bot id to webhook.
fn format_hooks(hooks: &HashMap<i64, Webhook>) -> String {
    let mut ids: Vec<&i64> = hooks.keys().collect();
    ids.sort();
    let mut object = Map::new();
    for id in ids {
        let hook = &hooks[id];
        object.insert(
            id.to_string(),
            json!({
                "url": hook.url,
                "secret_token": hook.secret_token,
                "allowed_updates": hook.allowed_updates,
                "max_connections": hook.max_connections,
            }),
        );
    }
    Value::Object(object).to_string()
}

/// The inverse of [`format_hooks`]; an empty file has none.
fn parse(text: &str) -> Result<HashMap<i64, Webhook>, String> {
    if text.trim().is_empty() {
        return Ok(HashMap::new());
    }
    let Value::Object(object) = serde_json::from_str::<Value>(text).map_err(|e| e.to_string())?
    else {
        return Err("not a JSON object".into());
    };
    object
        .into_iter()
        .map(|(id, hook)| {
            let id: i64 = id.parse().map_err(|_| format!("bot id {id:?}"))?;
            let url = hook["url"]
                .as_str()
                .ok_or_else(|| format!("bot {id}: no url"))?
                .to_owned();
            let allowed_updates = hook["allowed_updates"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let hook = Webhook {
                url,
                secret_token: hook["secret_token"].as_str().map(str::to_owned),
                allowed_updates,
                max_connections: hook["max_connections"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            };
            Ok((id, hook))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn webhooks_survive_in_their_file() {
        let dir = std::env::temp_dir().join(format!("botapi-webhooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("webhooks");
        let _ = std::fs::remove_file(&path);
        let hooks = Webhooks::load(&path).unwrap();
        let hook = Webhook {
            url: "https://example.com/hook".into(),
            secret_token: Some("s3cret".into()),
            allowed_updates: vec!["message".into(), "callback_query".into()],
            max_connections: 5,
        };
        hooks.set(100_001, Some(hook.clone())).await;
        hooks.failed(100_001, 42, "boom".into());
        let other = Webhook {
            secret_token: None,
            allowed_updates: Vec::new(),
            ..hook.clone()
        };
        hooks.set(100_002, Some(other.clone())).await;
        let again = Webhooks::load(&path).unwrap();
        assert_eq!(again.get(100_001), Some(hook.clone()));
        assert_eq!(again.get(100_002), Some(other));
        assert_eq!(hooks.delivery(100_001).last_error_date, Some(42));
        hooks.set(100_002, None).await;
        assert_eq!(Webhooks::load(&path).unwrap().get(100_002), None);
        // The same URL again keeps the last error; another forgets it.
        hooks.set(100_001, Some(hook.clone())).await;
        assert_eq!(hooks.delivery(100_001).last_error_date, Some(42));
        let moved = Webhook {
            url: "https://example.com/other".into(),
            ..hook
        };
        hooks.set(100_001, Some(moved)).await;
        assert_eq!(hooks.delivery(100_001), Delivery::default());
        std::fs::write(&path, "[1]").unwrap();
        assert!(Webhooks::load(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
