//! Basic groups in SQLite: see [`server_kit_store::chats`].

use crate::{SqliteStore, db, insert_message, log_change, pin_in_box, sent_before, via};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use server_kit_store::chats::*;
use server_kit_store::rows::{self, CHAT_COLUMNS, CHAT_MEMBER_COLUMNS, join_ids};
use server_kit_store::{Change, Committed, Extras, StoreError};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS chats(
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, creator INTEGER NOT NULL,
    date INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1, migrated_to INTEGER);
CREATE TABLE IF NOT EXISTS chat_members(
    chat INTEGER NOT NULL, user_id INTEGER NOT NULL, inviter INTEGER NOT NULL,
    date INTEGER NOT NULL, PRIMARY KEY(chat, user_id));
CREATE INDEX IF NOT EXISTS chat_members_by_user ON chat_members(user_id);
";

/// The first chat id handed out.
const FIRST_CHAT_ID: i64 = 1_000;

fn get_chat(c: &Connection, id: i64) -> Result<Option<Chat>, StoreError> {
    c.query_row(
        &format!("SELECT {CHAT_COLUMNS} FROM chats c WHERE id = ?1"),
        [id],
        |r| via(r, rows::chat_at),
    )
    .optional()
    .map_err(db)
}

fn member_ids(c: &Connection, chat: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT user_id FROM chat_members WHERE chat = ?1 ORDER BY date, user_id")
        .map_err(db)?;
    let ids = stmt
        .query_map([chat], |r| r.get(0))
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .map_err(db)?;
    Ok(ids)
}

fn is_member(c: &Connection, chat: i64, user: i64) -> Result<bool, StoreError> {
    c.query_row(
        "SELECT 1 FROM chat_members WHERE chat = ?1 AND user_id = ?2",
        params![chat, user],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(db)
}

/// A live chat (not migrated) `from` is a member of, or [`StoreError::NotFound`].
fn open_chat_of(c: &Connection, chat: i64, from: i64) -> Result<Chat, StoreError> {
    let found = get_chat(c, chat)?.filter(|c| c.migrated_to.is_none());
    match found {
        Some(found) if is_member(c, chat, from)? => Ok(found),
        _ => Err(StoreError::NotFound { what: "chat" }),
    }
}

/// What one message to a chat is: its text and extras, a service action, and which members'
/// boxes get it (the sender's first).
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

/// Writes `w` into every box it names: a copy, the dialog and a log entry each, every copy's
/// `copy_id` naming the sender's id for it. A reply is mapped to each box's copy of the
/// replied message (dropped where that box has none).
fn write(tx: &Transaction<'_>, w: ChatWrite<'_>) -> Result<ChatSent, StoreError> {
    let peer = chat_peer(w.chat);
    // The replied message, in the sender's box: its sender and the key its copies share.
    let replied: Option<(i64, i32)> = match w.extras.reply_to {
        Some(id) => tx
            .query_row(
                "SELECT from_id, coalesce(copy_id, id) FROM messages
                 WHERE owner = ?1 AND id = ?2 AND peer = ?3",
                params![w.from, id, peer],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?,
        None => None,
    };
    let (kind, ids, stored_text) = ServiceAction::to_columns(w.action.as_ref());
    let text = if w.action.is_some() {
        stored_text.as_str()
    } else {
        w.text
    };
    let ids = join_ids(&ids);
    let mut key = None;
    let mut copies = Vec::with_capacity(w.boxes.len());
    for owner in w.boxes {
        let reply_to = match replied {
            Some((sender, shared)) => tx
                .query_row(
                    "SELECT id FROM messages
                     WHERE owner = ?1 AND peer = ?2 AND from_id = ?3 AND coalesce(copy_id, id) = ?4",
                    params![owner, peer, sender, shared],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?,
            None => None,
        };
        let extras = Extras {
            reply_to,
            ..w.extras.clone()
        };
        let own = owner == w.from;
        let random_id = if own { w.random_id } else { None };
        let mut message = insert_message(
            tx, owner, peer, own, w.from, text, w.date, random_id, extras,
        )?;
        // The sender's copy comes first: its id is the key every copy keeps.
        let key = *key.get_or_insert(message.id);
        tx.execute(
            "UPDATE messages SET copy_id = ?3, action_kind = ?4, action_ids = ?5
             WHERE owner = ?1 AND id = ?2",
            params![owner, message.id, key, kind, ids],
        )
        .map_err(db)?;
        message.action = w.action.clone();
        let change = Change::NewMessage { id: message.id };
        copies.push(log_change(tx, owner, 1, w.date, change, Some(message))?);
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

fn bump_version(tx: &Transaction<'_>, chat: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE chats SET version = version + 1 WHERE id = ?1",
        [chat],
    )
    .map_err(db)?;
    Ok(())
}

impl ChatStore for SqliteStore {
    fn create_chat(
        &self,
        creator: i64,
        title: &str,
        members: &[i64],
        date: i32,
    ) -> Result<(Chat, ChatSent), StoreError> {
        self.tx(|tx| {
            let users = first_members(creator, members)?;
            for user in &users {
                let exists = tx
                    .query_row("SELECT 1 FROM users WHERE id = ?1", [user], |_| Ok(()))
                    .optional()
                    .map_err(db)?;
                if exists.is_none() {
                    return Err(StoreError::NotFound { what: "user" });
                }
            }
            let id: i64 = tx
                .query_row(
                    "SELECT coalesce(max(id) + 1, ?1) FROM chats",
                    [FIRST_CHAT_ID],
                    |r| r.get(0),
                )
                .map_err(db)?;
            tx.execute(
                "INSERT INTO chats(id, title, creator, date) VALUES (?1, ?2, ?3, ?4)",
                params![id, title, creator, date],
            )
            .map_err(db)?;
            for user in &users {
                tx.execute(
                    "INSERT INTO chat_members(chat, user_id, inviter, date) VALUES (?1, ?2, ?3, ?4)",
                    params![id, user, creator, date],
                )
                .map_err(db)?;
            }
            let action = ServiceAction::ChatCreate {
                title: title.to_owned(),
                users: users.clone(),
            };
            let sent = write(tx, service(id, creator, date, action, users))?;
            let chat = get_chat(tx, id)?.ok_or(StoreError::NotFound { what: "chat" })?;
            Ok((chat, sent))
        })
    }

    fn chat(&self, id: i64) -> Result<Option<Chat>, StoreError> {
        self.read(|c| get_chat(c, id))
    }

    fn chats(&self, ids: &[i64]) -> Result<Vec<Chat>, StoreError> {
        self.read(|c| {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                found.extend(get_chat(c, *id)?);
            }
            found.sort_by_key(|c| c.id);
            found.dedup_by_key(|c| c.id);
            Ok(found)
        })
    }

    fn chat_members(&self, chat: i64) -> Result<Vec<ChatMember>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CHAT_MEMBER_COLUMNS} FROM chat_members WHERE chat = ?1
                 ORDER BY date, user_id"
            ))?;
            let rows = stmt.query_map([chat], |r| via(r, rows::chat_member_at))?;
            rows.collect()
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
            if let Some(own) = sent_before(tx, from, random_id)? {
                return Ok(ChatSent {
                    own,
                    others: Vec::new(),
                    duplicate: true,
                });
            }
            open_chat_of(tx, chat, from)?;
            let boxes = boxes_from(&member_ids(tx, chat)?, from);
            write(
                tx,
                ChatWrite {
                    chat,
                    from,
                    text,
                    random_id: Some(random_id),
                    date,
                    extras,
                    action: None,
                    boxes,
                },
            )
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
            open_chat_of(tx, chat, inviter)?;
            let mut members = member_ids(tx, chat)?;
            let added = match new_members(&members, users) {
                Ok(added) if added.is_empty() => return Ok(None),
                other => other?,
            };
            for user in &added {
                let exists = tx
                    .query_row("SELECT 1 FROM users WHERE id = ?1", [user], |_| Ok(()))
                    .optional()
                    .map_err(db)?;
                if exists.is_none() {
                    return Err(StoreError::NotFound { what: "user" });
                }
            }
            for user in &added {
                tx.execute(
                    "INSERT INTO chat_members(chat, user_id, inviter, date) VALUES (?1, ?2, ?3, ?4)",
                    params![chat, user, inviter, date],
                )
                .map_err(db)?;
            }
            bump_version(tx, chat)?;
            members.extend(&added);
            let action = ServiceAction::AddUsers { users: added };
            let boxes = boxes_from(&members, inviter);
            write(tx, service(chat, inviter, date, action, boxes)).map(Some)
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
            open_chat_of(tx, chat, by)?;
            let members = member_ids(tx, chat)?;
            if !members.contains(&user) {
                return Ok(None);
            }
            tx.execute(
                "DELETE FROM chat_members WHERE chat = ?1 AND user_id = ?2",
                params![chat, user],
            )
            .map_err(db)?;
            bump_version(tx, chat)?;
            // The removed member gets the service message too: the last they see of it.
            let sent = write(
                tx,
                service(
                    chat,
                    by,
                    date,
                    ServiceAction::DeleteUser { user },
                    boxes_from(&members, by),
                ),
            )?;
            Ok(Some(sent))
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
            let found = open_chat_of(tx, chat, by)?;
            if found.title == title {
                return Ok(None);
            }
            tx.execute(
                "UPDATE chats SET title = ?2 WHERE id = ?1",
                params![chat, title],
            )
            .map_err(db)?;
            let boxes = boxes_from(&member_ids(tx, chat)?, by);
            let sent = write(
                tx,
                service(
                    chat,
                    by,
                    date,
                    ServiceAction::EditTitle {
                        title: title.to_owned(),
                    },
                    boxes,
                ),
            )?;
            Ok(Some(sent))
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
            open_chat_of(tx, chat, by)?;
            let boxes = boxes_from(&member_ids(tx, chat)?, by);
            let sent = write(
                tx,
                service(chat, by, date, ServiceAction::MigrateTo { channel }, boxes),
            )?;
            tx.execute(
                "UPDATE chats SET migrated_to = ?2, version = version + 1 WHERE id = ?1",
                params![chat, channel],
            )
            .map_err(db)?;
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
            open_chat_of(tx, chat, by)?;
            let members = member_ids(tx, chat)?;
            // The key every copy of the message shares: its sender and the sender's id.
            let key: Option<(i64, i32)> = match id {
                Some(id) => Some(
                    tx.query_row(
                        "SELECT from_id, coalesce(copy_id, id) FROM messages
                         WHERE owner = ?1 AND id = ?2 AND peer = ?3",
                        params![by, id, peer],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(db)?
                    .ok_or(StoreError::NotFound { what: "message" })?,
                ),
                None => None,
            };
            let mut committed = Vec::new();
            for &owner in &members {
                let changed: Vec<i32> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT id FROM messages WHERE owner = ?1 AND peer = ?2
                             AND (?3 IS NULL OR (from_id = ?3 AND coalesce(copy_id, id) = ?4))
                             AND pinned != ?5",
                        )
                        .map_err(db)?;
                    let (sender, shared) = key.unzip();
                    let rows = stmt
                        .query_map(params![owner, peer, sender, shared, pinned], |r| r.get(0))
                        .map_err(db)?;
                    rows.collect::<rusqlite::Result<_>>().map_err(db)?
                };
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
                committed.extend(write(tx, notice)?.all());
            }
            Ok(committed)
        })
    }
}
