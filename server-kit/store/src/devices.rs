//! Push-notification devices of users (`account.registerDevice`) and their notification
//! settings (`account.updateNotifySettings`).
//!
//! A device is kept per (user, token type, token): several accounts on one phone register
//! the same token, each for itself. Each row remembers the auth key that registered it, so
//! that a device whose authorization was logged out or reset is not notified any more
//! (see server-kit's `push` module).
//!
//! Notification settings are kept per (user, [`NotifyScope`]): one peer, or the default of a
//! kind of chat. A peer's own settings win field by field over the default of its kind
//! ([`NotifySettings::or`]). A channel post reads the settings of every member with a
//! device in one query ([`DeviceStore::channel_push_recipients`]), after the post committed:
//! posting itself writes nothing per member.

use crate::StoreError;

/// The most devices a user keeps; registering one more forgets the oldest.
pub const MAX_DEVICES_PER_USER: usize = 32;

/// A device registered for push notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Whose device.
    pub user_id: i64,
    /// The auth key (authorization) that registered it.
    pub key_id: i64,
    /// The push service (1 APNS, 2 FCM, ... 10 Web push, ... 13 Huawei).
    pub token_type: i32,
    /// The token the push service gave the device.
    pub token: String,
    /// Use the push service's sandbox (APNS development).
    pub app_sandbox: bool,
    /// The client asked not to get silent background notifications.
    pub no_muted: bool,
    /// The key the client wants notifications encrypted with (FCM, APNS VoIP), or empty.
    pub secret: Vec<u8>,
    /// The other users signed in on the same client.
    pub other_uids: Vec<i64>,
    /// When it was registered (Unix seconds).
    pub date: i32,
}

/// Whose notifications a setting is about (the `InputNotifyPeer` of
/// `account.updateNotifySettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotifyScope {
    /// The private chat with one user (`inputNotifyPeer` with a user).
    User(i64),
    /// One basic group (`inputNotifyPeer` with a chat).
    Chat(i64),
    /// One channel or megagroup (`inputNotifyPeer` with a channel).
    Channel(i64),
    /// The default of private chats (`inputNotifyUsers`).
    Users,
    /// The default of groups and megagroups (`inputNotifyChats`).
    Chats,
    /// The default of broadcast channels (`inputNotifyBroadcasts`).
    Broadcasts,
}

impl NotifyScope {
    /// The (kind, peer) columns a scope is stored under.
    pub fn columns(self) -> (i64, i64) {
        match self {
            NotifyScope::User(id) => (1, id),
            NotifyScope::Chat(id) => (2, id),
            NotifyScope::Channel(id) => (3, id),
            NotifyScope::Users => (4, 0),
            NotifyScope::Chats => (5, 0),
            NotifyScope::Broadcasts => (6, 0),
        }
    }

    /// The default scope a peer's kind falls back to (itself for a default scope).
    pub fn default_of(self, broadcast: bool) -> NotifyScope {
        match self {
            NotifyScope::User(_) | NotifyScope::Users => NotifyScope::Users,
            NotifyScope::Chat(_) | NotifyScope::Chats => NotifyScope::Chats,
            NotifyScope::Channel(_) if broadcast => NotifyScope::Broadcasts,
            NotifyScope::Channel(_) => NotifyScope::Chats,
            NotifyScope::Broadcasts => NotifyScope::Broadcasts,
        }
    }
}

/// A notification sound (`NotificationSound`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifySound {
    /// The app's default sound.
    Default,
    /// No sound.
    None,
    /// A sound that ships with the app.
    Local {
        /// Its title.
        title: String,
        /// The app's name for it.
        data: String,
    },
    /// A ringtone the user saved (a document id).
    Ringtone(i64),
}

impl NotifySound {
    /// The JSON text a sound is stored as.
    pub fn to_json(&self) -> String {
        match self {
            NotifySound::Default => serde_json::json!("default"),
            NotifySound::None => serde_json::json!("none"),
            NotifySound::Local { title, data } => serde_json::json!({"local": [title, data]}),
            NotifySound::Ringtone(id) => serde_json::json!({ "ringtone": id }),
        }
        .to_string()
    }

    /// The inverse of [`to_json`](Self::to_json); `None` for text it never writes.
    pub fn from_json(text: &str) -> Option<NotifySound> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        match &value {
            serde_json::Value::String(s) if s == "default" => Some(NotifySound::Default),
            serde_json::Value::String(s) if s == "none" => Some(NotifySound::None),
            serde_json::Value::Object(map) => {
                if let Some(id) = map.get("ringtone") {
                    return id.as_i64().map(NotifySound::Ringtone);
                }
                let local = map.get("local")?.as_array()?;
                match local.as_slice() {
                    [title, data] => Some(NotifySound::Local {
                        title: title.as_str()?.to_owned(),
                        data: data.as_str()?.to_owned(),
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// unset too, the app's own default (previews shown, with sound, not muted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    /// Show the message text in notifications.
    pub show_previews: Option<bool>,
    /// Notify without sound.
    pub silent: Option<bool>,
    /// Muted until then (Unix seconds; `i32::MAX`: for ever; past: not muted).
    pub mute_until: Option<i32>,
    /// The sound.
    pub sound: Option<NotifySound>,
    /// Stories muted.
    pub stories_muted: Option<bool>,
    /// Story notifications leave out who posted.
    pub stories_hide_sender: Option<bool>,
    /// The sound of story notifications.
    pub stories_sound: Option<NotifySound>,
}

impl NotifySettings {
    /// No field set (the same as never set).
    pub fn is_empty(&self) -> bool {
        *self == NotifySettings::default()
    }

    /// These settings, with each field they leave unset taken from `default`.
    pub fn or(&self, default: &NotifySettings) -> NotifySettings {
        NotifySettings {
            show_previews: self.show_previews.or(default.show_previews),
            silent: self.silent.or(default.silent),
            mute_until: self.mute_until.or(default.mute_until),
            sound: self.sound.clone().or_else(|| default.sound.clone()),
            stories_muted: self.stories_muted.or(default.stories_muted),
            stories_hide_sender: self.stories_hide_sender.or(default.stories_hide_sender),
            stories_sound: self
                .stories_sound
                .clone()
                .or_else(|| default.stories_sound.clone()),
        }
    }

    /// Muted at `now` (Unix seconds).
    pub fn muted_at(&self, now: i32) -> bool {
        self.mute_until.is_some_and(|until| until > now)
    }
}

/// A channel member who can get push notifications: their devices and their settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecipient {
    /// The member.
    pub user_id: i64,
    /// Their devices, oldest first (never empty).
    pub devices: Vec<Device>,
    /// Their settings for the channel itself, if set.
    pub peer: Option<NotifySettings>,
    /// Their default for the channel's kind, if set.
    pub default: Option<NotifySettings>,
}

impl PushRecipient {
    /// The settings that apply: the channel's own, then the default of its kind.
    pub fn effective(&self) -> NotifySettings {
        self.peer
            .clone()
            .unwrap_or_default()
            .or(&self.default.clone().unwrap_or_default())
    }
}

/// Device and notification-settings storage.
pub trait DeviceStore {
    /// Registers a device, replacing the same (user, token type, token); when the user then
    /// has more than [`MAX_DEVICES_PER_USER`], the oldest are forgotten.
    fn register_device(&self, device: &Device) -> Result<(), StoreError>;
    /// Forgets a device of a user; `false` if it was not registered.
    fn unregister_device(
        &self,
        user_id: i64,
        token_type: i32,
        token: &str,
    ) -> Result<bool, StoreError>;
    /// A user's devices, oldest first.
    fn devices(&self, user_id: i64) -> Result<Vec<Device>, StoreError>;

    /// Stores a user's settings for `scope`, replacing what was there (as
    /// `account.updateNotifySettings` does: a field left unset is reset); settings with no
    /// field set are forgotten.
    fn set_notify_settings(
        &self,
        user_id: i64,
        scope: NotifyScope,
        settings: &NotifySettings,
    ) -> Result<(), StoreError>;
    /// A user's settings for `scope`; `None` if never set (or reset).
    fn notify_settings(
        &self,
        user_id: i64,
        scope: NotifyScope,
    ) -> Result<Option<NotifySettings>, StoreError>;
    /// The members of a channel who have at least one device, by user id, each with the
    /// settings for [`NotifyScope::Channel`] of this channel and for `default` (the default
    /// of its kind). One read, whatever the member count; nothing is written.
    fn channel_push_recipients(
        &self,
        channel: i64,
        default: NotifyScope,
    ) -> Result<Vec<PushRecipient>, StoreError>;
}
