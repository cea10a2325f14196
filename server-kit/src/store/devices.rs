//! Push-notification devices of users (`account.registerDevice`) and their notification
//! settings (`account.updateNotifySettings`).
//!
//! A device is kept per (user, token type, token): several accounts on one phone register
//! the same token, each for itself. Each row remembers the auth key that registered it, so
//! that a device whose authorization was logged out or reset is not notified any more
//! (see [`crate::push`]).
//!
//! Notification settings are kept per (user, [`NotifyScope`]): one peer, or the default of a
//! kind of chat. A peer's own settings win field by field over the default of its kind
//! ([`NotifySettings::or`]). A channel post reads the settings of every member with a
//! device in one query ([`DeviceStore::channel_push_recipients`]), after the post committed:
//! posting itself writes nothing per member.

use super::sqlite::db;
use super::{SqliteStore, StoreError};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, Row, ToSql, params};
use std::collections::HashMap;

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices(
    user_id INTEGER NOT NULL, token_type INTEGER NOT NULL, token TEXT NOT NULL,
    key_id INTEGER NOT NULL, app_sandbox INTEGER NOT NULL, no_muted INTEGER NOT NULL,
    secret BLOB NOT NULL, other_uids TEXT NOT NULL, date INTEGER NOT NULL,
    PRIMARY KEY(user_id, token_type, token));
CREATE TABLE IF NOT EXISTS notify_settings(
    user_id INTEGER NOT NULL, kind INTEGER NOT NULL, peer INTEGER NOT NULL,
    show_previews INTEGER, silent INTEGER, mute_until INTEGER, sound TEXT,
    stories_muted INTEGER, stories_hide_sender INTEGER, stories_sound TEXT,
    PRIMARY KEY(user_id, kind, peer));
";

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
    pub(super) fn columns(self) -> (i64, i64) {
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
    pub(super) fn to_json(&self) -> String {
        match self {
            NotifySound::Default => serde_json::json!("default"),
            NotifySound::None => serde_json::json!("none"),
            NotifySound::Local { title, data } => serde_json::json!({"local": [title, data]}),
            NotifySound::Ringtone(id) => serde_json::json!({ "ringtone": id }),
        }
        .to_string()
    }

    pub(super) fn from_json(text: &str) -> Option<NotifySound> {
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

impl ToSql for NotifySound {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_json()))
    }
}

impl FromSql for NotifySound {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        NotifySound::from_json(text).ok_or_else(|| {
            FromSqlError::Other(format!("not a stored notification sound: {text:?}").into())
        })
    }
}

/// A user's notification settings for one [`NotifyScope`] (`peerNotifySettings`). Every
/// field is optional: an unset one follows the default of the peer's kind, and where that is
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

const SETTINGS_COLUMNS: &str =
    "show_previews, silent, mute_until, sound, stories_muted, stories_hide_sender, stories_sound";

/// Settings from 7 columns starting at `at` (in [`SETTINGS_COLUMNS`] order).
fn settings_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<NotifySettings> {
    Ok(NotifySettings {
        show_previews: r.get(at)?,
        silent: r.get(at + 1)?,
        mute_until: r.get(at + 2)?,
        sound: r.get(at + 3)?,
        stories_muted: r.get(at + 4)?,
        stories_hide_sender: r.get(at + 5)?,
        stories_sound: r.get(at + 6)?,
    })
}

const DEVICE_COLUMNS: &str =
    "user_id, token_type, token, key_id, app_sandbox, no_muted, secret, other_uids, date";

fn device_from_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let other_uids: String = r.get(7)?;
    Ok(Device {
        user_id: r.get(0)?,
        token_type: r.get(1)?,
        token: r.get(2)?,
        key_id: r.get(3)?,
        app_sandbox: r.get(4)?,
        no_muted: r.get(5)?,
        secret: r.get(6)?,
        other_uids: other_uids
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect(),
        date: r.get(8)?,
    })
}

impl DeviceStore for SqliteStore {
    fn register_device(&self, d: &Device) -> Result<(), StoreError> {
        let other_uids = d
            .other_uids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.tx(|tx| {
            // A new registration counts as the newest, also when it replaces an older one.
            tx.execute(
                "DELETE FROM devices WHERE user_id = ?1 AND token_type = ?2 AND token = ?3",
                params![d.user_id, d.token_type, d.token],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO devices(user_id, token_type, token, key_id, app_sandbox, no_muted,
                                     secret, other_uids, date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    d.user_id,
                    d.token_type,
                    d.token,
                    d.key_id,
                    d.app_sandbox,
                    d.no_muted,
                    d.secret,
                    other_uids,
                    d.date
                ],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM devices WHERE user_id = ?1 AND rowid NOT IN (
                     SELECT rowid FROM devices WHERE user_id = ?1
                     ORDER BY date DESC, rowid DESC LIMIT ?2)",
                params![d.user_id, MAX_DEVICES_PER_USER as i64],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn unregister_device(
        &self,
        user_id: i64,
        token_type: i32,
        token: &str,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM devices WHERE user_id = ?1 AND token_type = ?2 AND token = ?3",
                params![user_id, token_type, token],
            )
        })
        .map(|n| n > 0)
    }

    fn devices(&self, user_id: i64) -> Result<Vec<Device>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ?1 ORDER BY date, rowid"
            ))?;
            let rows = stmt.query_map([user_id], device_from_row)?;
            rows.collect()
        })
    }

    fn set_notify_settings(
        &self,
        user_id: i64,
        scope: NotifyScope,
        s: &NotifySettings,
    ) -> Result<(), StoreError> {
        let (kind, peer) = scope.columns();
        self.with(|c| {
            if s.is_empty() {
                c.execute(
                    "DELETE FROM notify_settings WHERE user_id = ?1 AND kind = ?2 AND peer = ?3",
                    params![user_id, kind, peer],
                )?;
                return Ok(());
            }
            c.execute(
                &format!(
                    "INSERT OR REPLACE INTO notify_settings(user_id, kind, peer, {SETTINGS_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    user_id,
                    kind,
                    peer,
                    s.show_previews,
                    s.silent,
                    s.mute_until,
                    s.sound,
                    s.stories_muted,
                    s.stories_hide_sender,
                    s.stories_sound
                ],
            )?;
            Ok(())
        })
    }

    fn notify_settings(
        &self,
        user_id: i64,
        scope: NotifyScope,
    ) -> Result<Option<NotifySettings>, StoreError> {
        let (kind, peer) = scope.columns();
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {SETTINGS_COLUMNS} FROM notify_settings
                     WHERE user_id = ?1 AND kind = ?2 AND peer = ?3"
                ),
                params![user_id, kind, peer],
                |r| settings_from_row(r, 0),
            )
            .optional()
        })
    }

    fn channel_push_recipients(
        &self,
        channel: i64,
        default: NotifyScope,
    ) -> Result<Vec<PushRecipient>, StoreError> {
        let (channel_kind, _) = NotifyScope::Channel(channel).columns();
        let (default_kind, default_peer) = default.columns();
        self.with(|c| {
            // Both reads under one lock: the same snapshot of members, devices and settings.
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM channel_members m JOIN devices d ON d.user_id = m.user_id
                 WHERE m.channel = ?1 ORDER BY d.user_id, d.date, d.rowid",
                DEVICE_COLUMNS
                    .split(", ")
                    .map(|col| format!("d.{col}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            let mut out: Vec<PushRecipient> = Vec::new();
            for device in stmt.query_map([channel], device_from_row)? {
                let device = device?;
                match out.last_mut() {
                    Some(last) if last.user_id == device.user_id => last.devices.push(device),
                    _ => out.push(PushRecipient {
                        user_id: device.user_id,
                        devices: vec![device],
                        peer: None,
                        default: None,
                    }),
                }
            }
            if out.is_empty() {
                return Ok(out);
            }
            let index: HashMap<i64, usize> = out
                .iter()
                .enumerate()
                .map(|(i, r)| (r.user_id, i))
                .collect();
            let mut stmt = c.prepare(&format!(
                "SELECT s.user_id, s.kind, {}
                 FROM channel_members m JOIN notify_settings s ON s.user_id = m.user_id
                 WHERE m.channel = ?1
                   AND ((s.kind = ?2 AND s.peer = ?1) OR (s.kind = ?3 AND s.peer = ?4))",
                SETTINGS_COLUMNS
                    .split(", ")
                    .map(|col| format!("s.{col}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            let rows = stmt.query_map(
                params![channel, channel_kind, default_kind, default_peer],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        settings_from_row(r, 2)?,
                    ))
                },
            )?;
            for row in rows {
                let (user, kind, settings) = row?;
                let Some(&i) = index.get(&user) else {
                    continue;
                };
                if kind == channel_kind {
                    out[i].peer = Some(settings);
                } else {
                    out[i].default = Some(settings);
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(user_id: i64, token: &str, date: i32) -> Device {
        Device {
            user_id,
            key_id: 7,
            token_type: 2,
            token: token.into(),
            app_sandbox: false,
            no_muted: false,
            secret: vec![1, 2, 3],
            other_uids: vec![5, -6],
            date,
        }
    }

    #[test]
    fn devices_are_kept_per_user_and_token() {
        let s = SqliteStore::in_memory().unwrap();
        s.register_device(&device(1, "a", 10)).unwrap();
        s.register_device(&device(1, "b", 11)).unwrap();
        // Another user with the same token (two accounts on one phone).
        s.register_device(&device(2, "a", 12)).unwrap();
        assert_eq!(s.devices(1).unwrap().len(), 2);
        assert_eq!(s.devices(1).unwrap()[0], device(1, "a", 10));
        // Registering again replaces the row (and makes it the newest).
        let mut again = device(1, "a", 13);
        again.key_id = 8;
        again.app_sandbox = true;
        again.other_uids = Vec::new();
        s.register_device(&again).unwrap();
        let list = s.devices(1).unwrap();
        assert_eq!(
            list.iter().map(|d| d.token.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(list[1], again);
        // The same token of another push service is another device.
        let mut other_type = device(1, "a", 14);
        other_type.token_type = 1;
        s.register_device(&other_type).unwrap();
        assert_eq!(s.devices(1).unwrap().len(), 3);
        assert!(s.unregister_device(1, 2, "a").unwrap());
        assert!(!s.unregister_device(1, 2, "a").unwrap());
        assert_eq!(s.devices(1).unwrap().len(), 2);
        assert_eq!(s.devices(2).unwrap().len(), 1);
        assert!(s.devices(3).unwrap().is_empty());
    }

    #[test]
    fn the_oldest_devices_go_past_the_limit() {
        let s = SqliteStore::in_memory().unwrap();
        for i in 0..MAX_DEVICES_PER_USER + 3 {
            s.register_device(&device(1, &format!("t{i}"), 100 + i as i32))
                .unwrap();
        }
        let list = s.devices(1).unwrap();
        assert_eq!(list.len(), MAX_DEVICES_PER_USER);
        assert_eq!(list[0].token, "t3");
        assert_eq!(
            list.last().unwrap().token,
            format!("t{}", MAX_DEVICES_PER_USER + 2)
        );
    }

    #[test]
    fn devices_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!(
            "server-kit-devices-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite3");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.register_device(&device(1, "a", 10)).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.devices(1).unwrap(), [device(1, "a", 10)]);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
