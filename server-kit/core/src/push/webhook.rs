//! The webhook push provider (feature `webhook`): notifications POSTed as JSON.

use super::{BoxFuture, Notification, PushError, PushProvider, RetryPolicy, classify_status};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A webhook URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push webhook URL {url:?}: {reason}")]
pub struct WebhookUrlError {
    /// The URL given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// POSTs each notification as JSON ([`Notification::to_json`]) to an `http://` URL, for a
/// gateway that forwards it to APNS, FCM or web push. A 2xx answer is success; 408, 425,
/// 429, 5xx and transport failures are retried (by default 5 attempts with exponential
/// backoff, see [`RetryPolicy::default`]); other answers, redirects included, are final.
///
/// The HTTP client is `ureq` (blocking, small, no TLS compiled in: put the gateway on the
/// same host or network, or behind a local TLS-terminating proxy), run on tokio's blocking
/// pool with at most [`WebhookPush::MAX_IN_FLIGHT`] requests at once, each bounded by a
/// timeout.
pub struct WebhookPush {
    url: String,
    agent: ureq::Agent,
    retry: RetryPolicy,
    in_flight: Arc<Semaphore>,
}

impl std::fmt::Debug for WebhookPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookPush")
            .field("url", &self.url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl WebhookPush {
    /// Requests running at once (the rest wait their turn).
    pub const MAX_IN_FLIGHT: usize = 4;
    /// The longest one request may take, connecting and reading the answer included.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    /// A provider posting to `url` (`http://host[:port]/path`).
    pub fn new(url: &str) -> Result<Self, WebhookUrlError> {
        let error = |reason| WebhookUrlError {
            url: url.to_owned(),
            reason,
        };
        let uri: ureq::http::Uri = url.parse().map_err(|_| error("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(error(
                    "https is not built in; use http:// (a local TLS-terminating proxy can \
                     forward it)",
                ));
            }
            _ => return Err(error("the URL must start with http://")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(error("the URL has no host"));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Self::TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("server-kit/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(WebhookPush {
            url: url.to_owned(),
            agent,
            retry: RetryPolicy::default(),
            in_flight: Arc::new(Semaphore::new(Self::MAX_IN_FLIGHT)),
        })
    }

    /// Retries as `policy` says instead of [`RetryPolicy::default`].
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The URL it posts to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn post(agent: &ureq::Agent, url: &str, body: String) -> Result<(), PushError> {
    match agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
    {
        Ok(mut response) => {
            // Read (a bounded amount of) the answer so the connection can be reused.
            let _ = response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec();
            classify_status(response.status().as_u16())
        }
        Err(e) => Err(PushError::Temporary(e.to_string())),
    }
}

impl PushProvider for WebhookPush {
    fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
        let body = n.to_json().to_string();
        Box::pin(async move {
            let _permit = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| PushError::Permanent("shutting down".into()))?;
            let agent = self.agent.clone();
            let url = self.url.clone();
            tokio::task::spawn_blocking(move || post(&agent, &url, body))
                .await
                .unwrap_or_else(|e| Err(PushError::Temporary(format!("request task: {e}"))))
        })
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_checked() {
        assert!(WebhookPush::new("http://127.0.0.1:8080/push").is_ok());
        assert!(WebhookPush::new("http://gateway/").is_ok());
        for bad in [
            "https://example.com/",
            "ftp://x/",
            "127.0.0.1:80",
            "",
            "http://",
        ] {
            assert!(WebhookPush::new(bad).is_err(), "{bad}");
        }
    }
}
