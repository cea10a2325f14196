//! Secret chats in PostgreSQL: see [`server_kit_store::secret_chats`]. A key's qts box is a
//! row of `qts_boxes`, taken with `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, whose row
//! lock orders every writer of the box on any node (as `users.pts` does for pts). A send
//! reads its chat `FOR SHARE` and a discard updates it, so the two never interleave.

use super::{PgStore, R, Sql, Tx, col, taken, via};
use ::postgres::GenericClient;
use server_kit_store::StoreError;
use server_kit_store::secret_chats::{
    ENCRYPTED_FILE_COLUMNS, EncryptedFile, EncryptedMessage, QUEUED_COLUMNS, QUEUED_FROM, Queued,
    SECRET_CHAT_COLUMNS, SecretChat, SecretChatState, SecretChatStore, encrypted_file_at,
    queued_at, secret_chat_at,
};

/// Secret chats, the qts boxes of auth keys, their queues of encrypted messages, and
/// encrypted files.
pub(crate) const SCHEMA_V17: &str = "
CREATE TABLE secret_chats(
    id INTEGER PRIMARY KEY, access_hash BIGINT NOT NULL, date INTEGER NOT NULL,
    admin_id BIGINT NOT NULL, admin_key BIGINT NOT NULL, participant_id BIGINT NOT NULL,
    participant_key BIGINT, random_id INTEGER NOT NULL, g_a BYTEA NOT NULL, g_b BYTEA NOT NULL,
    key_fingerprint BIGINT NOT NULL, state INTEGER NOT NULL, history_deleted BOOLEAN NOT NULL,
    updated INTEGER NOT NULL, UNIQUE(admin_id, random_id));
CREATE INDEX secret_chats_by_participant ON secret_chats(participant_id, updated);
CREATE INDEX secret_chats_by_admin_key ON secret_chats(admin_key, updated);
CREATE TABLE qts_boxes(key_id BIGINT PRIMARY KEY, qts INTEGER NOT NULL);
CREATE TABLE encrypted_queue(
    key_id BIGINT NOT NULL, qts INTEGER NOT NULL, chat_id INTEGER NOT NULL,
    random_id BIGINT NOT NULL, date INTEGER NOT NULL, bytes BYTEA NOT NULL,
    service BOOLEAN NOT NULL, file_id BIGINT, PRIMARY KEY(key_id, qts));
CREATE UNIQUE INDEX encrypted_queue_by_random_id ON encrypted_queue(key_id, random_id);
CREATE INDEX encrypted_queue_by_chat ON encrypted_queue(chat_id);
CREATE TABLE encrypted_files(
    id BIGINT PRIMARY KEY, access_hash BIGINT NOT NULL, size BIGINT NOT NULL,
    dc_id INTEGER NOT NULL, key_fingerprint INTEGER NOT NULL, content TEXT NOT NULL,
    date INTEGER NOT NULL);
";

fn chat_by_id(c: &mut Sql<'_, impl GenericClient>, id: i32) -> R<Option<SecretChat>> {
    c.query_opt(
        &format!("SELECT {SECRET_CHAT_COLUMNS} FROM secret_chats WHERE id = $1"),
        &[&id],
    )?
    .map(|r| via(&r, secret_chat_at, 0))
    .transpose()
}

fn queued_entry(tx: &mut Tx<'_, '_>, key: i64, random_id: i64) -> R<Option<Queued>> {
    tx.query_opt(
        &format!(
            "SELECT {QUEUED_COLUMNS} FROM {QUEUED_FROM} WHERE q.key_id = $1 AND q.random_id = $2"
        ),
        &[&key, &random_id],
    )?
    .map(|r| via(&r, queued_at, 0))
    .transpose()
}

impl SecretChatStore for PgStore {
    fn create_secret_chat(&self, chat: &SecretChat) -> Result<SecretChat, StoreError> {
        let (state, history_deleted) = chat.state.to_columns();
        self.tx(|tx| {
            let earlier = tx.query_opt(
                &format!(
                    "SELECT {SECRET_CHAT_COLUMNS} FROM secret_chats
                     WHERE admin_id = $1 AND random_id = $2"
                ),
                &[&chat.admin, &chat.random_id],
            )?;
            if let Some(earlier) = earlier {
                return via(&earlier, secret_chat_at, 0);
            }
            tx.execute(
                &format!(
                    "INSERT INTO secret_chats({SECRET_CHAT_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                ),
                &[
                    &chat.id,
                    &chat.access_hash,
                    &chat.date,
                    &chat.admin,
                    &chat.admin_key,
                    &chat.participant,
                    &chat.participant_key,
                    &chat.random_id,
                    &chat.g_a,
                    &chat.g_b,
                    &chat.key_fingerprint,
                    &state,
                    &history_deleted,
                    &chat.updated,
                ],
            )
            .map_err(taken("secret chat id"))?;
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
            let row = tx.query_opt(
                &format!(
                    "UPDATE secret_chats SET participant_key = $2, g_b = $3, key_fingerprint = $4,
                         state = $5, updated = $6
                     WHERE id = $1 AND state = $7 RETURNING {SECRET_CHAT_COLUMNS}"
                ),
                &[
                    &id,
                    &participant_key,
                    &g_b,
                    &key_fingerprint,
                    &accepted,
                    &date,
                    &requested,
                ],
            )?;
            row.map(|r| via(&r, secret_chat_at, 0)).transpose()
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
            let row = tx.query_opt(
                &format!(
                    "UPDATE secret_chats SET g_a = ''::bytea, g_b = ''::bytea, state = $2,
                         history_deleted = $3, updated = $4
                     WHERE id = $1 AND state <> $2 RETURNING {SECRET_CHAT_COLUMNS}"
                ),
                &[&id, &discarded, &history_deleted, &date],
            )?;
            let Some(row) = row else {
                return Ok(None);
            };
            tx.execute("DELETE FROM encrypted_queue WHERE chat_id = $1", &[&id])?;
            via(&row, secret_chat_at, 0).map(Some)
        })
    }

    fn secret_chats_changed(
        &self,
        user: i64,
        key: i64,
        since: i32,
    ) -> Result<Vec<SecretChat>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {SECRET_CHAT_COLUMNS} FROM secret_chats
                     WHERE updated >= $3 AND ((admin_id = $1 AND admin_key = $2)
                         OR (participant_id = $1
                             AND (participant_key IS NULL OR participant_key = $2)))
                     ORDER BY updated, id"
                ),
                &[&user, &key, &since],
            )?
            .iter()
            .map(|r| via(r, secret_chat_at, 0))
            .collect()
        })
    }

    fn queue_encrypted(
        &self,
        key: i64,
        message: &EncryptedMessage,
    ) -> Result<(Queued, bool), StoreError> {
        let (accepted, _) = SecretChatState::Accepted.to_columns();
        let file_id = message.file.as_ref().map(|f| f.id);
        self.tx(|tx| {
            let open = tx.query_opt(
                "SELECT 1 FROM secret_chats WHERE id = $1 AND state = $2 FOR SHARE",
                &[&message.chat_id, &accepted],
            )?;
            if open.is_none() {
                return Err(StoreError::NotFound {
                    what: "accepted secret chat",
                }
                .into());
            }
            if let Some(earlier) = queued_entry(tx, key, message.random_id)? {
                return Ok((earlier, false));
            }
            let qts: i32 = col(
                &tx.query_one(
                    "INSERT INTO qts_boxes(key_id, qts) VALUES ($1, 1)
                     ON CONFLICT(key_id) DO UPDATE SET qts = qts_boxes.qts + 1 RETURNING qts",
                    &[&key],
                )?,
                0,
            )?;
            tx.execute(
                "INSERT INTO encrypted_queue(key_id, qts, chat_id, random_id, date, bytes,
                     service, file_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &key,
                    &qts,
                    &message.chat_id,
                    &message.random_id,
                    &message.date,
                    &message.bytes,
                    &message.service,
                    &file_id,
                ],
            )?;
            let queued = queued_entry(tx, key, message.random_id)?
                .ok_or_else(|| StoreError::Database("the queued entry vanished".into()))?;
            Ok((queued, true))
        })
    }

    fn qts(&self, key: i64) -> Result<i32, StoreError> {
        self.read(|c| {
            c.query_opt("SELECT qts FROM qts_boxes WHERE key_id = $1", &[&key])?
                .map(|r| col(&r, 0))
                .transpose()
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
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {QUEUED_COLUMNS} FROM {QUEUED_FROM}
                     WHERE q.key_id = $1 AND q.qts > $2 ORDER BY q.qts LIMIT $3"
                ),
                &[&key, &qts, &limit],
            )?
            .iter()
            .map(|r| via(r, queued_at, 0))
            .collect()
        })
    }

    fn ack_encrypted(&self, key: i64, max_qts: i32) -> Result<Vec<i64>, StoreError> {
        self.tx(|tx| {
            // DELETE ... RETURNING gives no order: sort by qts afterwards.
            let mut acked: Vec<(i32, i64)> = tx
                .query(
                    "DELETE FROM encrypted_queue WHERE key_id = $1 AND qts <= $2
                     RETURNING qts, random_id",
                    &[&key, &max_qts],
                )?
                .iter()
                .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
                .collect::<R<_>>()?;
            acked.sort_unstable();
            Ok(acked.into_iter().map(|(_, id)| id).collect())
        })
    }

    fn end_secret_device(&self, key: i64, date: i32) -> Result<Vec<SecretChat>, StoreError> {
        let (discarded, _) = SecretChatState::Discarded {
            history_deleted: false,
        }
        .to_columns();
        self.tx(|tx| {
            let mut ended = tx
                .query(
                    &format!(
                        "UPDATE secret_chats SET g_a = ''::bytea, g_b = ''::bytea, state = $2,
                             history_deleted = FALSE, updated = $3
                         WHERE (admin_key = $1 OR participant_key = $1) AND state <> $2
                         RETURNING {SECRET_CHAT_COLUMNS}"
                    ),
                    &[&key, &discarded, &date],
                )?
                .iter()
                .map(|r| via(r, secret_chat_at, 0))
                .collect::<R<Vec<SecretChat>>>()?;
            ended.sort_by_key(|c| c.id);
            let ids: Vec<i32> = ended.iter().map(|c| c.id).collect();
            tx.execute(
                "DELETE FROM encrypted_queue WHERE chat_id = ANY($1) OR key_id = $2",
                &[&ids, &key],
            )?;
            tx.execute("DELETE FROM qts_boxes WHERE key_id = $1", &[&key])?;
            Ok(ended)
        })
    }

    fn insert_encrypted_file(&self, file: &EncryptedFile) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                &format!(
                    "INSERT INTO encrypted_files({ENCRYPTED_FILE_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                &[
                    &file.id,
                    &file.access_hash,
                    &file.size,
                    &file.dc_id,
                    &file.key_fingerprint,
                    &file.content,
                    &file.date,
                ],
            )?;
            Ok(())
        })
    }

    fn encrypted_file(&self, id: i64) -> Result<Option<EncryptedFile>, StoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {ENCRYPTED_FILE_COLUMNS} FROM encrypted_files WHERE id = $1"),
                &[&id],
            )?
            .map(|r| via(&r, encrypted_file_at, 0))
            .transpose()
            .map(Option::flatten)
        })
    }
}
