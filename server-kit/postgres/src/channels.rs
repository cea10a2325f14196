//! Channels in PostgreSQL: the channel's row is its box (pts, next post id, and the lock that
//! orders its writers across nodes).

use super::{PgStore, R, Sql, Tx, col, count, taken, via};
use ::postgres::{GenericClient, Row};
use server_kit_store::channels::{
    Channel, ChannelChange, ChannelLogged, ChannelMessage, ChannelStore, Member, PinnedPosts,
    Posted, Role,
};
use server_kit_store::rows::{
    self, CHANNEL_COLUMNS, CHANNEL_LOG_COLUMNS, LogColumns, MEMBER_COLUMNS, POST_COLUMNS,
};
use server_kit_store::{Extras, Forward, HistoryQuery, MediaRef, ServiceAction, StoreError};

fn channel_at(r: &Row, at: usize) -> R<Channel> {
    via(r, rows::channel_at, at)
}

fn member_at(r: &Row, at: usize) -> R<Member> {
    via(r, rows::member_at, at)
}

fn post_from_row(r: &Row) -> R<ChannelMessage> {
    via(r, rows::post_at, 0)
}

fn get_channel(c: &mut Sql<'_, impl GenericClient>, id: i64) -> R<Option<Channel>> {
    c.query_opt(
        &format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE id = $1"),
        &[&id],
    )?
    .map(|r| channel_at(&r, 0))
    .transpose()
}

fn get_post(
    c: &mut Sql<'_, impl GenericClient>,
    channel: i64,
    id: i32,
) -> R<Option<ChannelMessage>> {
    c.query_opt(
        &format!("SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = $1 AND id = $2"),
        &[&channel, &id],
    )?
    .map(|r| post_from_row(&r))
    .transpose()
}

/// Posts by id, in the order of `ids` (missing ones left out).
fn get_posts(
    c: &mut Sql<'_, impl GenericClient>,
    channel: i64,
    ids: &[i32],
) -> R<Vec<ChannelMessage>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c.query(
        &format!("SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = $1 AND id = ANY($2)"),
        &[&channel, &ids],
    )?;
    let mut by_id = std::collections::HashMap::new();
    for row in &rows {
        let p = post_from_row(row)?;
        by_id.insert(p.id, p);
    }
    Ok(ids.iter().filter_map(|id| by_id.get(id).cloned()).collect())
}

/// Appends to a channel's log, taking the next `pts_count` pts.
fn log(
    tx: &mut Tx<'_, '_>,
    channel: i64,
    pts_count: i32,
    date: i32,
    change: ChannelChange,
) -> R<ChannelLogged> {
    let row = tx
        .query_opt(
            "UPDATE channels SET pts = pts + $2 WHERE id = $1 RETURNING pts",
            &[&channel, &pts_count],
        )?
        .ok_or(StoreError::NotFound { what: "channel" })?;
    let pts: i32 = col(&row, 0)?;
    let LogColumns {
        kind, value, ids, ..
    } = LogColumns::of_channel(&change);
    tx.execute(
        "INSERT INTO channel_changes(channel, pts, pts_count, date, kind, value, ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&channel, &pts, &pts_count, &date, &kind, &value, &ids],
    )?;
    Ok(ChannelLogged {
        channel,
        pts,
        pts_count,
        date,
        change,
    })
}

/// Pinned posts and service posts (`store::channels::ChannelMessage::pinned`, `action`, as
/// `store::ServiceAction::to_columns` keeps it).
pub(crate) const SCHEMA_V20: &str = "
ALTER TABLE channel_messages
    ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN action_kind INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN action_ids BIGINT[] NOT NULL DEFAULT '{}';
";

/// Writes a new post (a service post with `action`) and its log entry, the channel's row
/// locked. A reply to an id that names no post of the channel is dropped.
#[allow(clippy::too_many_arguments)]
fn insert_post(
    tx: &mut Tx<'_, '_>,
    channel: i64,
    from: i64,
    text: &str,
    date: i32,
    random_id: Option<i64>,
    extras: Extras,
    action: Option<ServiceAction>,
) -> R<Posted> {
    let id: i32 = col(
        &tx.query_one(
            "UPDATE channels SET next_msg_id = next_msg_id + 1 WHERE id = $1
             RETURNING next_msg_id - 1",
            &[&channel],
        )?,
        0,
    )?;
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
    let words = if action.is_some() {
        String::new()
    } else {
        server_kit_store::search::index_words(text)
    };
    tx.execute(
        "INSERT INTO channel_messages(channel, id, from_id, text, date, sender, random_id,
                                      media_kind, media_id, reply_to, fwd_kind, fwd_id,
                                      fwd_post, fwd_date, action_kind, action_ids, search)
         VALUES ($1, $2, $3, $4, $5, $3, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                 array_to_tsvector(string_to_array($16::text, ' ')))",
        &[
            &channel,
            &id,
            &from,
            &text.as_bytes(),
            &date,
            &random_id,
            &media_kind,
            &media_id,
            &reply_to,
            &fwd_kind,
            &fwd_id,
            &fwd_post,
            &fwd_date,
            &action_kind,
            &action_ids,
            &words,
        ],
    )?;
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

impl ChannelStore for PgStore {
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
            let id: i64 = col(
                &tx.query_one(
                    "INSERT INTO channels(access_hash, title, about, broadcast, megagroup,
                                          creator, date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &access_hash,
                        &title.as_bytes(),
                        &about.as_bytes(),
                        &broadcast,
                        &megagroup,
                        &creator,
                        &date,
                    ],
                )?,
                0,
            )?;
            tx.execute(
                "INSERT INTO channel_members(channel, user_id, role, inviter, date)
                 VALUES ($1, $2, $3, $2, $4)",
                &[&id, &creator, &Role::Creator.code(), &date],
            )?;
            get_channel(tx, id)?.ok_or(StoreError::NotFound { what: "channel" }.into())
        })
    }

    fn channel(&self, id: i64) -> Result<Option<Channel>, StoreError> {
        self.read(|c| get_channel(c, id))
    }

    fn channel_by_username(&self, username: &str) -> Result<Option<Channel>, StoreError> {
        if username.contains('\0') {
            // No stored username has one (and a `text` parameter cannot carry it).
            return Ok(None);
        }
        self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {CHANNEL_COLUMNS} FROM channels c WHERE lower(username) = lower($1)"
                ),
                &[&username],
            )?
            .map(|r| channel_at(&r, 0))
            .transpose()
        })
    }

    fn set_channel_username(&self, id: i64, username: Option<&str>) -> Result<(), StoreError> {
        self.read(|c| {
            let n = c
                .execute(
                    "UPDATE channels SET username = $2 WHERE id = $1",
                    &[&id, &username],
                )
                .map_err(taken("username"))?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "channel" }.into());
            }
            Ok(())
        })
    }

    fn member(&self, channel: i64, user: i64) -> Result<Option<Member>, StoreError> {
        self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM channel_members
                     WHERE channel = $1 AND user_id = $2"
                ),
                &[&channel, &user],
            )?
            .map(|r| member_at(&r, 0))
            .transpose()
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
        self.read(|c| {
            let n = c.execute(
                "INSERT INTO channel_members(channel, user_id, role, inviter, date)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT(channel, user_id) DO UPDATE SET role = EXCLUDED.role
                 WHERE channel_members.role <> EXCLUDED.role",
                &[&channel, &user, &role.code(), &inviter, &date],
            )?;
            Ok(n > 0)
        })
    }

    fn remove_member(&self, channel: i64, user: i64) -> Result<bool, StoreError> {
        self.read(|c| {
            let n = c.execute(
                "DELETE FROM channel_members WHERE channel = $1 AND user_id = $2",
                &[&channel, &user],
            )?;
            Ok(n > 0)
        })
    }

    fn members(
        &self,
        channel: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Member>, i32), StoreError> {
        self.snapshot(|c| {
            let total = count(
                &c.query_one(
                    "SELECT count(*) FROM channel_members WHERE channel = $1",
                    &[&channel],
                )?,
                0,
            )?;
            let members = c
                .query(
                    &format!(
                        "SELECT {MEMBER_COLUMNS} FROM channel_members WHERE channel = $1
                         ORDER BY date, user_id LIMIT $2 OFFSET $3"
                    ),
                    &[
                        &channel,
                        &i64::from(limit.clamp(0, 200)),
                        &i64::from(offset.max(0)),
                    ],
                )?
                .iter()
                .map(|r| member_at(r, 0))
                .collect::<R<Vec<_>>>()?;
            Ok((members, total))
        })
    }

    fn member_ids(&self, channel: i64) -> Result<Vec<i64>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT user_id FROM channel_members WHERE channel = $1",
                &[&channel],
            )?
            .iter()
            .map(|r| col(r, 0))
            .collect()
        })
    }

    fn channels_of(&self, user: i64) -> Result<Vec<(Channel, Member)>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT c.id, c.access_hash, c.title, c.about, c.broadcast, c.megagroup,
                            c.creator, c.username, c.date, c.pts,
                            (SELECT count(*) FROM channel_members a WHERE a.channel = c.id),
                            m.{}
                     FROM channel_members m JOIN channels c ON c.id = m.channel
                     WHERE m.user_id = $1 ORDER BY c.id",
                    MEMBER_COLUMNS.replace(", ", ", m.")
                ),
                &[&user],
            )?
            .iter()
            .map(|r| Ok((channel_at(r, 0)?, member_at(r, 11)?)))
            .collect()
        })
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
            // The channel's row first: a second post with the same random_id, on any node,
            // waits here and then finds the first.
            tx.query_opt(
                "SELECT 1 FROM channels WHERE id = $1 FOR UPDATE",
                &[&channel],
            )?
            .ok_or(StoreError::NotFound { what: "channel" })?;
            let existing = tx.query_opt(
                "SELECT id FROM channel_messages WHERE channel = $1 AND sender = $2
                 AND random_id = $3",
                &[&channel, &from, &random_id],
            )?;
            if let Some(row) = existing {
                let id: i32 = col(&row, 0)?;
                let message =
                    get_post(tx, channel, id)?.ok_or(StoreError::NotFound { what: "post" })?;
                let entry = tx
                    .query_opt(
                        "SELECT pts, pts_count, date FROM channel_changes
                         WHERE channel = $1 AND kind = $2 AND value = $3",
                        &[&channel, &rows::kind::NEW, &id],
                    )?
                    .ok_or(StoreError::NotFound { what: "change" })?;
                return Ok(Posted {
                    message,
                    entry: ChannelLogged {
                        channel,
                        pts: col(&entry, 0)?,
                        pts_count: col(&entry, 1)?,
                        date: col(&entry, 2)?,
                        change: ChannelChange::NewMessage { id },
                    },
                    duplicate: true,
                });
            }
            insert_post(
                tx,
                channel,
                from,
                text,
                date,
                Some(random_id),
                extras.clone(),
                None,
            )
        })
    }

    fn channel_history(
        &self,
        channel: i64,
        q: HistoryQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError> {
        self.snapshot(|c| {
            let total = count(
                &c.query_one(
                    "SELECT count(*) FROM channel_messages WHERE channel = $1",
                    &[&channel],
                )?,
                0,
            )?;
            // Telegram's pagination, as for private chats: see HistoryQuery::window.
            let newer: i64 = col(
                &c.query_one(
                    "SELECT count(*) FROM channel_messages WHERE channel = $1
                     AND (id >= $2::bigint OR date >= $3::bigint)",
                    &[&channel, &q.below_id(), &q.below_date()],
                )?,
                0,
            )?;
            let Some((skip, take)) = q.window(newer) else {
                return Ok((Vec::new(), total));
            };
            let mut out = c
                .query(
                    &format!(
                        "SELECT {POST_COLUMNS} FROM channel_messages WHERE channel = $1
                         ORDER BY id DESC LIMIT $2 OFFSET $3"
                    ),
                    &[&channel, &take, &skip],
                )?
                .iter()
                .map(post_from_row)
                .collect::<R<Vec<_>>>()?;
            out.retain(|m| q.keeps(m.id));
            Ok((out, total))
        })
    }

    fn channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
    ) -> Result<Vec<ChannelMessage>, StoreError> {
        self.read(|c| get_posts(c, channel, ids))
    }

    fn delete_channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
        date: i32,
    ) -> Result<Option<ChannelLogged>, StoreError> {
        self.tx(|tx| {
            tx.query_opt(
                "SELECT 1 FROM channels WHERE id = $1 FOR UPDATE",
                &[&channel],
            )?;
            let mut deleted = Vec::new();
            for id in ids {
                if deleted.contains(id) {
                    continue;
                }
                let n = tx.execute(
                    "DELETE FROM channel_messages WHERE channel = $1 AND id = $2",
                    &[&channel, id],
                )?;
                if n > 0 {
                    deleted.push(*id);
                }
            }
            if deleted.is_empty() {
                return Ok(None);
            }
            let n = deleted.len() as i32;
            log(
                tx,
                channel,
                n,
                date,
                ChannelChange::DeleteMessages { ids: deleted },
            )
            .map(Some)
        })
    }

    fn read_channel(&self, channel: i64, user: i64, max_id: i32) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE channel_members SET read_max_id = greatest(read_max_id, $3)
                 WHERE channel = $1 AND user_id = $2",
                &[&channel, &user, &max_id],
            )?;
            Ok(())
        })
    }

    fn channel_changes_since(
        &self,
        channel: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<ChannelLogged>, Vec<ChannelMessage>), StoreError> {
        self.snapshot(|c| {
            let mut changes = Vec::new();
            for r in c.query(
                &format!(
                    "SELECT {CHANNEL_LOG_COLUMNS} FROM channel_changes
                     WHERE channel = $1 AND pts > $2 ORDER BY pts LIMIT $3"
                ),
                &[&channel, &pts, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )? {
                changes.push(super::via_logged(&r, channel)?);
            }
            let ids: Vec<i32> = changes
                .iter()
                .filter_map(|c| match c.change {
                    ChannelChange::NewMessage { id } => Some(id),
                    _ => None,
                })
                .collect();
            let messages = get_posts(c, channel, &ids)?;
            Ok((changes, messages))
        })
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
            tx.query_opt(
                "SELECT 1 FROM channels WHERE id = $1 FOR UPDATE",
                &[&channel],
            )?
            .ok_or(StoreError::NotFound { what: "channel" })?;
            if let Some(id) = id {
                get_post(tx, channel, id)?.ok_or(StoreError::NotFound { what: "post" })?;
            }
            let mut changed: Vec<i32> = tx
                .query(
                    "UPDATE channel_messages SET pinned = $3
                     WHERE channel = $1 AND ($2::INTEGER IS NULL OR id = $2) AND pinned != $3
                     RETURNING id",
                    &[&channel, &id, &pinned],
                )?
                .iter()
                .map(|r| col(r, 0))
                .collect::<R<_>>()?;
            changed.sort_unstable();
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
        self.read(|c| {
            c.query(
                "SELECT id FROM channel_messages WHERE channel = $1 AND pinned ORDER BY id DESC",
                &[&channel],
            )?
            .iter()
            .map(|r| col(r, 0))
            .collect()
        })
    }
}
