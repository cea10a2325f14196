//! Channels in SQLite: see [`server_kit_store::channels`].

use crate::{SqliteStore, db, via};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use server_kit_store::channels::*;
use server_kit_store::rows::{
    self, CHANNEL_COLUMNS, CHANNEL_LOG_COLUMNS, LogColumns, MEMBER_COLUMNS, POST_COLUMNS, join_ids,
};
use server_kit_store::{Extras, Forward, HistoryQuery, MediaRef, ServiceAction, StoreError};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS channels(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, title TEXT NOT NULL,
    about TEXT NOT NULL, broadcast INTEGER NOT NULL, megagroup INTEGER NOT NULL,
    creator INTEGER NOT NULL, username TEXT UNIQUE COLLATE NOCASE, date INTEGER NOT NULL,
    pts INTEGER NOT NULL DEFAULT 0, next_msg_id INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS channel_members(
    channel INTEGER NOT NULL, user_id INTEGER NOT NULL, role INTEGER NOT NULL,
    inviter INTEGER NOT NULL, date INTEGER NOT NULL, read_max_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(channel, user_id));
CREATE INDEX IF NOT EXISTS channel_members_by_user ON channel_members(user_id);
CREATE TABLE IF NOT EXISTS channel_messages(
    channel INTEGER NOT NULL, id INTEGER NOT NULL, from_id INTEGER NOT NULL,
    text TEXT NOT NULL, date INTEGER NOT NULL, edit_date INTEGER, sender INTEGER NOT NULL,
    random_id INTEGER, media_kind INTEGER NOT NULL DEFAULT 0,
    media_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(channel, id));
CREATE UNIQUE INDEX IF NOT EXISTS channel_messages_by_random_id
    ON channel_messages(channel, sender, random_id) WHERE random_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS channel_changes(
    channel INTEGER NOT NULL, pts INTEGER NOT NULL, pts_count INTEGER NOT NULL,
    date INTEGER NOT NULL, kind INTEGER NOT NULL, value INTEGER NOT NULL, ids TEXT NOT NULL,
    PRIMARY KEY(channel, pts));
";

/// The first channel id handed out.
const FIRST_CHANNEL_ID: i64 = 1_000_000;

fn channel_from_row(r: &Row<'_>) -> rusqlite::Result<Channel> {
    via(r, rows::channel_at)
}

fn member_from_row(r: &Row<'_>) -> rusqlite::Result<Member> {
    via(r, rows::member_at)
}

fn post_from_row(r: &Row<'_>) -> rusqlite::Result<ChannelMessage> {
    via(r, rows::post_at)
}

fn get_channel(c: &rusqlite::Connection, id: i64) -> Result<Option<Channel>, StoreError> {
    c.query_row(
        &format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE id = ?1"),
        [id],
        channel_from_row,
    )
    .optional()
    .map_err(db)
}

fn get_post(
    c: &rusqlite::Connection,
    channel: i64,
    id: i32,
) -> Result<Option<ChannelMessage>, StoreError> {
    c.query_row(
        &format!("SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = ?1 AND id = ?2"),
        params![channel, id],
        post_from_row,
    )
    .optional()
    .map_err(db)
}

fn log(
    tx: &Transaction<'_>,
    channel: i64,
    pts_count: i32,
    date: i32,
    change: ChannelChange,
) -> Result<ChannelLogged, StoreError> {
    let pts: i32 = tx
        .query_row(
            "UPDATE channels SET pts = pts + ?2 WHERE id = ?1 RETURNING pts",
            params![channel, pts_count],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?
        .ok_or(StoreError::NotFound { what: "channel" })?;
    let LogColumns {
        kind, value, ids, ..
    } = LogColumns::of_channel(&change);
    let ids = join_ids(&ids);
    tx.execute(
        "INSERT INTO channel_changes(channel, pts, pts_count, date, kind, value, ids)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![channel, pts, pts_count, date, kind, value, ids],
    )
    .map_err(db)?;
    Ok(ChannelLogged {
        channel,
        pts,
        pts_count,
        date,
        change,
    })
}

/// Writes a new post (a service post with `action`) and its log entry. A reply to an id that
/// names no post of the channel is dropped.
#[allow(clippy::too_many_arguments)]
fn insert_post(
    tx: &Transaction<'_>,
    channel: i64,
    from: i64,
    text: &str,
    date: i32,
    random_id: Option<i64>,
    extras: Extras,
    action: Option<ServiceAction>,
) -> Result<Posted, StoreError> {
    let id: i32 = tx
        .query_row(
            "UPDATE channels SET next_msg_id = next_msg_id + 1 WHERE id = ?1
             RETURNING next_msg_id - 1",
            [channel],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?
        .ok_or(StoreError::NotFound { what: "channel" })?;
    let reply_to = match extras.reply_to {
        Some(replied) => get_post(tx, channel, replied)?.map(|p| p.id),
        None => None,
    };
    let (media_kind, media_id) = MediaRef::to_columns(extras.media);
    let (fwd_kind, fwd_id, fwd_post, fwd_date) = Forward::to_columns(extras.forward);
    let (action_kind, action_ids, action_text) = ServiceAction::to_columns(action.as_ref());
    let text = if action.is_some() {
        action_text.as_str()
    } else {
        text
    };
    tx.execute(
        "INSERT INTO channel_messages(channel, id, from_id, text, date, sender, random_id,
                                      media_kind, media_id, reply_to, fwd_kind, fwd_id,
                                      fwd_post, fwd_date, action_kind, action_ids)
         VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            channel,
            id,
            from,
            text,
            date,
            random_id,
            media_kind,
            media_id,
            reply_to,
            fwd_kind,
            fwd_id,
            fwd_post,
            fwd_date,
            action_kind,
            join_ids(&action_ids)
        ],
    )
    .map_err(db)?;
    let entry = log(tx, channel, 1, date, ChannelChange::NewMessage { id })?;
    Ok(Posted {
        message: ChannelMessage {
            channel,
            id,
            from_id: from,
            text: text.to_owned(),
            date,
            edit_date: None,
            media: extras.media,
            reply_to,
            forward: extras.forward,
            pinned: false,
            action,
        },
        entry,
        duplicate: false,
    })
}

impl ChannelStore for SqliteStore {
    fn create_channel(
        &self,
        creator: i64,
        title: &str,
        about: &str,
        broadcast: bool,
        megagroup: bool,
        access_hash: i64,
        date: i32,
    ) -> Result<Channel, StoreError> {
        self.tx(|tx| {
            let id: i64 = tx
                .query_row(
                    "SELECT coalesce(max(id) + 1, ?1) FROM channels",
                    [FIRST_CHANNEL_ID],
                    |r| r.get(0),
                )
                .map_err(db)?;
            tx.execute(
                "INSERT INTO channels(id, access_hash, title, about, broadcast, megagroup, creator,
                                      date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    access_hash,
                    title,
                    about,
                    broadcast,
                    megagroup,
                    creator,
                    date
                ],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO channel_members(channel, user_id, role, inviter, date)
                 VALUES (?1, ?2, ?3, ?2, ?4)",
                params![id, creator, Role::Creator.code(), date],
            )
            .map_err(db)?;
            get_channel(tx, id)?.ok_or(StoreError::NotFound { what: "channel" })
        })
    }

    fn channel(&self, id: i64) -> Result<Option<Channel>, StoreError> {
        self.with(|c| Ok(get_channel(c, id)))?
    }

    fn channel_by_username(&self, username: &str) -> Result<Option<Channel>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE username = ?1"),
                [username],
                channel_from_row,
            )
            .optional()
        })
    }

    fn set_channel_username(&self, id: i64, username: Option<&str>) -> Result<(), StoreError> {
        let updated = self.with(|c| {
            match c.execute(
                "UPDATE channels SET username = ?2 WHERE id = ?1",
                params![id, username],
            ) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Ok(None)
                }
                other => other.map(Some),
            }
        })?;
        match updated {
            None => Err(StoreError::Taken { what: "username" }),
            Some(0) => Err(StoreError::NotFound { what: "channel" }),
            Some(_) => Ok(()),
        }
    }

    fn member(&self, channel: i64, user: i64) -> Result<Option<Member>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM channel_members
                     WHERE channel = ?1 AND user_id = ?2"
                ),
                params![channel, user],
                member_from_row,
            )
            .optional()
        })
    }

    fn add_member(
        &self,
        channel: i64,
        user: i64,
        role: Role,
        inviter: i64,
        date: i32,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO channel_members(channel, user_id, role, inviter, date)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(channel, user_id) DO UPDATE SET role = ?3 WHERE role != ?3",
                params![channel, user, role.code(), inviter, date],
            )
        })
        .map(|n| n > 0)
    }

    fn remove_member(&self, channel: i64, user: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM channel_members WHERE channel = ?1 AND user_id = ?2",
                params![channel, user],
            )
        })
        .map(|n| n > 0)
    }

    fn members(
        &self,
        channel: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Member>, i32), StoreError> {
        self.with(|c| {
            let count: i32 = c.query_row(
                "SELECT count(*) FROM channel_members WHERE channel = ?1",
                [channel],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT {MEMBER_COLUMNS} FROM channel_members
                 WHERE channel = ?1 ORDER BY date, user_id LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt.query_map(
                params![channel, limit.clamp(0, 200), offset.max(0)],
                member_from_row,
            )?;
            Ok((rows.collect::<Result<_, _>>()?, count))
        })
    }

    fn member_ids(&self, channel: i64) -> Result<Vec<i64>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT user_id FROM channel_members WHERE channel = ?1")?;
            let rows = stmt.query_map([channel], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn channels_of(&self, user: i64) -> Result<Vec<(Channel, Member)>, StoreError> {
        let memberships: Vec<(i64, Member)> = self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT channel, user_id, role, inviter, date, read_max_id FROM channel_members
                 WHERE user_id = ?1 ORDER BY channel",
            )?;
            let rows = stmt.query_map([user], |r| {
                Ok((
                    r.get(0)?,
                    Member {
                        user_id: r.get(1)?,
                        role: Role::from_code(r.get(2)?),
                        inviter: r.get(3)?,
                        date: r.get(4)?,
                        read_max_id: r.get(5)?,
                    },
                ))
            })?;
            rows.collect()
        })?;
        let mut out = Vec::new();
        for (id, member) in memberships {
            if let Some(channel) = self.channel(id)? {
                out.push((channel, member));
            }
        }
        Ok(out)
    }

    fn post(
        &self,
        channel: i64,
        from: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<Posted, StoreError> {
        self.tx(|tx| {
            let existing: Option<i32> = tx
                .query_row(
                    "SELECT id FROM channel_messages WHERE channel = ?1 AND sender = ?2
                     AND random_id = ?3",
                    params![channel, from, random_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if let Some(id) = existing {
                let message =
                    get_post(tx, channel, id)?.ok_or(StoreError::NotFound { what: "post" })?;
                let (pts, pts_count, date): (i32, i32, i32) = tx
                    .query_row(
                        "SELECT pts, pts_count, date FROM channel_changes
                         WHERE channel = ?1 AND kind = ?2 AND value = ?3",
                        params![channel, rows::kind::NEW, id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .map_err(db)?;
                return Ok(Posted {
                    message,
                    entry: ChannelLogged {
                        channel,
                        pts,
                        pts_count,
                        date,
                        change: ChannelChange::NewMessage { id },
                    },
                    duplicate: true,
                });
            }
            insert_post(tx, channel, from, text, date, Some(random_id), extras, None)
        })
    }

    fn channel_history(
        &self,
        channel: i64,
        q: HistoryQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError> {
        self.with(|c| {
            let count: i32 = c.query_row(
                "SELECT count(*) FROM channel_messages WHERE channel = ?1",
                [channel],
                |r| r.get(0),
            )?;
            // Telegram's pagination, as for private chats: see HistoryQuery::window.
            let newer: i64 = c.query_row(
                "SELECT count(*) FROM channel_messages WHERE channel = ?1
                 AND (id >= ?2 OR date >= ?3)",
                params![channel, q.below_id(), q.below_date()],
                |r| r.get(0),
            )?;
            let Some((skip, take)) = q.window(newer) else {
                return Ok((Vec::new(), count));
            };
            let mut stmt = c.prepare(&format!(
                "SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = ?1
                 ORDER BY id DESC LIMIT ?2 OFFSET ?3"
            ))?;
            let mut out = stmt
                .query_map(params![channel, take, skip], post_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            out.retain(|m| q.keeps(m.id));
            Ok((out, count))
        })
    }

    fn channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
    ) -> Result<Vec<ChannelMessage>, StoreError> {
        self.with(|c| {
            Ok(ids
                .iter()
                .map(|id| get_post(c, channel, *id))
                .collect::<Vec<_>>())
        })?
        .into_iter()
        .filter_map(Result::transpose)
        .collect()
    }

    fn delete_channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
        date: i32,
    ) -> Result<Option<ChannelLogged>, StoreError> {
        self.tx(|tx| {
            let mut deleted = Vec::new();
            for id in ids {
                if deleted.contains(id) {
                    continue;
                }
                let n = tx
                    .execute(
                        "DELETE FROM channel_messages WHERE channel = ?1 AND id = ?2",
                        params![channel, id],
                    )
                    .map_err(db)?;
                if n > 0 {
                    deleted.push(*id);
                }
            }
            if deleted.is_empty() {
                return Ok(None);
            }
            let count = deleted.len() as i32;
            log(
                tx,
                channel,
                count,
                date,
                ChannelChange::DeleteMessages { ids: deleted },
            )
            .map(Some)
        })
    }

    fn read_channel(&self, channel: i64, user: i64, max_id: i32) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE channel_members SET read_max_id = max(read_max_id, ?3)
                 WHERE channel = ?1 AND user_id = ?2",
                params![channel, user, max_id],
            )
        })
        .map(|_| ())
    }

    fn channel_changes_since(
        &self,
        channel: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<ChannelLogged>, Vec<ChannelMessage>), StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let changes: Vec<ChannelLogged> = self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {CHANNEL_LOG_COLUMNS} FROM channel_changes
                     WHERE channel = ?1 AND pts > ?2 ORDER BY pts LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![channel, pts, limit], |r| {
                rows::channel_logged_at(&crate::SqlRow(r), 0, channel)
                    .map_err(|e| crate::wrap(0, e))
            })?;
            rows.collect()
        })?;
        let ids: Vec<i32> = changes
            .iter()
            .filter_map(|c| match c.change {
                ChannelChange::NewMessage { id } => Some(id),
                _ => None,
            })
            .collect();
        let messages = self.channel_messages(channel, &ids)?;
        Ok((changes, messages))
    }

    fn pin_channel_messages(
        &self,
        channel: i64,
        by: i64,
        id: Option<i32>,
        pinned: bool,
        date: i32,
    ) -> Result<PinnedPosts, StoreError> {
        self.tx(|tx| {
            if let Some(id) = id {
                get_post(tx, channel, id)?.ok_or(StoreError::NotFound { what: "post" })?;
            }
            let changed: Vec<i32> = {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE channel_messages SET pinned = ?3
                         WHERE channel = ?1 AND (?2 IS NULL OR id = ?2) AND pinned != ?3
                         RETURNING id",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map(params![channel, id, pinned], |r| r.get(0))
                    .map_err(db)?;
                let mut ids = rows.collect::<rusqlite::Result<Vec<i32>>>().map_err(db)?;
                ids.sort_unstable();
                ids
            };
            let entry = match changed.is_empty() {
                true => None,
                false => {
                    let change = ChannelChange::Pin {
                        ids: changed,
                        pinned,
                    };
                    Some(log(tx, channel, 1, date, change)?)
                }
            };
            let notice = match (id, pinned) {
                (Some(id), true) => {
                    let extras = Extras {
                        reply_to: Some(id),
                        ..Extras::default()
                    };
                    let action = Some(ServiceAction::PinMessage);
                    Some(insert_post(
                        tx, channel, by, "", date, None, extras, action,
                    )?)
                }
                _ => None,
            };
            Ok(PinnedPosts { entry, notice })
        })
    }

    fn channel_pinned(&self, channel: i64) -> Result<Vec<i32>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM channel_messages WHERE channel = ?1 AND pinned ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([channel], |r| r.get(0))?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_kit_store::Store;

    #[test]
    fn a_post_is_one_row_and_one_entry_whatever_the_member_count() {
        let s = SqliteStore::in_memory().unwrap();
        let a = s.create_user("1", "A", "", 1).unwrap().id;
        let b = s.create_user("2", "B", "", 2).unwrap().id;
        let ch = s
            .create_channel(a, "News", "", true, false, 7, 100)
            .unwrap();
        assert_eq!(ch.members, 1);
        assert_eq!(s.member(ch.id, a).unwrap().unwrap().role, Role::Creator);
        assert!(s.add_member(ch.id, b, Role::Member, b, 101).unwrap());
        assert!(!s.add_member(ch.id, b, Role::Member, b, 101).unwrap());
        let p1 = s.post(ch.id, a, "one", 1, 102, Default::default()).unwrap();
        let p2 = s.post(ch.id, a, "two", 2, 103, Default::default()).unwrap();
        assert_eq!((p1.message.id, p1.entry.pts), (1, 1));
        assert_eq!((p2.message.id, p2.entry.pts), (2, 2));
        let again = s.post(ch.id, a, "two", 2, 104, Default::default()).unwrap();
        assert!(again.duplicate);
        assert_eq!(again.entry.pts, 2);
        let (history, count) = s
            .channel_history(
                ch.id,
                HistoryQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(count, 2);
        assert_eq!(history.iter().map(|m| m.id).collect::<Vec<_>>(), [2, 1]);
        let (changes, posts) = s.channel_changes_since(ch.id, 1, 10).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(posts[0].text, "two");
        let deleted = s
            .delete_channel_messages(ch.id, &[1, 1, 9], 105)
            .unwrap()
            .unwrap();
        assert_eq!((deleted.pts, deleted.pts_count), (3, 1));
        assert_eq!(s.channels_of(b).unwrap().len(), 1);
        assert!(s.remove_member(ch.id, b).unwrap());
        assert!(s.channels_of(b).unwrap().is_empty());
        s.set_channel_username(ch.id, Some("news_ch")).unwrap();
        assert_eq!(s.channel_by_username("NEWS_CH").unwrap().unwrap().id, ch.id);
        let other = s
            .create_channel(b, "Other", "", true, false, 8, 100)
            .unwrap();
        assert!(matches!(
            s.set_channel_username(other.id, Some("news_ch")),
            Err(StoreError::Taken { .. })
        ));
    }
}
