//! Push-notification devices of users (`account.registerDevice`).
//!
//! A device is kept per (user, token type, token): several accounts on one phone register
//! the same token, each for itself. Each row remembers the auth key that registered it, so
//! that a device whose authorization was logged out or reset is not notified any more
//! (see [`crate::push`]).

use super::sqlite::db;
use super::{SqliteStore, StoreError};
use rusqlite::{Row, params};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices(
    user_id INTEGER NOT NULL, token_type INTEGER NOT NULL, token TEXT NOT NULL,
    key_id INTEGER NOT NULL, app_sandbox INTEGER NOT NULL, no_muted INTEGER NOT NULL,
    secret BLOB NOT NULL, other_uids TEXT NOT NULL, date INTEGER NOT NULL,
    PRIMARY KEY(user_id, token_type, token));
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

/// Device storage.
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
}

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
            let mut stmt = c.prepare(
                "SELECT user_id, token_type, token, key_id, app_sandbox, no_muted, secret,
                        other_uids, date
                 FROM devices WHERE user_id = ?1 ORDER BY date, rowid",
            )?;
            let rows = stmt.query_map([user_id], device_from_row)?;
            rows.collect()
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
