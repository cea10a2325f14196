//! Push devices and notification settings in SQLite: see [`server_kit_store::devices`].

use crate::{SqliteStore, db, via};
use rusqlite::{OptionalExtension, Row, params};
use server_kit_store::StoreError;
use server_kit_store::devices::*;
use server_kit_store::rows::{self, DEVICE_COLUMNS, SETTINGS_COLUMNS};
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

fn device_from_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    via(r, rows::device_at)
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
                    s.sound.as_ref().map(NotifySound::to_json),
                    s.stories_muted,
                    s.stories_hide_sender,
                    s.stories_sound.as_ref().map(NotifySound::to_json)
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
                |r| via(r, rows::settings_at),
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
                rows::prefixed(DEVICE_COLUMNS, "d")
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
                rows::prefixed(SETTINGS_COLUMNS, "s")
            ))?;
            let rows = stmt.query_map(
                params![channel, channel_kind, default_kind, default_peer],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        crate::via_at(r, rows::settings_at, 2)?,
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
