//! Basic groups in PostgreSQL: see [`server_kit_store::chats`]. A chat's row is locked while
//! its member list or its messages are written, then the members' boxes in id order (as a
//! private send locks them), so writers on several nodes take turns.

use super::{PgStore, R, Sql, Tx, col, lock_users, pin_in_box, sent_earlier, set_rich, via};
use ::postgres::GenericClient;
use server_kit_store::chats::*;
use server_kit_store::rows::{self, CHAT_COLUMNS, CHAT_MEMBER_COLUMNS};
use server_kit_store::{Change, Committed, Extras, Forward, LoggedChange, MediaRef, Message};
use server_kit_store::{StoreError, search::index_words};

/// Basic groups, and service messages in every box (`store::ServiceAction::to_columns`).
pub(crate) const SCHEMA_V11: &str = "
ALTER TABLE messages
    ADD COLUMN action_kind INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN action_ids BIGINT[] NOT NULL DEFAULT '{}';
CREATE SEQUENCE chat_ids START WITH 1000;
CREATE TABLE chats(
    id BIGINT PRIMARY KEY DEFAULT nextval('chat_ids'), title BYTEA NOT NULL,
    creator BIGINT NOT NULL, date INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    migrated_to BIGINT);
CREATE TABLE chat_members(
    chat BIGINT NOT NULL, user_id BIGINT NOT NULL, inviter BIGINT NOT NULL,
    date INTEGER NOT NULL, PRIMARY KEY(chat, user_id));
CREATE INDEX chat_members_by_user ON chat_members(user_id);
";

/// One copy of a chat message: takes the box's next id and pts ($1 the owner), writes the
/// row, its dialog and its log entry. $2 the peer, $3 out, $4 the sender, $5 the text, $6 the
/// date, $7 the random_id, $8 the key (the sender's id for it; NULL: this copy's own id), $9
/// and $10 the media, $11 the reply, $12 to $15 the forward, $16 and $17 the action, $18 the
/// words for search. Answers the copy's id and pts.
const WRITE_COPY: &str = "
WITH taken AS (
    UPDATE users SET next_msg_id = next_msg_id + 1, pts = pts + 1 WHERE id = $1
    RETURNING next_msg_id - 1 AS id, pts
), copy AS (
    INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id, copy_id,
                         media_kind, media_id, reply_to, fwd_kind, fwd_id, fwd_post, fwd_date,
                         action_kind, action_ids, search)
    SELECT $1, taken.id, $2, $3, $4, $5, $6, $7, coalesce($8, taken.id), $9, $10, $11, $12,
           $13, $14, $15, $16, $17, array_to_tsvector(string_to_array($18::text, ' '))
    FROM taken
), chat AS (
    INSERT INTO dialogs(owner, peer, top_message, top_date)
    SELECT $1, $2, taken.id, $6 FROM taken
    ON CONFLICT(owner, peer) DO UPDATE
    SET top_message = EXCLUDED.top_message, top_date = EXCLUDED.top_date
), logged AS (
    INSERT INTO changes(owner, pts, pts_count, date, kind, peer, value, ids)
    SELECT $1, taken.pts, 1, $6, 1, 0, taken.id, '{}' FROM taken
)
SELECT id, pts FROM taken";

fn get_chat(c: &mut Sql<'_, impl GenericClient>, id: i64) -> R<Option<Chat>> {
    c.query_opt(
        &format!("SELECT {CHAT_COLUMNS} FROM chats c WHERE id = $1"),
        &[&id],
    )?
    .map(|r| via(&r, rows::chat_at, 0))
    .transpose()
}

fn member_ids(c: &mut Sql<'_, impl GenericClient>, chat: i64) -> R<Vec<i64>> {
    c.query(
        "SELECT user_id FROM chat_members WHERE chat = $1 ORDER BY date, user_id",
        &[&chat],
    )?
    .iter()
    .map(|r| col(r, 0))
    .collect()
}

/// Locks a live chat (not migrated) that `from` is a member of; its members, or
/// [`StoreError::NotFound`].
fn lock_open_chat(tx: &mut Tx<'_, '_>, chat: i64, from: i64) -> R<(Chat, Vec<i64>)> {
    let live = tx.query_opt(
        "SELECT id FROM chats WHERE id = $1 AND migrated_to IS NULL FOR UPDATE",
        &[&chat],
    )?;
    let members = member_ids(tx, chat)?;
    if live.is_none() || !members.contains(&from) {
        return Err(StoreError::NotFound { what: "chat" }.into());
    }
    let found = get_chat(tx, chat)?.ok_or(StoreError::NotFound { what: "chat" })?;
    Ok((found, members))
}

/// What one message to a chat is (see the SQLite store's twin).
struct ChatWrite<'a> {
    chat: i64,
    from: i64,
    text: &'a str,
    random_id: Option<i64>,
    date: i32,
    extras: Extras,
    action: Option<ServiceAction>,
    boxes: Vec<i64>,
}

/// Writes `w` into every box it names (the sender's first), the boxes locked in id order.
fn write(tx: &mut Tx<'_, '_>, w: &ChatWrite<'_>) -> R<ChatSent> {
    let peer = chat_peer(w.chat);
    lock_users(tx, &w.boxes)?;
    let replied: Option<(i64, i32)> = match w.extras.reply_to {
        Some(id) => match tx.query_opt(
            "SELECT from_id, coalesce(copy_id, id) FROM messages
             WHERE owner = $1 AND id = $2 AND peer = $3",
            &[&w.from, &id, &peer],
        )? {
            Some(r) => Some((col(&r, 0)?, col(&r, 1)?)),
            None => None,
        },
        None => None,
    };
    let (kind, ids, stored_text) = ServiceAction::to_columns(w.action.as_ref());
    let text = if w.action.is_some() {
        stored_text.as_str()
    } else {
        w.text
    };
    let words = if w.action.is_some() {
        String::new()
    } else {
        index_words(text)
    };
    let (media_kind, media_id) = MediaRef::to_columns(w.extras.media);
    let (fwd_kind, fwd_id, fwd_post, fwd_date) = Forward::to_columns(w.extras.forward);
    let mut key: Option<i32> = None;
    let mut copies = Vec::with_capacity(w.boxes.len());
    for &owner in &w.boxes {
        let reply_to: Option<i32> = match replied {
            Some((sender, shared)) => match tx.query_opt(
                "SELECT id FROM messages
                 WHERE owner = $1 AND peer = $2 AND from_id = $3 AND coalesce(copy_id, id) = $4",
                &[&owner, &peer, &sender, &shared],
            )? {
                Some(r) => Some(col(&r, 0)?),
                None => None,
            },
            None => None,
        };
        let out = owner == w.from;
        let random_id = if out { w.random_id } else { None };
        let row = tx
            .query_opt(
                WRITE_COPY,
                &[
                    &owner,
                    &peer,
                    &out,
                    &w.from,
                    &text.as_bytes(),
                    &w.date,
                    &random_id,
                    &key,
                    &media_kind,
                    &media_id,
                    &reply_to,
                    &fwd_kind,
                    &fwd_id,
                    &fwd_post,
                    &fwd_date,
                    &kind,
                    &ids,
                    &words,
                ],
            )?
            .ok_or(StoreError::NotFound { what: "user" })?;
        let (id, pts): (i32, i32) = (col(&row, 0)?, col(&row, 1)?);
        key.get_or_insert(id);
        let message = Message {
            owner,
            id,
            peer,
            out,
            from_id: w.from,
            text: text.to_owned(),
            date: w.date,
            edit_date: None,
            random_id,
            media: w.extras.media,
            reply_to,
            forward: w.extras.forward,
            pinned: false,
            action: w.action.clone(),
            entities: w.extras.entities.clone(),
            reply_markup: w.extras.reply_markup.clone(),
        };
        set_rich(tx, owner, id, &w.extras)?;
        copies.push(Committed {
            user_id: owner,
            entry: LoggedChange {
                pts,
                pts_count: 1,
                date: w.date,
                change: Change::NewMessage { id },
            },
            message: Some(message),
        });
    }
    let mut copies = copies.into_iter();
    let own = copies.next().ok_or(StoreError::NotFound {
        what: "chat member",
    })?;
    Ok(ChatSent {
        own,
        others: copies.collect(),
        duplicate: false,
    })
}

/// A service message from `by` to `boxes`.
fn service(
    chat: i64,
    by: i64,
    date: i32,
    action: ServiceAction,
    boxes: Vec<i64>,
) -> ChatWrite<'static> {
    ChatWrite {
        chat,
        from: by,
        text: "",
        random_id: None,
        date,
        extras: Extras::default(),
        action: Some(action),
        boxes,
    }
}

/// The users of `ids` that exist (every one must: else [`StoreError::NotFound`]).
fn check_users(tx: &mut Tx<'_, '_>, ids: &[i64]) -> R<()> {
    let found = tx.query("SELECT id FROM users WHERE id = ANY($1)", &[&ids])?;
    if found.len() != ids.len() {
        return Err(StoreError::NotFound { what: "user" }.into());
    }
    Ok(())
}

impl ChatStore for PgStore {
    fn create_chat(
        &self,
        creator: i64,
        title: &str,
        members: &[i64],
        date: i32,
    ) -> Result<(Chat, ChatSent), StoreError> {
        let users = first_members(creator, members)?;
        self.tx(|tx| {
            check_users(tx, &users)?;
            let id: i64 = col(
                &tx.query_one(
                    "INSERT INTO chats(title, creator, date) VALUES ($1, $2, $3) RETURNING id",
                    &[&title.as_bytes(), &creator, &date],
                )?,
                0,
            )?;
            tx.execute(
                "INSERT INTO chat_members(chat, user_id, inviter, date)
                 SELECT $1, u, $2, $3 FROM unnest($4::BIGINT[]) AS u",
                &[&id, &creator, &date, &users],
            )?;
            let action = ServiceAction::ChatCreate {
                title: title.to_owned(),
                users: users.clone(),
            };
            let sent = write(tx, &service(id, creator, date, action, users.clone()))?;
            let chat = get_chat(tx, id)?.ok_or(StoreError::NotFound { what: "chat" })?;
            Ok((chat, sent))
        })
    }

    fn chat(&self, id: i64) -> Result<Option<Chat>, StoreError> {
        self.read(|c| get_chat(c, id))
    }

    fn chats(&self, ids: &[i64]) -> Result<Vec<Chat>, StoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {CHAT_COLUMNS} FROM chats c WHERE id = ANY($1) ORDER BY id"),
                &[&ids],
            )?
            .iter()
            .map(|r| via(r, rows::chat_at, 0))
            .collect()
        })
    }

    fn chat_members(&self, chat: i64) -> Result<Vec<ChatMember>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {CHAT_MEMBER_COLUMNS} FROM chat_members WHERE chat = $1
                     ORDER BY date, user_id"
                ),
                &[&chat],
            )?
            .iter()
            .map(|r| via(r, rows::chat_member_at, 0))
            .collect()
        })
    }

    fn send_to_chat(
        &self,
        chat: i64,
        from: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<ChatSent, StoreError> {
        self.tx(|tx| {
            let (_, members) = lock_open_chat(tx, chat, from)?;
            // Under the chat's lock: a second send with the same random_id waits, then finds
            // the first.
            if let Some(own) = sent_earlier(tx, from, random_id)? {
                return Ok(ChatSent {
                    own,
                    others: Vec::new(),
                    duplicate: true,
                });
            }
            let w = ChatWrite {
                chat,
                from,
                text,
                random_id: Some(random_id),
                date,
                extras: extras.clone(),
                action: None,
                boxes: boxes_from(&members, from),
            };
            write(tx, &w)
        })
    }

    fn add_chat_members(
        &self,
        chat: i64,
        inviter: i64,
        users: &[i64],
        date: i32,
    ) -> Result<Option<ChatSent>, StoreError> {
        self.tx(|tx| {
            let (_, mut members) = lock_open_chat(tx, chat, inviter)?;
            let added = new_members(&members, users)?;
            if added.is_empty() {
                return Ok(None);
            }
            check_users(tx, &added)?;
            tx.execute(
                "INSERT INTO chat_members(chat, user_id, inviter, date)
                 SELECT $1, u, $2, $3 FROM unnest($4::BIGINT[]) AS u",
                &[&chat, &inviter, &date, &added],
            )?;
            tx.execute(
                "UPDATE chats SET version = version + 1 WHERE id = $1",
                &[&chat],
            )?;
            members.extend(&added);
            let action = ServiceAction::AddUsers { users: added };
            let w = service(chat, inviter, date, action, boxes_from(&members, inviter));
            write(tx, &w).map(Some)
        })
    }

    fn remove_chat_member(
        &self,
        chat: i64,
        by: i64,
        user: i64,
        date: i32,
    ) -> Result<Option<ChatSent>, StoreError> {
        self.tx(|tx| {
            let (_, members) = lock_open_chat(tx, chat, by)?;
            if !members.contains(&user) {
                return Ok(None);
            }
            tx.execute(
                "DELETE FROM chat_members WHERE chat = $1 AND user_id = $2",
                &[&chat, &user],
            )?;
            tx.execute(
                "UPDATE chats SET version = version + 1 WHERE id = $1",
                &[&chat],
            )?;
            // The removed member gets the service message too: the last they see of it.
            let action = ServiceAction::DeleteUser { user };
            write(
                tx,
                &service(chat, by, date, action, boxes_from(&members, by)),
            )
            .map(Some)
        })
    }

    fn edit_chat_title(
        &self,
        chat: i64,
        by: i64,
        title: &str,
        date: i32,
    ) -> Result<Option<ChatSent>, StoreError> {
        self.tx(|tx| {
            let (found, members) = lock_open_chat(tx, chat, by)?;
            if found.title == title {
                return Ok(None);
            }
            tx.execute(
                "UPDATE chats SET title = $2 WHERE id = $1",
                &[&chat, &title.as_bytes()],
            )?;
            let action = ServiceAction::EditTitle {
                title: title.to_owned(),
            };
            write(
                tx,
                &service(chat, by, date, action, boxes_from(&members, by)),
            )
            .map(Some)
        })
    }

    fn migrate_chat(
        &self,
        chat: i64,
        by: i64,
        channel: i64,
        date: i32,
    ) -> Result<ChatSent, StoreError> {
        self.tx(|tx| {
            let (_, members) = lock_open_chat(tx, chat, by)?;
            let action = ServiceAction::MigrateTo { channel };
            let sent = write(
                tx,
                &service(chat, by, date, action, boxes_from(&members, by)),
            )?;
            tx.execute(
                "UPDATE chats SET migrated_to = $2, version = version + 1 WHERE id = $1",
                &[&chat, &channel],
            )?;
            Ok(sent)
        })
    }
    fn pin_chat_message(
        &self,
        chat: i64,
        by: i64,
        id: Option<i32>,
        pinned: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        let peer = chat_peer(chat);
        self.tx(|tx| {
            let (_, members) = lock_open_chat(tx, chat, by)?;
            lock_users(tx, &members)?;
            // The key every copy of the message shares: its sender and the sender's id.
            let key: Option<(i64, i32)> = match id {
                Some(id) => {
                    let row = tx
                        .query_opt(
                            "SELECT from_id, coalesce(copy_id, id) FROM messages
                             WHERE owner = $1 AND id = $2 AND peer = $3",
                            &[&by, &id, &peer],
                        )?
                        .ok_or(StoreError::NotFound { what: "message" })?;
                    Some((col(&row, 0)?, col(&row, 1)?))
                }
                None => None,
            };
            let (sender, shared) = key.unzip();
            let mut committed = Vec::new();
            for &owner in &members {
                let changed: Vec<i32> = tx
                    .query(
                        "SELECT id FROM messages WHERE owner = $1 AND peer = $2
                         AND ($3::BIGINT IS NULL OR (from_id = $3 AND coalesce(copy_id, id) = $4))
                         AND pinned != $5 ORDER BY id",
                        &[&owner, &peer, &sender, &shared, &pinned],
                    )?
                    .iter()
                    .map(|r| col(r, 0))
                    .collect::<R<_>>()?;
                committed.extend(pin_in_box(tx, owner, peer, &changed, pinned, date)?);
            }
            if let (Some(id), true) = (id, pinned) {
                let mut notice = service(
                    chat,
                    by,
                    date,
                    ServiceAction::PinMessage,
                    boxes_from(&members, by),
                );
                notice.extras.reply_to = Some(id);
                committed.extend(write(tx, &notice)?.all());
            }
            Ok(committed)
        })
    }
}
