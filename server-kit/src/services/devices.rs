//! Push-notification devices: `account.registerDevice` and `account.unregisterDevice`.

use super::bool_true;
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Server, unix_now};
use crate::store::devices::Device;
use mtproto_api::functions;
use std::sync::Arc;

/// The devices service.
#[derive(Debug, Clone, Copy)]
pub struct DevicesService;

service!(DevicesService {
    functions::account::RegisterDevice => register_device,
    functions::account::UnregisterDevice => unregister_device,
});

/// The token types Telegram defines (1 APNS, 2 FCM, 3 MPNS, 4 Simple Push, 5 Ubuntu,
/// 6 BlackBerry, 7 MTProto separate session, 8 WNS, 9 APNS VoIP, 10 Web push, 11 MPNS VoIP,
/// 12 Tizen, 13 Huawei).
pub const TOKEN_TYPES: std::ops::RangeInclusive<i32> = 1..=13;
/// Web push: the token is JSON with the endpoint and keys.
pub const TOKEN_TYPE_WEB_PUSH: i32 = 10;
/// The longest token accepted (a web push token with a long endpoint fits easily).
pub const MAX_TOKEN_LENGTH: usize = 4096;
/// The longest encryption secret accepted (Telegram's are 256 bytes).
pub const MAX_SECRET_LENGTH: usize = 256;
/// The most other user ids remembered with a device.
pub const MAX_OTHER_UIDS: usize = 16;

/// Checks a token as Telegram does, with its error names.
pub fn check_token(token_type: i32, token: &str) -> Result<(), RpcError> {
    if !TOKEN_TYPES.contains(&token_type) {
        return Err(RpcError::bad_request("TOKEN_TYPE_INVALID"));
    }
    if token.is_empty() {
        return Err(RpcError::bad_request("TOKEN_EMPTY"));
    }
    if token.len() > MAX_TOKEN_LENGTH || token.chars().any(char::is_control) {
        return Err(RpcError::bad_request("TOKEN_INVALID"));
    }
    if token_type == TOKEN_TYPE_WEB_PUSH {
        check_web_push(token)?;
    }
    Ok(())
}

/// A web push token: `{"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}` with
/// a 65-byte P-256 public key and a 16-byte secret, both base64url.
fn check_web_push(token: &str) -> Result<(), RpcError> {
    let invalid = |name| Err(RpcError::bad_request(name));
    let Ok(json) = serde_json::from_str::<serde_json::Value>(token) else {
        return invalid("WEBPUSH_TOKEN_INVALID");
    };
    let endpoint = json.get("endpoint").and_then(|e| e.as_str());
    if !endpoint.is_some_and(|e| e.starts_with("https://") || e.starts_with("http://")) {
        return invalid("WEBPUSH_TOKEN_INVALID");
    }
    let key = |name| {
        json.get("keys")
            .and_then(|k| k.get(name))
            .and_then(|v| v.as_str())
            .and_then(base64url_len)
    };
    if key("p256dh") != Some(65) {
        return invalid("WEBPUSH_KEY_INVALID");
    }
    if key("auth") != Some(16) {
        return invalid("WEBPUSH_AUTH_INVALID");
    }
    Ok(())
}

/// The decoded length of base64url text (padding optional), or `None` if it is not that.
fn base64url_len(text: &str) -> Option<usize> {
    let data = text.trim_end_matches('=');
    if text.len() - data.len() > 2
        || !data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || data.len() % 4 == 1
    {
        return None;
    }
    Some(data.len() * 3 / 4)
}

async fn register_device(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::account::RegisterDevice,
) -> RpcResult {
    let me = caller.user()?;
    check_token(call.token_type, &call.token)?;
    if call.secret.len() > MAX_SECRET_LENGTH {
        return Err(RpcError::bad_request("TOKEN_INVALID"));
    }
    let mut other_uids = call.other_uids;
    other_uids.retain(|&id| id != me);
    other_uids.sort_unstable();
    other_uids.dedup();
    other_uids.truncate(MAX_OTHER_UIDS);
    let device = Device {
        user_id: me,
        key_id: caller.key_id,
        token_type: call.token_type,
        token: call.token,
        app_sandbox: call.app_sandbox,
        no_muted: call.no_muted,
        secret: call.secret.to_vec(),
        other_uids,
        date: unix_now(),
    };
    server
        .store
        .run(move |s| s.register_device(&device))
        .await?;
    bool_true()
}

async fn unregister_device(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::account::UnregisterDevice,
) -> RpcResult {
    let me = caller.user()?;
    // Telegram names one error here, for every bad token.
    if call.token.is_empty()
        || call.token.len() > MAX_TOKEN_LENGTH
        || !TOKEN_TYPES.contains(&call.token_type)
    {
        return Err(RpcError::bad_request("TOKEN_INVALID"));
    }
    let (token_type, token) = (call.token_type, call.token);
    // Unregistering a device that is not registered is not an error (a client may retry).
    server
        .store
        .run(move |s| s.unregister_device(me, token_type, &token))
        .await?;
    bool_true()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(r: Result<(), RpcError>) -> String {
        r.err().map(|e| e.name).unwrap_or_default()
    }

    #[test]
    fn tokens_are_checked_with_telegrams_names() {
        assert_eq!(name(check_token(2, "fcm-token")), "");
        assert_eq!(name(check_token(2, "")), "TOKEN_EMPTY");
        assert_eq!(name(check_token(0, "x")), "TOKEN_TYPE_INVALID");
        assert_eq!(name(check_token(14, "x")), "TOKEN_TYPE_INVALID");
        assert_eq!(name(check_token(1, "a\nb")), "TOKEN_INVALID");
        assert_eq!(
            name(check_token(1, &"a".repeat(MAX_TOKEN_LENGTH + 1))),
            "TOKEN_INVALID"
        );
    }

    #[test]
    fn web_push_tokens_are_parsed() {
        let key = "B".to_owned() + &"A".repeat(86); // 87 chars: 65 bytes
        let auth = "A".repeat(22); // 16 bytes
        let token = |endpoint: &str, key: &str, auth: &str| {
            serde_json::json!({"endpoint": endpoint, "keys": {"p256dh": key, "auth": auth}})
                .to_string()
        };
        let ok = token("https://push.example/abc", &key, &auth);
        assert_eq!(name(check_token(10, &ok)), "");
        assert_eq!(name(check_token(10, "not json")), "WEBPUSH_TOKEN_INVALID");
        assert_eq!(
            name(check_token(10, &token("mailto:x", &key, &auth))),
            "WEBPUSH_TOKEN_INVALID"
        );
        assert_eq!(
            name(check_token(10, &token("https://p/", "AAAA", &auth))),
            "WEBPUSH_KEY_INVALID"
        );
        assert_eq!(
            name(check_token(10, &token("https://p/", &key, "!!"))),
            "WEBPUSH_AUTH_INVALID"
        );
        // Padding is allowed.
        assert_eq!(
            name(check_token(
                10,
                &token("https://p/", &key, &format!("{auth}=="))
            )),
            ""
        );
    }

    #[test]
    fn base64url_lengths() {
        assert_eq!(base64url_len(""), Some(0));
        assert_eq!(base64url_len("QQ"), Some(1));
        assert_eq!(base64url_len("QQ=="), Some(1));
        assert_eq!(base64url_len("QUI"), Some(2));
        assert_eq!(base64url_len("QUJD"), Some(3));
        assert_eq!(base64url_len("Q"), None);
        assert_eq!(base64url_len("QQ==="), None);
        assert_eq!(base64url_len("a+b/"), None);
    }
}
