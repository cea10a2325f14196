//! Real push and SMS providers (cargo feature `providers`): [`fcm`] (Android, FCM HTTP v1),
//! [`apns`] (Apple, HTTP/2 with token auth), [`twilio`] (Twilio's Messages API) and
//! [`http_sms`] (any HTTP API through a request template). Their flags:
//! [`provider_flags`](crate::provider_flags).
//!
//! Each makes one attempt per call; the [`Pusher`](crate::push::Pusher) and the
//! [`SmsQueue`](crate::sms::SmsQueue) retry temporary failures with backoff, waiting at
//! least what a `Retry-After` header asks. Every base URL can be replaced (tests run local
//! endpoints). Nothing here logs message text, tokens or login codes.
//!
//! This module also holds what the push providers share: the HTTPS client and the
//! Telegram-like content of a notification ([`loc`], [`custom`]).

pub mod apns;
pub mod fcm;
pub mod http_sms;
pub mod twilio;

use crate::provider_error::ProviderError;
use crate::push::Notification;
use std::time::Duration;

/// The longest one request may take, connecting and reading the answer included.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// An HTTPS client (rustls, the system's root certificates): no redirects, bounded by
/// [`TIMEOUT`]; HTTP/2 only when `h2_only` (APNs; over `http://` that is HTTP/2 without TLS,
/// "prior knowledge", which local test endpoints speak).
pub(crate) fn client(h2_only: bool) -> Result<reqwest::Client, ProviderError> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("server-kit/", env!("CARGO_PKG_VERSION")));
    if h2_only {
        builder = builder.http2_prior_knowledge();
    }
    builder.build().map_err(|e| ProviderError::Invalid {
        what: "HTTP client".into(),
        why: e.to_string(),
    })
}

/// `url` without a trailing `/`, checked to be `http://` or `https://` with a host.
pub(crate) fn base_url(flag: &str, url: &str) -> Result<String, ProviderError> {
    let invalid = |why: &str| ProviderError::Invalid {
        what: format!("{flag} {url:?}"),
        why: why.into(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("expected http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// A transport failure, described without the URL (it may carry a code or a token).
pub(crate) fn transport_error(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// The wait a `Retry-After` header asks for, in seconds (the HTTP-date form is not used by
/// these services and is ignored: the backoff decides then).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One notification per device of `n` (for services that take one device per request).
pub(crate) fn per_device(n: Notification) -> Vec<Notification> {
    if n.devices.len() < 2 {
        return vec![n];
    }
    n.devices
        .iter()
        .map(|d| Notification {
            devices: vec![d.clone()],
            ..n.clone()
        })
        .collect()
}

/// Telegram's localization key and arguments for a notification, as its apps expect them:
///
/// | message | key | arguments |
/// | --- | --- | --- |
/// | private | `MESSAGE_TEXT` / `MESSAGE_NOTEXT` | sender, text |
/// | megagroup | `CHAT_MESSAGE_TEXT` / `CHAT_MESSAGE_NOTEXT` | sender, group title, text |
/// | broadcast channel | `CHANNEL_MESSAGE_TEXT` / `CHANNEL_MESSAGE_NOTEXT` | channel title, text |
///
/// The text is the notification's preview: what the webhook gets too. Without it (the
/// recipient turned previews off) the `NOTEXT` key is used and the text left out.
pub fn loc(n: &Notification) -> (&'static str, Vec<String>) {
    let text = (!n.preview.is_empty()).then(|| n.preview.clone());
    let (key, mut args) = match &n.channel {
        None => ("MESSAGE", vec![n.sender_name.clone()]),
        Some(c) if c.broadcast => ("CHANNEL_MESSAGE", vec![c.title.clone()]),
        Some(c) => ("CHAT_MESSAGE", vec![n.sender_name.clone(), c.title.clone()]),
    };
    let key = match (key, &text) {
        ("MESSAGE", Some(_)) => "MESSAGE_TEXT",
        ("MESSAGE", None) => "MESSAGE_NOTEXT",
        ("CHANNEL_MESSAGE", Some(_)) => "CHANNEL_MESSAGE_TEXT",
        ("CHANNEL_MESSAGE", None) => "CHANNEL_MESSAGE_NOTEXT",
        (_, Some(_)) => "CHAT_MESSAGE_TEXT",
        (_, None) => "CHAT_MESSAGE_NOTEXT",
    };
    args.extend(text);
    (key, args)
}

/// Telegram's `custom` object: which chat and message the notification is about, ids as
/// strings (`msg_id`, and `from_id` for a private message or `channel_id` (and `from_id` in
/// a megagroup) for a channel post).
pub fn custom(n: &Notification) -> serde_json::Value {
    let mut custom = serde_json::Map::new();
    custom.insert("msg_id".into(), n.message_id.to_string().into());
    if let Some(c) = &n.channel {
        custom.insert("channel_id".into(), c.id.to_string().into());
    }
    if let Some(from) = n.sender_id {
        custom.insert("from_id".into(), from.to_string().into());
    }
    serde_json::Value::Object(custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::{ChannelOrigin, Target};

    pub(crate) fn notification() -> Notification {
        Notification {
            user_id: 2,
            devices: vec![Target {
                token_type: 2,
                token: "tok".into(),
                app_sandbox: false,
            }],
            sender_id: Some(1),
            sender_name: "Anna".into(),
            channel: None,
            message_id: 7,
            date: 1_700_000_000,
            preview: "hi".into(),
            silent: false,
        }
    }

    #[test]
    fn keys_and_arguments_follow_telegram() {
        let mut n = notification();
        assert_eq!(loc(&n), ("MESSAGE_TEXT", vec!["Anna".into(), "hi".into()]));
        assert_eq!(
            custom(&n),
            serde_json::json!({"msg_id": "7", "from_id": "1"})
        );
        n.preview.clear();
        assert_eq!(loc(&n), ("MESSAGE_NOTEXT", vec!["Anna".into()]));
        n.channel = Some(ChannelOrigin {
            id: 1_000_000,
            title: "Club".into(),
            broadcast: false,
        });
        assert_eq!(
            loc(&n),
            ("CHAT_MESSAGE_NOTEXT", vec!["Anna".into(), "Club".into()])
        );
        n.preview = "yo".into();
        assert_eq!(
            loc(&n),
            (
                "CHAT_MESSAGE_TEXT",
                vec!["Anna".into(), "Club".into(), "yo".into()]
            )
        );
        n.sender_id = None;
        n.channel = Some(ChannelOrigin {
            id: 1_000_000,
            title: "News".into(),
            broadcast: true,
        });
        assert_eq!(
            loc(&n),
            ("CHANNEL_MESSAGE_TEXT", vec!["News".into(), "yo".into()])
        );
        assert_eq!(
            custom(&n),
            serde_json::json!({"msg_id": "7", "channel_id": "1000000"})
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            base_url("--x", "https://fcm.googleapis.com/").unwrap(),
            "https://fcm.googleapis.com"
        );
        assert!(base_url("--x", "http://127.0.0.1:9/").is_ok());
        for bad in ["ftp://x", "fcm.googleapis.com", "", "https://"] {
            assert!(base_url("--x", bad).is_err(), "{bad}");
        }
    }
}
