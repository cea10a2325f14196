//! Secret chats in SQLite: see [`server_kit_store::secret_chats`].

use crate::{SqliteStore, db, taken, via};
use rusqlite::{OptionalExtension, Transaction, params};
use server_kit_store::StoreError;
use server_kit_store::secret_chats::{
    ENCRYPTED_FILE_COLUMNS, EncryptedFile, EncryptedMessage, QUEUED_COLUMNS, QUEUED_FROM, Queued,
    SECRET_CHAT_COLUMNS, SecretChat, SecretChatState, SecretChatStore, encrypted_file_at,
    queued_at, secret_chat_at,
};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS secret_chats(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, date INTEGER NOT NULL,
    admin_id INTEGER NOT NULL, admin_key INTEGER NOT NULL, participant_id INTEGER NOT NULL,
    participant_key INTEGER, random_id INTEGER NOT NULL, g_a BLOB NOT NULL, g_b BLOB NOT NULL,
    key_fingerprint INTEGER NOT NULL, state INTEGER NOT NULL, history_deleted INTEGER NOT NULL,
    updated INTEGER NOT NULL, UNIQUE(admin_id, random_id));
CREATE INDEX IF NOT EXISTS secret_chats_by_participant ON secret_chats(participant_id, updated);
CREATE INDEX IF NOT EXISTS secret_chats_by_admin_key ON secret_chats(admin_key, updated);
CREATE TABLE IF NOT EXISTS qts_boxes(key_id INTEGER PRIMARY KEY, qts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS encrypted_queue(
    key_id INTEGER NOT NULL, qts INTEGER NOT NULL, chat_id INTEGER NOT NULL,
    random_id INTEGER NOT NULL, date INTEGER NOT NULL, bytes BLOB NOT NULL,
    service INTEGER NOT NULL, file_id INTEGER, PRIMARY KEY(key_id, qts));
CREATE UNIQUE INDEX IF NOT EXISTS encrypted_queue_by_random_id
    ON encrypted_queue(key_id, random_id);
CREATE INDEX IF NOT EXISTS encrypted_queue_by_chat ON encrypted_queue(chat_id);
CREATE TABLE IF NOT EXISTS encrypted_files(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, size INTEGER NOT NULL,
    dc_id INTEGER NOT NULL, key_fingerprint INTEGER NOT NULL, content TEXT NOT NULL,
    date INTEGER NOT NULL);
";

fn chat_by_id(tx: &rusqlite::Connection, id: i32) -> Result<Option<SecretChat>, StoreError> {
    tx.query_row(
        &format!("SELECT {SECRET_CHAT_COLUMNS} FROM secret_chats WHERE id = ?1"),
        [id],
        |r| via(r, secret_chat_at),
    )
    .optional()
    .map_err(db)
}

fn queued_entry(
    tx: &Transaction<'_>,
    key: i64,
    random_id: i64,
) -> Result<Option<Queued>, StoreError> {
    tx.query_row(
        &format!(
            "SELECT {QUEUED_COLUMNS} FROM {QUEUED_FROM} WHERE q.key_id = ?1 AND q.random_id = ?2"
        ),
        params![key, random_id],
        |r| via(r, queued_at),
    )
    .optional()
    .map_err(db)
}

impl SecretChatStore for SqliteStore {
    fn create_secret_chat(&self, chat: &SecretChat) -> Result<SecretChat, StoreError> {
        self.tx(|tx| {
            let earlier = tx
                .query_row(
                    &format!(
                        "SELECT {SECRET_CHAT_COLUMNS} FROM secret_chats
                         WHERE admin_id = ?1 AND random_id = ?2"
                    ),
                    params![chat.admin, chat.random_id],
                    |r| via(r, secret_chat_at),
                )
                .optional()
                .map_err(db)?;
            if let Some(earlier) = earlier {
                return Ok(earlier);
            }
            let (state, history_deleted) = chat.state.to_columns();
            tx.execute(
                &format!(
                    "INSERT INTO secret_chats({SECRET_CHAT_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ),
                params![
                    chat.id,
                    chat.access_hash,
                    chat.date,
                    chat.admin,
                    chat.admin_key,
                    chat.participant,
                    chat.participant_key,
                    chat.random_id,
                    chat.g_a,
                    chat.g_b,
                    chat.key_fingerprint,
                    state,
                    history_deleted,
                    chat.updated,
                ],
            )
            .map_err(|e| taken(e, "secret chat id"))?;
            Ok(chat.clone())
        })
    }

    fn secret_chat(&self, id: i32) -> Result<Option<SecretChat>, StoreError> {
        self.read(|c| chat_by_id(c, id))
    }

    fn accept_secret_chat(
        &self,
        id: i32,
        participant_key: i64,
        g_b: &[u8],
        key_fingerprint: i64,
        date: i32,
    ) -> Result<Option<SecretChat>, StoreError> {
        let (requested, _) = SecretChatState::Requested.to_columns();
        let (accepted, _) = SecretChatState::Accepted.to_columns();
        self.tx(|tx| {
            let changed = tx
                .execute(
                    "UPDATE secret_chats SET participant_key = ?2, g_b = ?3, key_fingerprint = ?4,
                         state = ?5, updated = ?6
                     WHERE id = ?1 AND state = ?7",
                    params![
                        id,
                        participant_key,
                        g_b,
                        key_fingerprint,
                        accepted,
                        date,
                        requested
                    ],
                )
                .map_err(db)?;
            if changed == 0 {
                return Ok(None);
            }
            chat_by_id(tx, id)
        })
    }

    fn discard_secret_chat(
        &self,
        id: i32,
        history_deleted: bool,
        date: i32,
    ) -> Result<Option<SecretChat>, StoreError> {
        let (discarded, _) = SecretChatState::Discarded { history_deleted }.to_columns();
        self.tx(|tx| {
            let changed = tx
                .execute(
                    "UPDATE secret_chats SET g_a = x'', g_b = x'', state = ?2,
                         history_deleted = ?3, updated = ?4
                     WHERE id = ?1 AND state <> ?2",
                    params![id, discarded, history_deleted, date],
                )
                .map_err(db)?;
            if changed == 0 {
                return Ok(None);
            }
            tx.execute("DELETE FROM encrypted_queue WHERE chat_id = ?1", [id])
                .map_err(db)?;
            chat_by_id(tx, id)
        })
    }

    fn secret_chats_changed(
        &self,
        user: i64,
        key: i64,
        since: i32,
    ) -> Result<Vec<SecretChat>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {SECRET_CHAT_COLUMNS} FROM secret_chats
                 WHERE updated >= ?3 AND ((admin_id = ?1 AND admin_key = ?2)
                     OR (participant_id = ?1 AND (participant_key IS NULL OR participant_key = ?2)))
                 ORDER BY updated, id"
            ))?;
            let rows = stmt.query_map(params![user, key, since], |r| via(r, secret_chat_at))?;
            rows.collect()
        })
    }

    fn queue_encrypted(
        &self,
        key: i64,
        message: &EncryptedMessage,
    ) -> Result<(Queued, bool), StoreError> {
        let (accepted, _) = SecretChatState::Accepted.to_columns();
        self.tx(|tx| {
            let open = tx
                .query_row(
                    "SELECT 1 FROM secret_chats WHERE id = ?1 AND state = ?2",
                    params![message.chat_id, accepted],
                    |_| Ok(()),
                )
                .optional()
                .map_err(db)?;
            if open.is_none() {
                return Err(StoreError::NotFound {
                    what: "accepted secret chat",
                });
            }
            if let Some(earlier) = queued_entry(tx, key, message.random_id)? {
                return Ok((earlier, false));
            }
            let qts: i32 = tx
                .query_row(
                    "INSERT INTO qts_boxes(key_id, qts) VALUES (?1, 1)
                     ON CONFLICT(key_id) DO UPDATE SET qts = qts + 1 RETURNING qts",
                    [key],
                    |r| r.get(0),
                )
                .map_err(db)?;
            tx.execute(
                "INSERT INTO encrypted_queue(key_id, qts, chat_id, random_id, date, bytes,
                     service, file_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    key,
                    qts,
                    message.chat_id,
                    message.random_id,
                    message.date,
                    message.bytes,
                    message.service,
                    message.file.as_ref().map(|f| f.id),
                ],
            )
            .map_err(db)?;
            let queued = queued_entry(tx, key, message.random_id)?
                .ok_or_else(|| StoreError::Database("the queued entry vanished".into()))?;
            Ok((queued, true))
        })
    }

    fn qts(&self, key: i64) -> Result<i32, StoreError> {
        self.with(|c| {
            c.query_row("SELECT qts FROM qts_boxes WHERE key_id = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::unwrap_or_default)
        })
    }

    fn queued_encrypted(
        &self,
        key: i64,
        qts: i32,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {QUEUED_COLUMNS} FROM {QUEUED_FROM}
                 WHERE q.key_id = ?1 AND q.qts > ?2 ORDER BY q.qts LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![key, qts, limit], |r| via(r, queued_at))?;
            rows.collect()
        })
    }

    fn ack_encrypted(&self, key: i64, max_qts: i32) -> Result<Vec<i64>, StoreError> {
        self.tx(|tx| {
            let ids = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT random_id FROM encrypted_queue WHERE key_id = ?1 AND qts <= ?2
                         ORDER BY qts",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map(params![key, max_qts], |r| r.get(0))
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<Vec<i64>>>().map_err(db)?
            };
            tx.execute(
                "DELETE FROM encrypted_queue WHERE key_id = ?1 AND qts <= ?2",
                params![key, max_qts],
            )
            .map_err(db)?;
            Ok(ids)
        })
    }

    fn end_secret_device(&self, key: i64, date: i32) -> Result<Vec<SecretChat>, StoreError> {
        let (discarded, _) = SecretChatState::Discarded {
            history_deleted: false,
        }
        .to_columns();
        self.tx(|tx| {
            let ids = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id FROM secret_chats
                         WHERE (admin_key = ?1 OR participant_key = ?1) AND state <> ?2
                         ORDER BY id",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map(params![key, discarded], |r| r.get::<_, i32>(0))
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<Vec<i32>>>().map_err(db)?
            };
            let mut ended = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute(
                    "UPDATE secret_chats SET g_a = x'', g_b = x'', state = ?2,
                         history_deleted = 0, updated = ?3
                     WHERE id = ?1",
                    params![id, discarded, date],
                )
                .map_err(db)?;
                tx.execute("DELETE FROM encrypted_queue WHERE chat_id = ?1", [id])
                    .map_err(db)?;
                ended.extend(chat_by_id(tx, id)?);
            }
            tx.execute("DELETE FROM encrypted_queue WHERE key_id = ?1", [key])
                .map_err(db)?;
            tx.execute("DELETE FROM qts_boxes WHERE key_id = ?1", [key])
                .map_err(db)?;
            Ok(ended)
        })
    }

    fn insert_encrypted_file(&self, file: &EncryptedFile) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                &format!(
                    "INSERT INTO encrypted_files({ENCRYPTED_FILE_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    file.id,
                    file.access_hash,
                    file.size,
                    file.dc_id,
                    file.key_fingerprint,
                    file.content,
                    file.date
                ],
            )
            .map(|_| ())
        })
    }

    fn encrypted_file(&self, id: i64) -> Result<Option<EncryptedFile>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {ENCRYPTED_FILE_COLUMNS} FROM encrypted_files WHERE id = ?1"),
                [id],
                |r| via(r, encrypted_file_at),
            )
            .optional()
            .map(Option::flatten)
        })
    }
}
