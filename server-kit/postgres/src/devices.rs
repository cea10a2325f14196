//! Push devices, notification settings and photos in PostgreSQL.

use super::{PgStore, R, col, via};
use ::postgres::Row;
use server_kit_store::StoreError;
use server_kit_store::devices::{
    Device, DeviceStore, MAX_DEVICES_PER_USER, NotifyScope, NotifySettings, NotifySound,
    PushRecipient,
};
use server_kit_store::photos::{Photo, PhotoStore, decode_sizes, encode_sizes};
use server_kit_store::rows::{self, DEVICE_COLUMNS, SETTINGS_COLUMNS};
use std::collections::HashMap;

/// Settings from the [`SETTINGS_COLUMNS`] starting at `at`.
fn settings_at(r: &Row, at: usize) -> R<NotifySettings> {
    via(r, rows::settings_at, at)
}

fn device_from_row(r: &Row) -> R<Device> {
    via(r, rows::device_at, 0)
}

impl DeviceStore for PgStore {
    fn register_device(&self, d: &Device) -> Result<(), StoreError> {
        self.tx(|tx| {
            // Registering again replaces the row and makes it the newest (a new `seq`).
            tx.execute(
                &format!(
                    "INSERT INTO devices({DEVICE_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT(user_id, token_type, token) DO UPDATE SET
                         key_id = EXCLUDED.key_id, app_sandbox = EXCLUDED.app_sandbox,
                         no_muted = EXCLUDED.no_muted, secret = EXCLUDED.secret,
                         other_uids = EXCLUDED.other_uids, date = EXCLUDED.date,
                         seq = EXCLUDED.seq"
                ),
                &[
                    &d.user_id,
                    &d.token_type,
                    &d.token.as_bytes(),
                    &d.key_id,
                    &d.app_sandbox,
                    &d.no_muted,
                    &d.secret,
                    &d.other_uids,
                    &d.date,
                ],
            )?;
            tx.execute(
                "DELETE FROM devices WHERE user_id = $1 AND seq NOT IN (
                     SELECT seq FROM devices WHERE user_id = $1
                     ORDER BY date DESC, seq DESC LIMIT $2)",
                &[&d.user_id, &(MAX_DEVICES_PER_USER as i64)],
            )?;
            Ok(())
        })
    }

    fn unregister_device(
        &self,
        user_id: i64,
        token_type: i32,
        token: &str,
    ) -> Result<bool, StoreError> {
        self.read(|c| {
            let n = c.execute(
                "DELETE FROM devices WHERE user_id = $1 AND token_type = $2 AND token = $3",
                &[&user_id, &token_type, &token.as_bytes()],
            )?;
            Ok(n > 0)
        })
    }

    fn devices(&self, user_id: i64) -> Result<Vec<Device>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = $1 ORDER BY date, seq"
                ),
                &[&user_id],
            )?
            .iter()
            .map(device_from_row)
            .collect()
        })
    }

    fn set_notify_settings(
        &self,
        user_id: i64,
        scope: NotifyScope,
        s: &NotifySettings,
    ) -> Result<(), StoreError> {
        let (kind, peer) = scope.columns();
        self.read(|c| {
            if s.is_empty() {
                c.execute(
                    "DELETE FROM notify_settings WHERE user_id = $1 AND kind = $2 AND peer = $3",
                    &[&user_id, &kind, &peer],
                )?;
                return Ok(());
            }
            let sound = s.sound.as_ref().map(NotifySound::to_json);
            let stories_sound = s.stories_sound.as_ref().map(NotifySound::to_json);
            c.execute(
                &format!(
                    "INSERT INTO notify_settings(user_id, kind, peer, {SETTINGS_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT(user_id, kind, peer) DO UPDATE SET
                         show_previews = EXCLUDED.show_previews, silent = EXCLUDED.silent,
                         mute_until = EXCLUDED.mute_until, sound = EXCLUDED.sound,
                         stories_muted = EXCLUDED.stories_muted,
                         stories_hide_sender = EXCLUDED.stories_hide_sender,
                         stories_sound = EXCLUDED.stories_sound"
                ),
                &[
                    &user_id,
                    &kind,
                    &peer,
                    &s.show_previews,
                    &s.silent,
                    &s.mute_until,
                    &sound,
                    &s.stories_muted,
                    &s.stories_hide_sender,
                    &stories_sound,
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
        self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {SETTINGS_COLUMNS} FROM notify_settings
                     WHERE user_id = $1 AND kind = $2 AND peer = $3"
                ),
                &[&user_id, &kind, &peer],
            )?
            .map(|r| settings_at(&r, 0))
            .transpose()
        })
    }

    fn channel_push_recipients(
        &self,
        channel: i64,
        default: NotifyScope,
    ) -> Result<Vec<PushRecipient>, StoreError> {
        let (channel_kind, _) = NotifyScope::Channel(channel).columns();
        let (default_kind, default_peer) = default.columns();
        // Both reads in one snapshot: the same members, devices and settings.
        self.snapshot(|c| {
            let mut out: Vec<PushRecipient> = Vec::new();
            for row in c.query(
                &format!(
                    "SELECT {} FROM channel_members m JOIN devices d ON d.user_id = m.user_id
                     WHERE m.channel = $1 ORDER BY d.user_id, d.date, d.seq",
                    rows::prefixed(DEVICE_COLUMNS, "d")
                ),
                &[&channel],
            )? {
                let device = device_from_row(&row)?;
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
            for row in c.query(
                &format!(
                    "SELECT s.user_id, s.kind, {}
                     FROM channel_members m JOIN notify_settings s ON s.user_id = m.user_id
                     WHERE m.channel = $1
                       AND ((s.kind = $2 AND s.peer = $1) OR (s.kind = $3 AND s.peer = $4))",
                    rows::prefixed(SETTINGS_COLUMNS, "s")
                ),
                &[&channel, &channel_kind, &default_kind, &default_peer],
            )? {
                let user: i64 = col(&row, 0)?;
                let kind: i64 = col(&row, 1)?;
                let settings = settings_at(&row, 2)?;
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

impl PhotoStore for PgStore {
    fn insert_photo(&self, p: &Photo) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "INSERT INTO photos(id, access_hash, file_reference, date, sizes)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &p.id,
                    &p.access_hash,
                    &p.file_reference,
                    &p.date,
                    &encode_sizes(&p.sizes),
                ],
            )?;
            Ok(())
        })
    }

    fn photo(&self, id: i64) -> Result<Option<Photo>, StoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT id, access_hash, file_reference, date, sizes FROM photos WHERE id = $1",
                &[&id],
            )?
            .map(|r| {
                Ok(Photo {
                    id: col(&r, 0)?,
                    access_hash: col(&r, 1)?,
                    file_reference: col(&r, 2)?,
                    date: col(&r, 3)?,
                    sizes: decode_sizes(&col::<String>(&r, 4)?),
                })
            })
            .transpose()
        })
    }
}
