//! Push-notification devices (`account.registerDevice`, `account.unregisterDevice`) and
//! notification settings (`account.updateNotifySettings`, `account.getNotifySettings`).
//!
//! Settings are stored per peer (a user or a channel, checked with its access hash) or per
//! default (`inputNotifyUsers` / `inputNotifyChats` / `inputNotifyBroadcasts`). An update
//! replaces the scope's settings as a whole, as Telegram does; settings never set come back
//! as a `peerNotifySettings` with no flags, again as Telegram answers. A stored sound comes
//! back in all three of `ios_sound`, `android_sound` and `other_sound` (each app reads its
//! own). How the settings shape push notifications: see [`crate::push`].

use super::bool_true;
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::devices::{Device, NotifyScope, NotifySettings, NotifySound};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Serialize;

/// The devices service.
#[derive(Debug, Clone, Copy)]
pub struct DevicesService;

service!(DevicesService {
    functions::account::RegisterDevice => register_device,
    functions::account::UnregisterDevice => unregister_device,
    functions::account::UpdateNotifySettings => update_notify_settings,
    functions::account::GetNotifySettings => get_notify_settings,
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
    server: &Arc<Node>,
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
    server: &Arc<Node>,
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

/// The longest title or data of a `notificationSoundLocal`, in bytes.
pub const MAX_SOUND_TEXT: usize = 256;

/// The scope an `InputNotifyPeer` names, with the peer's access hash checked. Forum topics,
/// communities and basic groups (which this server does not have) are `PEER_ID_INVALID`.
async fn scope_of(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputNotifyPeer,
) -> Result<NotifyScope, RpcError> {
    let peer = match peer {
        enums::InputNotifyPeer::InputNotifyUsers => return Ok(NotifyScope::Users),
        enums::InputNotifyPeer::InputNotifyChats => return Ok(NotifyScope::Chats),
        enums::InputNotifyPeer::InputNotifyBroadcasts => return Ok(NotifyScope::Broadcasts),
        enums::InputNotifyPeer::InputNotifyPeer(p) => &p.peer,
        _ => return Err(RpcError::bad_request("PEER_ID_INVALID")),
    };
    match peer {
        enums::InputPeer::InputPeerSelf
        | enums::InputPeer::User(_)
        | enums::InputPeer::UserFromMessage(_) => {
            let user = super::resolve_peer(server, me, peer).await?;
            Ok(NotifyScope::User(user.id))
        }
        enums::InputPeer::Channel(c) => {
            let channel = super::resolve_channel_peer(server, c).await?;
            Ok(NotifyScope::Channel(channel.id))
        }
        enums::InputPeer::ChannelFromMessage(c) => {
            let input = types::InputChannelFromMessage {
                peer: c.peer.clone(),
                msg_id: c.msg_id,
                channel_id: c.channel_id,
            };
            let channel = super::resolve_channel(server, &input.into()).await?;
            Ok(NotifyScope::Channel(channel.id))
        }
        enums::InputPeer::Chat(_) | enums::InputPeer::Empty => {
            Err(RpcError::bad_request("PEER_ID_INVALID"))
        }
    }
}

fn sound_from_tl(sound: enums::NotificationSound) -> Result<NotifySound, RpcError> {
    Ok(match sound {
        enums::NotificationSound::Default => NotifySound::Default,
        enums::NotificationSound::None => NotifySound::None,
        enums::NotificationSound::Local(l) => {
            if l.title.len() > MAX_SOUND_TEXT || l.data.len() > MAX_SOUND_TEXT {
                return Err(RpcError::bad_request("SETTINGS_INVALID"));
            }
            NotifySound::Local {
                title: l.title,
                data: l.data,
            }
        }
        enums::NotificationSound::Ringtone(r) => NotifySound::Ringtone(r.id),
    })
}

fn sound_tl(sound: &NotifySound) -> enums::NotificationSound {
    match sound {
        NotifySound::Default => enums::NotificationSound::Default,
        NotifySound::None => enums::NotificationSound::None,
        NotifySound::Local { title, data } => types::NotificationSoundLocal {
            title: title.clone(),
            data: data.clone(),
        }
        .into(),
        NotifySound::Ringtone(id) => types::NotificationSoundRingtone { id: *id }.into(),
    }
}

/// The stored form of an `InputPeerNotifySettings`.
pub fn settings_from_tl(
    settings: enums::InputPeerNotifySettings,
) -> Result<NotifySettings, RpcError> {
    let enums::InputPeerNotifySettings::InputPeerNotifySettings(s) = settings;
    Ok(NotifySettings {
        show_previews: s.show_previews,
        silent: s.silent,
        mute_until: s.mute_until,
        sound: s.sound.map(sound_from_tl).transpose()?,
        stories_muted: s.stories_muted,
        stories_hide_sender: s.stories_hide_sender,
        stories_sound: s.stories_sound.map(sound_from_tl).transpose()?,
    })
}

/// Settings as clients read them (`peerNotifySettings`); unset fields stay absent, so
/// settings never set are a `peerNotifySettings` with empty flags.
pub fn settings_tl(settings: &NotifySettings) -> enums::PeerNotifySettings {
    let sound = settings.sound.as_ref().map(sound_tl);
    let stories_sound = settings.stories_sound.as_ref().map(sound_tl);
    types::PeerNotifySettings {
        show_previews: settings.show_previews,
        silent: settings.silent,
        mute_until: settings.mute_until,
        ios_sound: sound.clone(),
        android_sound: sound.clone(),
        other_sound: sound,
        stories_muted: settings.stories_muted,
        stories_hide_sender: settings.stories_hide_sender,
        stories_ios_sound: stories_sound.clone(),
        stories_android_sound: stories_sound.clone(),
        stories_other_sound: stories_sound,
    }
    .into()
}

/// The caller's settings for `scope` as clients read them (empty flags when never set), for
/// the `notify_settings` of full users, full channels and dialogs.
pub(crate) async fn stored_settings_tl(
    server: &Arc<Node>,
    me: i64,
    scope: NotifyScope,
) -> Result<enums::PeerNotifySettings, RpcError> {
    let settings = server
        .store
        .run(move |s| s.notify_settings(me, scope))
        .await?
        .unwrap_or_default();
    Ok(settings_tl(&settings))
}

/// The `NotifyPeer` of a scope (in `updateNotifySettings`).
fn notify_peer_tl(scope: NotifyScope) -> enums::NotifyPeer {
    let peer = |peer: enums::Peer| types::NotifyPeer { peer }.into();
    match scope {
        NotifyScope::User(user_id) => peer(types::PeerUser { user_id }.into()),
        NotifyScope::Chat(chat_id) => peer(types::PeerChat { chat_id }.into()),
        NotifyScope::Channel(channel_id) => peer(types::PeerChannel { channel_id }.into()),
        NotifyScope::Users => enums::NotifyPeer::NotifyUsers,
        NotifyScope::Chats => enums::NotifyPeer::NotifyChats,
        NotifyScope::Broadcasts => enums::NotifyPeer::NotifyBroadcasts,
    }
}

async fn update_notify_settings(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::UpdateNotifySettings,
) -> RpcResult {
    let me = caller.user()?;
    let scope = scope_of(server, me, &call.peer).await?;
    let settings = settings_from_tl(call.settings)?;
    let stored = settings.clone();
    server
        .store
        .run(move |s| s.set_notify_settings(me, scope, &stored))
        .await?;
    // The user's other sessions learn the new settings.
    let update = types::UpdateShort {
        update: types::UpdateNotifySettings {
            peer: notify_peer_tl(scope),
            notify_settings: settings_tl(&settings),
        }
        .into(),
        date: unix_now(),
    };
    let update: enums::Updates = update.into();
    server.push_to_user(
        me,
        &update.to_bytes(),
        Some((caller.key_id, caller.session_id)),
    );
    bool_true()
}

async fn get_notify_settings(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::GetNotifySettings,
) -> RpcResult {
    let me = caller.user()?;
    let scope = scope_of(server, me, &call.peer).await?;
    Ok(stored_settings_tl(server, me, scope).await?.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_tl() {
        let input = types::InputPeerNotifySettings {
            show_previews: Some(false),
            silent: Some(true),
            mute_until: Some(i32::MAX),
            sound: Some(
                types::NotificationSoundLocal {
                    title: "Bell".into(),
                    data: "bell".into(),
                }
                .into(),
            ),
            stories_muted: None,
            stories_hide_sender: Some(true),
            stories_sound: Some(enums::NotificationSound::None),
        };
        let stored = settings_from_tl(input.clone().into()).unwrap();
        assert_eq!(stored.mute_until, Some(i32::MAX));
        let enums::PeerNotifySettings::PeerNotifySettings(out) = settings_tl(&stored);
        assert_eq!(out.show_previews, input.show_previews);
        assert_eq!(out.silent, input.silent);
        assert_eq!(out.mute_until, input.mute_until);
        assert_eq!(out.ios_sound, input.sound);
        assert_eq!(out.android_sound, input.sound);
        assert_eq!(out.other_sound, input.sound);
        assert_eq!(out.stories_muted, None);
        assert_eq!(out.stories_hide_sender, Some(true));
        assert_eq!(out.stories_other_sound, input.stories_sound);
        // Unset: no flags at all, as Telegram answers.
        assert_eq!(
            settings_tl(&NotifySettings::default()),
            types::PeerNotifySettings::default().into()
        );
        // An oversized local sound is refused.
        let mut big = input;
        big.sound = Some(
            types::NotificationSoundLocal {
                title: "x".repeat(MAX_SOUND_TEXT + 1),
                data: String::new(),
            }
            .into(),
        );
        assert_eq!(
            settings_from_tl(big.into()).err().map(|e| e.message),
            Some("SETTINGS_INVALID".to_owned())
        );
    }

    fn name(r: Result<(), RpcError>) -> String {
        r.err().map(|e| e.message).unwrap_or_default()
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
