//! Channels (broadcast channels and megagroups): each has its own pts box; a post is stored
//! once, whoever reads it, and members catch up through the channel's log.

use super::sqlite::db;
use super::{HistoryQuery, MediaRef, SqliteStore, StoreError};
use rusqlite::{OptionalExtension, Row, Transaction, params};

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
const KIND_NEW: i64 = 1;
const KIND_DELETE: i64 = 3;

/// A channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its id.
    pub id: i64,
    /// The secret a client must show to use it.
    pub access_hash: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub about: String,
    /// A broadcast channel (only admins post).
    pub broadcast: bool,
    /// A megagroup (everyone posts).
    pub megagroup: bool,
    /// Who created it.
    pub creator: i64,
    /// Its public username.
    pub username: Option<String>,
    /// When it was created.
    pub date: i32,
    /// Its pts.
    pub pts: i32,
    /// How many members it has.
    pub members: i32,
}

/// What a member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads (and posts in megagroups).
    Member,
    /// Posts and manages.
    Admin,
    /// Created it.
    Creator,
}

impl Role {
    pub(super) fn code(self) -> i64 {
        match self {
            Role::Member => 0,
            Role::Admin => 1,
            Role::Creator => 2,
        }
    }

    pub(super) fn from_code(code: i64) -> Role {
        match code {
            2 => Role::Creator,
            1 => Role::Admin,
            _ => Role::Member,
        }
    }
}

/// A member of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
    /// Who added them (themselves when they joined).
    pub inviter: i64,
    /// When.
    pub date: i32,
    /// Read up to here.
    pub read_max_id: i32,
}

/// A post in a channel (stored once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage {
    /// The channel.
    pub channel: i64,
    /// Its id in the channel.
    pub id: i32,
    /// Who wrote it.
    pub from_id: i64,
    /// Text.
    pub text: String,
    /// When.
    pub date: i32,
    /// Last edit.
    pub edit_date: Option<i32>,
    /// Attached media.
    pub media: Option<MediaRef>,
}

/// What changed in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelChange {
    /// A post.
    NewMessage {
        /// Its id.
        id: i32,
    },
    /// Posts deleted.
    DeleteMessages {
        /// Their ids.
        ids: Vec<i32>,
    },
}

/// One entry of a channel's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLogged {
    /// The channel.
    pub channel: i64,
    /// The pts after it.
    pub pts: i32,
    /// How many pts it took.
    pub pts_count: i32,
    /// When.
    pub date: i32,
    /// What.
    pub change: ChannelChange,
}

/// The result of posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The post.
    pub message: ChannelMessage,
    /// Its log entry.
    pub entry: ChannelLogged,
    /// The same random_id was posted before by the same sender: nothing new was written.
    pub duplicate: bool,
}

/// Channel storage.
pub trait ChannelStore {
    /// Creates a channel with `creator` as its first member.
    #[allow(clippy::too_many_arguments)]
    fn create_channel(
        &self,
        creator: i64,
        title: &str,
        about: &str,
        broadcast: bool,
        megagroup: bool,
        access_hash: i64,
        date: i32,
    ) -> Result<Channel, StoreError>;
    /// A channel by id.
    fn channel(&self, id: i64) -> Result<Option<Channel>, StoreError>;
    /// A channel by username (case-insensitive).
    fn channel_by_username(&self, username: &str) -> Result<Option<Channel>, StoreError>;
    /// Sets or clears a channel's username ([`StoreError::Taken`] if another channel has it).
    fn set_channel_username(&self, id: i64, username: Option<&str>) -> Result<(), StoreError>;
    /// A member, if `user` is one.
    fn member(&self, channel: i64, user: i64) -> Result<Option<Member>, StoreError>;
    /// Adds a member (or changes their role); `false` if they were a member already with that
    /// role.
    fn add_member(
        &self,
        channel: i64,
        user: i64,
        role: Role,
        inviter: i64,
        date: i32,
    ) -> Result<bool, StoreError>;
    /// Removes a member; `false` if they were not one.
    fn remove_member(&self, channel: i64, user: i64) -> Result<bool, StoreError>;
    /// Members, oldest first, and how many there are.
    fn members(
        &self,
        channel: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Member>, i32), StoreError>;
    /// Every member's user id (for fan-out).
    fn member_ids(&self, channel: i64) -> Result<Vec<i64>, StoreError>;
    /// The channels a user is a member of, with their membership.
    fn channels_of(&self, user: i64) -> Result<Vec<(Channel, Member)>, StoreError>;
    /// Posts to a channel (one row and one log entry, whatever the member count), idempotent
    /// on (`from`, `random_id`).
    #[allow(clippy::too_many_arguments)]
    fn post(
        &self,
        channel: i64,
        from: i64,
        text: &str,
        random_id: i64,
        date: i32,
        media: Option<MediaRef>,
    ) -> Result<Posted, StoreError>;
    /// Posts newest first, and how many the channel has.
    fn channel_history(
        &self,
        channel: i64,
        query: HistoryQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError>;
    /// Posts by id (missing ones left out).
    fn channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
    ) -> Result<Vec<ChannelMessage>, StoreError>;
    /// Deletes posts; `None` if none of them existed.
    fn delete_channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
        date: i32,
    ) -> Result<Option<ChannelLogged>, StoreError>;
    /// Marks a channel read by `user` up to `max_id`.
    fn read_channel(&self, channel: i64, user: i64, max_id: i32) -> Result<(), StoreError>;
    /// Log entries after `pts`, oldest first, at most `limit`, with the posts they name.
    fn channel_changes_since(
        &self,
        channel: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<ChannelLogged>, Vec<ChannelMessage>), StoreError>;
}

const CHANNEL_COLUMNS: &str = "id, access_hash, title, about, broadcast, megagroup, creator,
    username, date, pts, (SELECT count(*) FROM channel_members m WHERE m.channel = c.id)";
const POST_COLUMNS: &str = "channel, id, from_id, text, date, edit_date, media_kind, media_id";

fn channel_from_row(r: &Row<'_>) -> rusqlite::Result<Channel> {
    Ok(Channel {
        id: r.get(0)?,
        access_hash: r.get(1)?,
        title: r.get(2)?,
        about: r.get(3)?,
        broadcast: r.get(4)?,
        megagroup: r.get(5)?,
        creator: r.get(6)?,
        username: r.get(7)?,
        date: r.get(8)?,
        pts: r.get(9)?,
        members: r.get(10)?,
    })
}

fn member_from_row(r: &Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        user_id: r.get(0)?,
        role: Role::from_code(r.get(1)?),
        inviter: r.get(2)?,
        date: r.get(3)?,
        read_max_id: r.get(4)?,
    })
}

fn post_from_row(r: &Row<'_>) -> rusqlite::Result<ChannelMessage> {
    Ok(ChannelMessage {
        channel: r.get(0)?,
        id: r.get(1)?,
        from_id: r.get(2)?,
        text: r.get(3)?,
        date: r.get(4)?,
        edit_date: r.get(5)?,
        media: MediaRef::from_columns(r.get(6)?, r.get(7)?),
    })
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
    let (kind, value, ids) = match &change {
        ChannelChange::NewMessage { id } => (KIND_NEW, i64::from(*id), String::new()),
        ChannelChange::DeleteMessages { ids } => (
            KIND_DELETE,
            0,
            ids.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
    };
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
                "SELECT user_id, role, inviter, date, read_max_id FROM channel_members
                 WHERE channel = ?1 AND user_id = ?2",
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
            let mut stmt = c.prepare(
                "SELECT user_id, role, inviter, date, read_max_id FROM channel_members
                 WHERE channel = ?1 ORDER BY date, user_id LIMIT ?2 OFFSET ?3",
            )?;
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
        media: Option<MediaRef>,
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
                        params![channel, KIND_NEW, id],
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
            let (media_kind, media_id) = MediaRef::to_columns(media);
            tx.execute(
                "INSERT INTO channel_messages(channel, id, from_id, text, date, sender, random_id,
                                              media_kind, media_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6, ?7, ?8)",
                params![
                    channel, id, from, text, date, random_id, media_kind, media_id
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
                    media,
                },
                entry,
                duplicate: false,
            })
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
            let upper = if q.offset_id > 0 {
                q.offset_id
            } else {
                i32::MAX
            };
            let date_upper = if q.offset_date > 0 {
                q.offset_date
            } else {
                i32::MAX
            };
            // Newest first from below offset_id, shifted by add_offset (negative: newer).
            let skip = q.add_offset;
            let limit = q.limit.clamp(1, 100);
            let mut out: Vec<ChannelMessage> = Vec::new();
            if skip < 0 {
                let mut stmt = c.prepare(&format!(
                    "SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = ?1 AND id >= ?2
                     ORDER BY id ASC LIMIT ?3"
                ))?;
                let newer = (-skip).min(limit);
                let start = if q.offset_id > 0 {
                    q.offset_id
                } else {
                    i32::MAX
                };
                let rows = stmt.query_map(params![channel, start, newer], post_from_row)?;
                let mut rows: Vec<ChannelMessage> = rows.collect::<Result<_, _>>()?;
                rows.reverse();
                out.extend(rows);
            }
            let rest = limit - out.len() as i32;
            if rest > 0 {
                let mut stmt = c.prepare(&format!(
                    "SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = ?1 AND id < ?2
                     AND date < ?3 ORDER BY id DESC LIMIT ?4 OFFSET ?5"
                ))?;
                let rows = stmt.query_map(
                    params![channel, upper, date_upper, rest, skip.max(0)],
                    post_from_row,
                )?;
                for row in rows {
                    out.push(row?);
                }
            }
            out.retain(|m| (q.max_id <= 0 || m.id < q.max_id) && m.id > q.min_id);
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
            let mut stmt = c.prepare(
                "SELECT pts, pts_count, date, kind, value, ids FROM channel_changes
                 WHERE channel = ?1 AND pts > ?2 ORDER BY pts LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![channel, pts, limit], |r| {
                let kind: i64 = r.get(3)?;
                let value: i64 = r.get(4)?;
                let ids: String = r.get(5)?;
                Ok(ChannelLogged {
                    channel,
                    pts: r.get(0)?,
                    pts_count: r.get(1)?,
                    date: r.get(2)?,
                    change: if kind == KIND_NEW {
                        ChannelChange::NewMessage { id: value as i32 }
                    } else {
                        ChannelChange::DeleteMessages {
                            ids: ids.split(',').filter_map(|s| s.parse().ok()).collect(),
                        }
                    },
                })
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

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
        let p1 = s.post(ch.id, a, "one", 1, 102, None).unwrap();
        let p2 = s.post(ch.id, a, "two", 2, 103, None).unwrap();
        assert_eq!((p1.message.id, p1.entry.pts), (1, 1));
        assert_eq!((p2.message.id, p2.entry.pts), (2, 2));
        let again = s.post(ch.id, a, "two", 2, 104, None).unwrap();
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
