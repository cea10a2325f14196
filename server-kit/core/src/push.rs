//! Push notifications for users who are not online.
//!
//! After a commit the services hand the new messages to this module, and return: finding
//! who gets a notification runs as a background *job* (at most [`MAX_JOBS`] at a time, more
//! are dropped with a warning), so neither the sender's RPC nor the posting path waits for it
//! or writes anything per recipient.
//!
//! - A private message (`notify_offline`): its recipient, if they have no session with a
//!   live connection and have registered devices (`account.registerDevice`).
//! - A post in a broadcast channel or a megagroup (`notify_channel_post`): every member
//!   with a device and no online session, except the author, found with one read of the
//!   store ([`DeviceStore::channel_push_recipients`](crate::store::DeviceStore)).
//!
//! The recipient's notification settings (`account.updateNotifySettings`) decide what goes
//! out ([`presentation`]): the peer's own settings, each unset field taken from the default
//! of its kind (`inputNotifyUsers` for private chats, `inputNotifyBroadcasts` for broadcast
//! channels, `inputNotifyChats` for megagroups). A peer **muted** (`mute_until` in the
//! future) gets **no** notification at all (not even a silent one: nothing would be shown,
//! and the client catches up with getDifference when it opens); `silent` sends it marked
//! `"silent": true` (the gateway shows it without sound); `show_previews = false` sends it
//! with an empty `preview` (no message text).
//!
//! The [`Pusher`] owns what every provider would otherwise repeat: running deliveries in the
//! background, a bound on how many may be pending, and retrying temporary failures with
//! exponential backoff (with jitter) as the provider's [`RetryPolicy`] says. A
//! [`PushProvider`] only makes one delivery attempt and says whether a failure is worth
//! retrying (and how long the service asked to wait, [`PushError::Throttled`]), or that the
//! service no longer knows the device ([`PushError::Unregistered`]): the Pusher then forgets
//! it in the store. Two ship here: [`LogPush`] (the default: one log line) and
//! [`WebhookPush`] (a JSON POST to a configured `http://` URL, for a gateway that talks to
//! APNS/FCM). FCM and APNs themselves are in the module `providers` (feature `providers`),
//! and [`RoutedPush`](crate::push_routing::RoutedPush) gives each device the provider of its
//! token type.
//!
//! Deliveries live in memory. A graceful shutdown ([`serve_until`](crate::gateway::serve_until))
//! waits for the running jobs and pending deliveries, retries included, until its deadline
//! ([`Pusher::idle`]); what is still pending then, or when the process is killed, is lost and
//! the count logged (the messages themselves are not: clients fetch them with getDifference).

use crate::BoxFuture;
use crate::store::devices::{Device, NotifySettings};
use crate::store::{Db, MediaRef, Message, Store};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[cfg(feature = "webhook")]
mod webhook;
#[cfg(feature = "webhook")]
pub use webhook::{WebhookPush, WebhookUrlError};

/// The longest text preview, in characters (a longer text is cut and ends with `…`).
pub const PREVIEW_CHARS: usize = 100;

/// How many notifications may be pending (being delivered or waiting for a retry) at once.
/// Past that, a private message's notification is dropped with a warning, and a channel job
/// waits for room (it runs in the background: nothing else waits for it).
pub const MAX_PENDING: usize = 4096;

/// How many jobs (finding the recipients of a message or a post, and queueing their
/// notifications) may run or wait at once; past that, new ones are dropped with a warning.
pub const MAX_JOBS: usize = 64;

/// A device a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The push service (1 APNS, 2 FCM, ... 10 Web push, ... 13 Huawei).
    pub token_type: i32,
    /// The device's token with that service.
    pub token: String,
    /// Use the service's sandbox.
    pub app_sandbox: bool,
}

impl From<Device> for Target {
    fn from(d: Device) -> Self {
        Target {
            token_type: d.token_type,
            token: d.token,
            app_sandbox: d.app_sandbox,
        }
    }
}

/// The channel a notification's message was posted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOrigin {
    /// The channel's id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// A broadcast channel (otherwise a megagroup).
    pub broadcast: bool,
}

/// A new message for a user with no online session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The recipient.
    pub user_id: i64,
    /// The recipient's devices.
    pub devices: Vec<Target>,
    /// Who wrote the message; `None` for a post in a broadcast channel, which members see as
    /// from the channel (its author is not told).
    pub sender_id: Option<i64>,
    /// The name the recipient sees it from: the sender's first and last name, or the
    /// channel's title for a broadcast post.
    pub sender_name: String,
    /// The channel, for a post in a channel or megagroup (`None`: a private message).
    pub channel: Option<ChannelOrigin>,
    /// The message's id in the recipient's box (for a channel: in the channel).
    pub message_id: i32,
    /// When it was sent (Unix seconds).
    pub date: i32,
    /// The start of the text ([`PREVIEW_CHARS`] at most); empty when the recipient turned
    /// previews off for this chat.
    pub preview: String,
    /// Show it without sound (the recipient's `silent` setting).
    pub silent: bool,
}

impl Notification {
    /// The JSON a webhook receives:
    ///
    /// ```json
    /// {"user_id": 100001,
    ///  "devices": [{"token_type": 2, "token": "…", "app_sandbox": false}],
    ///  "sender_id": 100000, "sender_name": "Anna", "channel": null,
    ///  "message_id": 7, "date": 1700000000, "preview": "hello", "silent": false}
    /// ```
    ///
    /// For a channel post `channel` is `{"id": 1000000, "title": "News", "broadcast": true}`
    /// (and `sender_id` is `null` in a broadcast channel). The devices' encryption secrets
    /// are not sent.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "user_id": self.user_id,
            "devices": self.devices.iter().map(|d| serde_json::json!({
                "token_type": d.token_type,
                "token": d.token,
                "app_sandbox": d.app_sandbox,
            })).collect::<Vec<_>>(),
            "sender_id": self.sender_id,
            "sender_name": self.sender_name,
            "channel": self.channel.as_ref().map(|c| serde_json::json!({
                "id": c.id,
                "title": c.title,
                "broadcast": c.broadcast,
            })),
            "message_id": self.message_id,
            "date": self.date,
            "preview": self.preview,
            "silent": self.silent,
        })
    }
}

/// The preview of a message: its text cut to [`PREVIEW_CHARS`], or what it carries when it
/// has no text.
pub fn preview(message: &Message) -> String {
    preview_of(&message.text, message.media)
}

/// The preview of a text with (maybe) media attached; see [`preview`].
pub fn preview_of(text: &str, media: Option<MediaRef>) -> String {
    let text = text.trim();
    if text.is_empty() {
        return match media {
            Some(MediaRef::Document(_)) => "[file]".into(),
            Some(MediaRef::Photo(_)) => "[photo]".into(),
            None => String::new(),
        };
    }
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        out.pop();
        out.push('…');
    }
    out
}

/// How a notification is shown, as the recipient's settings say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presentation {
    /// Without sound.
    pub silent: bool,
    /// With the message text.
    pub show_preview: bool,
}

/// What the recipient's settings for a chat (already merged with the default of its kind,
/// see [`NotifySettings::or`]) make of a notification at `now`: `None` when the chat is
/// muted (no notification at all), otherwise silent or not, with or without the text.
/// Unset fields mean: not muted, with sound, with the text.
pub fn presentation(settings: &NotifySettings, now: i32) -> Option<Presentation> {
    if settings.muted_at(now) {
        return None;
    }
    Some(Presentation {
        silent: settings.silent.unwrap_or(false),
        show_preview: settings.show_previews.unwrap_or(true),
    })
}

/// Why a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// Worth trying again later (connection refused, timeout, HTTP 5xx, 429, ...).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Worth trying again, but not before `retry_after` (the service's `Retry-After`): the
    /// next attempt waits that long or the backoff's wait, whichever is longer. A wait longer
    /// than [`MAX_RETRY_AFTER`] is not waited for: the delivery fails.
    #[error("throttled for {retry_after:?}: {reason}")]
    Throttled {
        /// What the service answered.
        reason: String,
        /// How long it asked to wait.
        retry_after: Duration,
    },
    /// The service no longer knows this device (FCM `UNREGISTERED`, APNs 410): it is not
    /// retried, and the [`Pusher`] forgets the device (`unregister_device`) so that it gets
    /// nothing more. The token stays out of the message.
    #[error("the device is not registered with the service any more: {reason}")]
    Unregistered {
        /// The device.
        device: Target,
        /// What the service answered.
        reason: String,
    },
    /// Trying again will not help (HTTP 4xx, a redirect, ...).
    #[error("failure: {0}")]
    Permanent(String),
}

/// The longest `Retry-After` a delivery waits for (see [`PushError::Throttled`]).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how patiently a provider's deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 1,
        first_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// The wait after failed attempt `attempt` (1-based) before the next one, before jitter:
    /// `first_delay * 2^(attempt-1)`, at most `max_delay`.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

impl Default for RetryPolicy {
    /// 5 attempts, waiting 0.5, 1, 2 and 4 s between them (about 7.5 s in all, plus the
    /// attempts themselves).
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Delivers notifications somewhere (a push gateway, APNS/FCM, a log).
///
/// The design splits one attempt from the rest: [`deliver`](Self::deliver) makes one attempt
/// and returns a future; the [`Pusher`] runs it on a background task, bounds how many are
/// pending, and calls it again after a [`PushError::Temporary`] as
/// [`retry_policy`](Self::retry_policy) says. So a provider is just "send this once", async
/// (blocking clients go through `spawn_blocking`), and no provider can make an RPC wait.
pub trait PushProvider: Send + Sync + 'static {
    /// One delivery attempt.
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), PushError>>;

    /// How temporary failures are retried (default: they are not).
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::NONE
    }

    /// The deliveries a notification makes, each attempted and retried on its own (default:
    /// one, with all the devices). A service that takes one device per request (FCM, APNs)
    /// splits it per device, so that a retry for one device does not send again to the others,
    /// and a [`PushError::Unregistered`] names the device it is about.
    fn split(&self, notification: Notification) -> Vec<Notification> {
        vec![notification]
    }

    /// How temporary failures of this notification (one of [`split`](Self::split)'s) are
    /// retried (default: [`retry_policy`](Self::retry_policy)); a provider that routes
    /// devices to others answers with the policy of the one serving it.
    fn retry_policy_for(&self, notification: &Notification) -> RetryPolicy {
        let _ = notification;
        self.retry_policy()
    }
}

/// Writes one log line per notification (the default provider; for development). The text
/// and the tokens stay out of the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogPush;

impl PushProvider for LogPush {
    fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
        tracing::info!(
            user_id = n.user_id,
            devices = n.devices.len(),
            sender_id = n.sender_id,
            channel_id = n.channel.as_ref().map(|c| c.id),
            message_id = n.message_id,
            silent = n.silent,
            "push notification"
        );
        Box::pin(async { Ok(()) })
    }
}

/// Whether an HTTP status means delivered, try again, or give up.
pub fn classify_status(status: u16) -> Result<(), PushError> {
    match status {
        200..=299 => Ok(()),
        408 | 425 | 429 | 500..=599 => Err(PushError::Temporary(format!("HTTP {status}"))),
        _ => Err(PushError::Permanent(format!("HTTP {status}"))),
    }
}

/// Spreads a wait over 75–125 % of itself, so that deliveries that failed together do not
/// all come back at the same moment.
fn jitter(wait: Duration) -> Duration {
    let r = f64::from(crate::os::random_array::<1>()[0]) / 255.0;
    wait.mul_f64(0.75 + 0.5 * r)
}

/// Delivers one notification through `provider`, retrying temporary failures as its
/// [`RetryPolicy`] says; the number of attempts it took, or the last error.
pub async fn deliver_with_retries(
    provider: &dyn PushProvider,
    notification: &Notification,
) -> Result<u32, PushError> {
    let policy = provider.retry_policy_for(notification);
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        match provider.deliver(notification).await {
            Ok(()) => return Ok(attempt),
            Err(PushError::Temporary(e)) if attempt < attempts => {
                let wait = jitter(policy.delay_after(attempt));
                tracing::debug!(
                    user_id = notification.user_id,
                    attempt,
                    "push delivery failed ({e}), retrying in {wait:?}"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(PushError::Throttled {
                reason,
                retry_after,
            }) if attempt < attempts && retry_after <= MAX_RETRY_AFTER => {
                let wait = jitter(policy.delay_after(attempt)).max(retry_after);
                tracing::debug!(
                    user_id = notification.user_id,
                    attempt,
                    "push delivery throttled ({reason}), retrying in {wait:?}"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Counts a notification's `outcome` ([`crate::stats::PUSH_NOTIFICATIONS`]).
fn push_outcome(outcome: &'static str) {
    metrics::counter!(crate::stats::PUSH_NOTIFICATIONS, "outcome" => outcome).increment(1);
}

/// Runs a provider's deliveries in the background (see the [module docs](self)).
pub struct Pusher {
    provider: Arc<dyn PushProvider>,
    pending: Arc<Semaphore>,
    jobs: Arc<Semaphore>,
    /// Where devices the service reports as unregistered are forgotten.
    store: Option<Db<dyn Store>>,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("pending", &self.pending())
            .field("jobs", &(MAX_JOBS - self.jobs.available_permits()))
            .finish_non_exhaustive()
    }
}

impl Pusher {
    /// Deliveries through `provider`.
    pub fn new(provider: Arc<dyn PushProvider>) -> Self {
        Pusher {
            provider,
            pending: Arc::new(Semaphore::new(MAX_PENDING)),
            jobs: Arc::new(Semaphore::new(MAX_JOBS)),
            store: None,
        }
    }

    /// Forgets in `store` the devices a service reports as unregistered
    /// ([`PushError::Unregistered`]); without it they are only logged.
    pub fn forgetting_in(mut self, store: Db<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Queues a notification and returns at once; `false` if it was dropped (too many
    /// pending, or no tokio runtime to run it on).
    pub fn send(&self, notification: Notification) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("push notification dropped: no async runtime");
            return false;
        };
        let Ok(permit) = self.pending.clone().try_acquire_owned() else {
            tracing::warn!(
                user_id = notification.user_id,
                "push notification dropped: {MAX_PENDING} pending already"
            );
            push_outcome("dropped");
            return false;
        };
        self.deliver(&runtime, permit, notification);
        true
    }

    /// Queues a notification, first waiting while [`MAX_PENDING`] are pending. For
    /// background jobs only: nothing that answers a client may wait here. `false` if it
    /// could not be queued (no tokio runtime).
    pub async fn send_waiting(&self, notification: Notification) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("push notification dropped: no async runtime");
            return false;
        };
        let Ok(permit) = self.pending.clone().acquire_owned().await else {
            return false;
        };
        self.deliver(&runtime, permit, notification);
        true
    }

    fn deliver(
        &self,
        runtime: &tokio::runtime::Handle,
        permit: OwnedSemaphorePermit,
        notification: Notification,
    ) {
        let (provider, store) = (self.provider.clone(), self.store.clone());
        push_outcome("queued");
        runtime.spawn(async move {
            let _permit = permit;
            let mut parts = tokio::task::JoinSet::new();
            for part in provider.split(notification) {
                let provider = provider.clone();
                parts.spawn(async move {
                    let result = deliver_with_retries(provider.as_ref(), &part).await;
                    (part, result)
                });
            }
            while let Some(done) = parts.join_next().await {
                let Ok((part, result)) = done else {
                    continue;
                };
                match result {
                    Ok(attempts) => {
                        push_outcome("delivered");
                        tracing::debug!(
                            user_id = part.user_id,
                            message_id = part.message_id,
                            attempts,
                            "push notification delivered"
                        );
                    }
                    Err(PushError::Unregistered { device, reason }) => {
                        push_outcome("unregistered");
                        tracing::info!(
                            user_id = part.user_id,
                            token_type = device.token_type,
                            "push device forgotten: {reason}"
                        );
                        if let Some(store) = &store {
                            let user = part.user_id;
                            if let Err(e) = store
                                .run(move |s| {
                                    s.unregister_device(user, device.token_type, &device.token)
                                })
                                .await
                            {
                                tracing::warn!(user_id = user, "forgetting a device: {e}");
                            }
                        }
                    }
                    Err(e) => {
                        push_outcome("failed");
                        tracing::warn!(
                            user_id = part.user_id,
                            message_id = part.message_id,
                            "push notification not delivered: {e}"
                        );
                    }
                }
            }
        });
    }

    /// Runs `job` (finding the recipients of a commit and queueing their notifications) on
    /// its own task and returns at once; `false` if it was dropped ([`MAX_JOBS`] running
    /// already, or no tokio runtime).
    pub fn spawn_job(&self, what: &str, job: impl Future<Output = ()> + Send + 'static) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("push job ({what}) dropped: no async runtime");
            return false;
        };
        let Ok(permit) = self.jobs.clone().try_acquire_owned() else {
            tracing::warn!("push job ({what}) dropped: {MAX_JOBS} running already");
            metrics::counter!(crate::stats::PUSH_JOBS, "outcome" => "dropped").increment(1);
            return false;
        };
        metrics::counter!(crate::stats::PUSH_JOBS, "outcome" => "started").increment(1);
        runtime.spawn(async move {
            let _permit = permit;
            job.await;
        });
        true
    }

    /// How many notifications are being delivered or waiting for a retry.
    pub fn pending(&self) -> usize {
        MAX_PENDING - self.pending.available_permits()
    }

    /// How many jobs are running.
    pub fn jobs(&self) -> usize {
        MAX_JOBS - self.jobs.available_permits()
    }

    /// Returns once no job runs and no notification is pending (delivered, or given up
    /// after its retries): what a graceful shutdown waits for, within its deadline. Looks
    /// every [`IDLE_POLL`](Self::IDLE_POLL), so new work is never held up by the wait.
    pub async fn idle(&self) {
        while self.jobs() > 0 || self.pending() > 0 {
            tokio::time::sleep(Self::IDLE_POLL).await;
        }
    }

    /// How often [`idle`](Self::idle) looks.
    pub const IDLE_POLL: Duration = Duration::from_millis(10);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn message(text: &str) -> Message {
        Message {
            owner: 2,
            id: 7,
            peer: 1,
            out: false,
            from_id: 1,
            text: text.into(),
            date: 1_700_000_000,
            edit_date: None,
            random_id: None,
            media: None,
            reply_to: None,
            forward: None,
            pinned: false,
            action: None,
            entities: None,
            reply_markup: None,
        }
    }

    fn notification() -> Notification {
        Notification {
            user_id: 2,
            devices: vec![Target {
                token_type: 2,
                token: "tok".into(),
                app_sandbox: true,
            }],
            sender_id: Some(1),
            sender_name: "Anna".into(),
            channel: None,
            message_id: 7,
            date: 1_700_000_000,
            preview: "hi \"there\"".into(),
            silent: false,
        }
    }

    #[test]
    fn previews_are_short() {
        assert_eq!(preview(&message("  hello ")), "hello");
        let long = "é".repeat(PREVIEW_CHARS + 1);
        let p = preview(&message(&long));
        assert_eq!(p.chars().count(), PREVIEW_CHARS);
        assert!(p.ends_with('…'));
        assert_eq!(
            preview(&message(&"x".repeat(PREVIEW_CHARS))),
            "x".repeat(PREVIEW_CHARS)
        );
        let mut file = message("");
        file.media = Some(MediaRef::Document(5));
        assert_eq!(preview(&file), "[file]");
        file.media = Some(MediaRef::Photo(5));
        assert_eq!(preview(&file), "[photo]");
        file.text = "caption".into();
        assert_eq!(preview(&file), "caption");
    }

    #[test]
    fn the_json_names_the_devices_and_not_their_secrets() {
        let json = notification().to_json();
        assert_eq!(
            json,
            serde_json::json!({
                "user_id": 2,
                "devices": [{"token_type": 2, "token": "tok", "app_sandbox": true}],
                "sender_id": 1,
                "sender_name": "Anna",
                "channel": null,
                "message_id": 7,
                "date": 1_700_000_000,
                "preview": "hi \"there\"",
                "silent": false,
            })
        );
        let mut post = notification();
        post.sender_id = None;
        post.sender_name = "News".into();
        post.channel = Some(ChannelOrigin {
            id: 1_000_000,
            title: "News".into(),
            broadcast: true,
        });
        post.silent = true;
        let json = post.to_json();
        assert_eq!(json["sender_id"], serde_json::Value::Null);
        assert_eq!(
            json["channel"],
            serde_json::json!({"id": 1_000_000, "title": "News", "broadcast": true})
        );
        assert_eq!(json["silent"], true);
    }

    #[test]
    fn settings_decide_what_is_shown() {
        let now = 1_700_000_000;
        let shown = |silent, show_preview| {
            Some(Presentation {
                silent,
                show_preview,
            })
        };
        // Unset: with sound and text.
        assert_eq!(
            presentation(&NotifySettings::default(), now),
            shown(false, true)
        );
        let mut s = NotifySettings {
            mute_until: Some(now + 1),
            ..Default::default()
        };
        assert_eq!(presentation(&s, now), None, "muted");
        s.mute_until = Some(now);
        assert_eq!(presentation(&s, now), shown(false, true), "muted until now");
        s.mute_until = Some(0);
        s.silent = Some(true);
        s.show_previews = Some(false);
        assert_eq!(presentation(&s, now), shown(true, false));
        // The peer's own fields win, the rest come from the default.
        let peer = NotifySettings {
            silent: Some(false),
            ..Default::default()
        };
        let default = NotifySettings {
            silent: Some(true),
            mute_until: Some(i32::MAX),
            ..Default::default()
        };
        assert_eq!(presentation(&peer.or(&default), now), None);
        let unmuted = NotifySettings {
            mute_until: Some(0),
            ..peer
        };
        assert_eq!(presentation(&unmuted.or(&default), now), shown(false, true));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (1..=6)
            .map(|a| p.delay_after(a).as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(p.delay_after(u32::MAX), Duration::from_secs(8));
        let w = jitter(Duration::from_secs(1));
        assert!(w >= Duration::from_millis(750) && w <= Duration::from_millis(1250));
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_status(200), Ok(()));
        assert_eq!(classify_status(204), Ok(()));
        for s in [408, 429, 500, 502, 503] {
            assert!(
                matches!(classify_status(s), Err(PushError::Temporary(_))),
                "{s}"
            );
        }
        for s in [301, 400, 401, 404, 410] {
            assert!(
                matches!(classify_status(s), Err(PushError::Permanent(_))),
                "{s}"
            );
        }
    }

    /// Fails the first `failures` attempts with `error`, then succeeds.
    struct Flaky {
        failures: u32,
        error: PushError,
        calls: AtomicU32,
        seen: Mutex<Vec<Notification>>,
    }

    impl PushProvider for Flaky {
        fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
            Box::pin(async move {
                self.seen.lock().unwrap().push(n.clone());
                let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                if call <= self.failures {
                    Err(self.error.clone())
                } else {
                    Ok(())
                }
            })
        }

        fn retry_policy(&self) -> RetryPolicy {
            RetryPolicy {
                attempts: 3,
                first_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
            }
        }
    }

    fn flaky(failures: u32, error: PushError) -> Flaky {
        Flaky {
            failures,
            error,
            calls: AtomicU32::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }

    #[tokio::test]
    async fn temporary_failures_are_retried_a_bounded_number_of_times() {
        let temporary = PushError::Temporary("503".into());
        let p = flaky(2, temporary.clone());
        assert_eq!(deliver_with_retries(&p, &notification()).await, Ok(3));
        assert_eq!(p.seen.lock().unwrap().len(), 3);
        let p = flaky(3, temporary.clone());
        assert_eq!(
            deliver_with_retries(&p, &notification()).await,
            Err(temporary)
        );
        assert_eq!(p.calls.load(Ordering::SeqCst), 3);
        let permanent = PushError::Permanent("400".into());
        let p = flaky(1, permanent.clone());
        assert_eq!(
            deliver_with_retries(&p, &notification()).await,
            Err(permanent)
        );
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
        // A provider without a policy gets one attempt.
        assert_eq!(deliver_with_retries(&LogPush, &notification()).await, Ok(1));
    }

    #[tokio::test]
    async fn throttled_deliveries_wait_as_asked_within_a_bound() {
        let throttled = PushError::Throttled {
            reason: "429".into(),
            retry_after: Duration::from_millis(200),
        };
        let p = flaky(1, throttled);
        let started = tokio::time::Instant::now();
        assert_eq!(deliver_with_retries(&p, &notification()).await, Ok(2));
        assert!(started.elapsed() >= Duration::from_millis(200));
        let too_long = PushError::Throttled {
            reason: "429".into(),
            retry_after: MAX_RETRY_AFTER + Duration::from_secs(1),
        };
        let p = flaky(1, too_long.clone());
        assert_eq!(
            deliver_with_retries(&p, &notification()).await,
            Err(too_long)
        );
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
    }

    /// Says every device is unregistered, one device per delivery.
    struct Forgotten;

    impl PushProvider for Forgotten {
        fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
            let device = n.devices[0].clone();
            Box::pin(async move {
                Err(PushError::Unregistered {
                    device,
                    reason: "410".into(),
                })
            })
        }

        fn split(&self, n: Notification) -> Vec<Notification> {
            n.devices
                .iter()
                .map(|d| Notification {
                    devices: vec![d.clone()],
                    ..n.clone()
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn unregistered_devices_are_forgotten_in_the_store() {
        let store: Arc<dyn Store> =
            Arc::new(server_kit_sqlite::SqliteStore::in_memory().expect("store"));
        let device = |token: &str| Device {
            user_id: 2,
            key_id: 9,
            token_type: 1,
            token: token.into(),
            app_sandbox: false,
            no_muted: false,
            secret: Vec::new(),
            other_uids: Vec::new(),
            date: 0,
        };
        for token in ["a1", "b2", "c3"] {
            store.register_device(&device(token)).unwrap();
        }
        let pusher = Pusher::new(Arc::new(Forgotten)).forgetting_in(Db(store.clone()));
        let mut n = notification();
        n.devices = vec![Target::from(device("a1")), Target::from(device("b2"))];
        assert!(pusher.send(n));
        for _ in 0..200 {
            if pusher.pending() == 0 && store.devices(2).unwrap().len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let left: Vec<String> = store
            .devices(2)
            .unwrap()
            .into_iter()
            .map(|d| d.token)
            .collect();
        assert_eq!(left, ["c3"]);
    }

    #[tokio::test]
    async fn the_pusher_delivers_in_the_background() {
        let provider = Arc::new(flaky(1, PushError::Temporary("x".into())));
        let pusher = Pusher::new(provider.clone());
        assert!(pusher.send(notification()));
        for _ in 0..200 {
            if pusher.pending() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pusher.pending(), 0);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
        assert_eq!(provider.seen.lock().unwrap()[1], notification());
    }

    #[test]
    fn without_a_runtime_nothing_is_queued() {
        let pusher = Pusher::new(Arc::new(LogPush));
        assert!(!pusher.send(notification()));
        assert!(!pusher.spawn_job("test", async {}));
        assert_eq!(pusher.pending(), 0);
        assert_eq!(pusher.jobs(), 0);
    }

    #[tokio::test]
    async fn jobs_are_bounded() {
        let pusher = Pusher::new(Arc::new(LogPush));
        let gate = Arc::new(Semaphore::new(0));
        for _ in 0..MAX_JOBS {
            let gate = gate.clone();
            assert!(pusher.spawn_job("held", async move {
                let _ = gate.acquire().await;
            }));
        }
        assert_eq!(pusher.jobs(), MAX_JOBS);
        assert!(
            !pusher.spawn_job("one too many", async {}),
            "dropped past the bound"
        );
        gate.add_permits(MAX_JOBS);
        for _ in 0..200 {
            if pusher.jobs() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pusher.jobs(), 0);
        assert!(pusher.spawn_job("after", async {}));
    }

    #[tokio::test]
    async fn a_job_waits_for_room_instead_of_dropping() {
        let provider = Arc::new(flaky(0, PushError::Temporary("x".into())));
        let pusher = Pusher::new(provider.clone());
        // Fill every pending slot with deliveries that are held.
        let held: Vec<_> = (0..MAX_PENDING)
            .map(|_| pusher.pending.clone().try_acquire_owned().unwrap())
            .collect();
        assert!(!pusher.send(notification()), "send drops when full");
        let waiting = pusher.send_waiting(notification());
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut waiting)
                .await
                .is_err(),
            "send_waiting waits while full"
        );
        drop(held);
        assert!(waiting.await);
        for _ in 0..200 {
            if pusher.pending() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    }
}
