//! Scheduled messages in PostgreSQL: see [`server_kit_store::scheduled`]. Nodes claim due
//! messages with `FOR UPDATE SKIP LOCKED`, so two nodes polling at once take different ones.

use super::{PgStore, R, Tx, via};
use server_kit_store::rows::{self, SCHEDULED_COLUMNS};
use server_kit_store::scheduled::{NewScheduled, ScheduledMessage, ScheduledStore};
use server_kit_store::{DialogPeer, MediaRef, StoreError};

/// Scheduled messages (text as UTF-8 bytes, as every user-written string), and each author's
/// last id handed out (so that ids are never reused).
pub(crate) const SCHEMA_V18: &str = "
CREATE TABLE scheduled_messages(
    owner BIGINT NOT NULL, id INTEGER NOT NULL, peer_kind INTEGER NOT NULL, peer BIGINT NOT NULL,
    text BYTEA NOT NULL, random_id BIGINT NOT NULL, date INTEGER NOT NULL,
    media_kind BIGINT NOT NULL, media_id BIGINT NOT NULL, reply_to INTEGER,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(owner, id), UNIQUE(owner, random_id));
CREATE INDEX scheduled_messages_due ON scheduled_messages(date);
CREATE TABLE scheduled_ids(owner BIGINT PRIMARY KEY, last_id INTEGER NOT NULL);
";

/// Sorted soonest first (what `RETURNING` does not promise).
fn soonest_first(mut claimed: Vec<ScheduledMessage>) -> Vec<ScheduledMessage> {
    claimed.sort_by_key(|m| (m.message.date, m.owner, m.id));
    claimed
}

/// Claims until `until` at most `limit` rows `picked` (a condition over `$1` = now and the
/// further parameters) selects, skipping rows another transaction holds.
fn claim(
    tx: &mut Tx<'_, '_>,
    picked: &str,
    limit: usize,
    until: i32,
    params: &[&(dyn ::postgres::types::ToSql + Sync)],
) -> R<Vec<ScheduledMessage>> {
    let sql = format!(
        "UPDATE scheduled_messages SET claimed_until = {until}
         WHERE (owner, id) IN (SELECT owner, id FROM scheduled_messages
             WHERE claimed_until <= $1 AND {picked}
             ORDER BY date, owner, id LIMIT {limit} FOR UPDATE SKIP LOCKED)
         RETURNING {SCHEDULED_COLUMNS}"
    );
    let claimed = tx
        .query(&sql, params)?
        .iter()
        .map(|r| via(r, rows::scheduled_at, 0))
        .collect::<R<Vec<_>>>()?;
    Ok(soonest_first(claimed))
}

impl ScheduledStore for PgStore {
    fn schedule(&self, owner: i64, message: &NewScheduled) -> Result<ScheduledMessage, StoreError> {
        let (kind, peer) = message.peer.to_columns();
        let (media_kind, media_id) = MediaRef::to_columns(message.media);
        let kept = format!(
            "SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages WHERE owner = $1 AND random_id = $2"
        );
        self.tx(|tx| {
            if let Some(row) = tx.query_opt(&kept, &[&owner, &message.random_id])? {
                return via(&row, rows::scheduled_at, 0);
            }
            let id: i32 = tx
                .query_one(
                    "INSERT INTO scheduled_ids(owner, last_id) VALUES ($1, 1)
                     ON CONFLICT(owner) DO UPDATE SET last_id = scheduled_ids.last_id + 1
                     RETURNING last_id",
                    &[&owner],
                )?
                .try_get(0)?;
            let inserted = tx.execute(
                "INSERT INTO scheduled_messages(owner, id, peer_kind, peer, text, random_id, date,
                     media_kind, media_id, reply_to)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT(owner, random_id) DO NOTHING",
                &[
                    &owner,
                    &id,
                    &kind,
                    &peer,
                    &message.text.as_bytes(),
                    &message.random_id,
                    &message.date,
                    &media_kind,
                    &media_id,
                    &message.reply_to,
                ],
            )?;
            if inserted == 0 {
                // Scheduled meanwhile by a concurrent call with the same random_id.
                let row = tx.query_one(&kept, &[&owner, &message.random_id])?;
                return via(&row, rows::scheduled_at, 0);
            }
            Ok(ScheduledMessage {
                owner,
                id,
                message: message.clone(),
            })
        })
    }

    fn scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: Option<&[i32]>,
    ) -> Result<Vec<ScheduledMessage>, StoreError> {
        let (kind, peer) = peer.to_columns();
        let ids: Option<Vec<i32>> = ids.map(<[i32]>::to_vec);
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages
                     WHERE owner = $1 AND peer_kind = $2 AND peer = $3
                         AND ($4::INTEGER[] IS NULL OR id = ANY($4))
                     ORDER BY date, id"
                ),
                &[&owner, &kind, &peer, &ids],
            )?
            .iter()
            .map(|r| via(r, rows::scheduled_at, 0))
            .collect()
        })
    }

    fn delete_scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: &[i32],
    ) -> Result<Vec<i32>, StoreError> {
        let (kind, peer) = peer.to_columns();
        let ids = ids.to_vec();
        self.read(|c| {
            let mut deleted = c
                .query(
                    "DELETE FROM scheduled_messages
                     WHERE owner = $1 AND peer_kind = $2 AND peer = $3 AND id = ANY($4)
                     RETURNING id",
                    &[&owner, &kind, &peer, &ids],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<Vec<i32>, _>>()?;
            deleted.sort_unstable();
            Ok(deleted)
        })
    }

    fn claim_due(
        &self,
        now: i32,
        until: i32,
        limit: usize,
    ) -> Result<Vec<ScheduledMessage>, StoreError> {
        self.tx(|tx| claim(tx, "date <= $1", limit, until, &[&now]))
    }

    fn claim_scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: &[i32],
        now: i32,
        until: i32,
    ) -> Result<Vec<ScheduledMessage>, StoreError> {
        let (kind, peer) = peer.to_columns();
        let ids = ids.to_vec();
        self.tx(|tx| {
            claim(
                tx,
                "owner = $2 AND peer_kind = $3 AND peer = $4 AND id = ANY($5)",
                ids.len(),
                until,
                &[&now, &owner, &kind, &peer, &ids],
            )
        })
    }
}
