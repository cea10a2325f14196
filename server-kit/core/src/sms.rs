//! Where login codes go: the [`SmsProvider`] trait, the development provider that writes
//! them to the log, and [`SmsQueue`], which runs a remote [`SmsGateway`] (Twilio, an HTTP
//! template: the `server-kit` binary's feature `providers`) in the background with retries.
//!
//! `auth.sendCode` stores the code (its expiry and attempt limit are the service's, see
//! `server-kit-reference`'s `services::auth`) and hands it to the provider, which must not
//! make the RPC wait: a gateway's request, and its retries, run on their own task.

use crate::BoxFuture;
use crate::push::RetryPolicy;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Sends login codes.
pub trait SmsProvider: Send + Sync + 'static {
    /// Delivers `code` to `phone` (digits only).
    fn send_code(&self, phone: &str, code: &str);
}

/// Writes codes to the log (development).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSms;

impl SmsProvider for LogSms {
    fn send_code(&self, phone: &str, code: &str) {
        tracing::info!(phone, code, "login code");
    }
}

/// Why a gateway's attempt failed. The messages never carry the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Worth trying again (connection refused, timeout, HTTP 5xx, 429 without a wait).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Worth trying again, not before `retry_after` (the gateway's `Retry-After`).
    #[error("throttled for {retry_after:?}: {reason}")]
    Throttled {
        /// What the gateway answered.
        reason: String,
        /// How long it asked to wait.
        retry_after: Duration,
    },
    /// Trying again will not help (HTTP 4xx: a bad number, bad credentials, ...).
    #[error("failure: {0}")]
    Permanent(String),
}

/// A remote SMS service: one attempt to send one code.
pub trait SmsGateway: Send + Sync + 'static {
    /// Sends `code` to `phone` (digits only, no `+`) once.
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> BoxFuture<'a, Result<(), SmsError>>;

    /// How temporary failures are retried.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }
}

/// Runs a gateway's sends in the background: at most [`SmsQueue::MAX_PENDING`] at once
/// (more are dropped with a warning: the code is stored, the user can ask again), each
/// retried as the gateway's [`RetryPolicy`] says, honouring `Retry-After` up to
/// [`MAX_RETRY_AFTER`](crate::push::MAX_RETRY_AFTER).
pub struct SmsQueue {
    gateway: Arc<dyn SmsGateway>,
    pending: Arc<Semaphore>,
}

impl std::fmt::Debug for SmsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsQueue")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl SmsQueue {
    /// Codes being sent or waiting for a retry, at most.
    pub const MAX_PENDING: usize = 1024;

    /// Sends through `gateway`.
    pub fn new(gateway: Arc<dyn SmsGateway>) -> Self {
        SmsQueue {
            gateway,
            pending: Arc::new(Semaphore::new(Self::MAX_PENDING)),
        }
    }

    /// How many codes are being sent or waiting for a retry.
    pub fn pending(&self) -> usize {
        Self::MAX_PENDING - self.pending.available_permits()
    }
}

/// Sends one code through `gateway`, retrying as its policy says; the attempts it took, or
/// the last error.
pub async fn send_with_retries(
    gateway: &dyn SmsGateway,
    phone: &str,
    code: &str,
) -> Result<u32, SmsError> {
    let policy = gateway.retry_policy();
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        let wait = match gateway.send(phone, code).await {
            Ok(()) => return Ok(attempt),
            Err(SmsError::Temporary(_)) if attempt < attempts => policy.delay_after(attempt),
            Err(SmsError::Throttled { retry_after, .. })
                if attempt < attempts && retry_after <= crate::push::MAX_RETRY_AFTER =>
            {
                policy.delay_after(attempt).max(retry_after)
            }
            Err(e) => return Err(e),
        };
        tracing::debug!(attempt, "SMS not sent, retrying in {wait:?}");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

impl SmsProvider for SmsQueue {
    fn send_code(&self, phone: &str, code: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("login code not sent: no async runtime");
            return;
        };
        let outcome = |outcome: &'static str| {
            metrics::counter!(crate::stats::SMS_DELIVERIES, "outcome" => outcome).increment(1);
        };
        let Ok(permit) = self.pending.clone().try_acquire_owned() else {
            tracing::warn!(
                "login code not sent: {} SMS pending already",
                Self::MAX_PENDING
            );
            outcome("dropped");
            return;
        };
        outcome("queued");
        let pending = metrics::gauge!(crate::stats::SMS_PENDING);
        pending.increment(1);
        let gateway = self.gateway.clone();
        let (phone, code) = (phone.to_owned(), code.to_owned());
        runtime.spawn(async move {
            let _permit = permit;
            match send_with_retries(gateway.as_ref(), &phone, &code).await {
                Ok(attempts) => {
                    outcome("delivered");
                    tracing::debug!(attempts, "login code sent");
                }
                Err(e) => {
                    outcome("failed");
                    tracing::warn!("login code not sent: {e}");
                }
            }
            pending.decrement(1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers with the scripted results in turn, then Ok.
    struct Scripted {
        answers: Mutex<Vec<SmsError>>,
        sent: Mutex<Vec<(String, String, tokio::time::Instant)>>,
    }

    impl SmsGateway for Scripted {
        fn send<'a>(
            &'a self,
            phone: &'a str,
            code: &'a str,
        ) -> BoxFuture<'a, Result<(), SmsError>> {
            self.sent.lock().unwrap().push((
                phone.into(),
                code.into(),
                tokio::time::Instant::now(),
            ));
            let answer = self.answers.lock().unwrap().pop();
            Box::pin(async move { answer.map_or(Ok(()), Err) })
        }

        fn retry_policy(&self) -> RetryPolicy {
            RetryPolicy {
                attempts: 3,
                first_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
            }
        }
    }

    fn scripted(mut answers: Vec<SmsError>) -> Arc<Scripted> {
        answers.reverse();
        Arc::new(Scripted {
            answers: Mutex::new(answers),
            sent: Mutex::new(Vec::new()),
        })
    }

    #[tokio::test]
    async fn retries_wait_for_retry_after_and_stop_at_the_limit() {
        let g = scripted(vec![
            SmsError::Throttled {
                reason: "429".into(),
                retry_after: Duration::from_millis(300),
            },
            SmsError::Temporary("503".into()),
        ]);
        assert_eq!(
            send_with_retries(g.as_ref(), "15550001", "12345").await,
            Ok(3)
        );
        let sent = g.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|(p, c, _)| p == "15550001" && c == "12345"));
        assert!(
            sent[1].2 - sent[0].2 >= Duration::from_millis(300),
            "Retry-After"
        );
        assert!(
            sent[2].2 - sent[1].2 < Duration::from_millis(300),
            "backoff only"
        );

        let g = scripted(vec![SmsError::Permanent("400".into())]);
        assert!(matches!(
            send_with_retries(g.as_ref(), "1", "2").await,
            Err(SmsError::Permanent(_))
        ));
        assert_eq!(g.sent.lock().unwrap().len(), 1);

        let too_long = SmsError::Throttled {
            reason: "429".into(),
            retry_after: crate::push::MAX_RETRY_AFTER + Duration::from_secs(1),
        };
        let g = scripted(vec![too_long.clone()]);
        assert_eq!(send_with_retries(g.as_ref(), "1", "2").await, Err(too_long));

        let temporary = SmsError::Temporary("503".into());
        let g = scripted(vec![temporary.clone(); 3]);
        assert_eq!(
            send_with_retries(g.as_ref(), "1", "2").await,
            Err(temporary)
        );
        assert_eq!(g.sent.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn the_queue_sends_in_the_background() {
        let g = scripted(vec![SmsError::Temporary("503".into())]);
        let queue = SmsQueue::new(g.clone());
        queue.send_code("15550001", "54321");
        for _ in 0..200 {
            if queue.pending() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(queue.pending(), 0);
        assert_eq!(g.sent.lock().unwrap().len(), 2);
    }
}
