//! Drafts in SQLite: see [`server_kit_store::drafts`].

use crate::SqliteStore;
use rusqlite::params;
use server_kit_store::DialogPeer;
use server_kit_store::StoreError;
use server_kit_store::drafts::{Draft, DraftStore};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS drafts(
    owner INTEGER NOT NULL, peer_kind INTEGER NOT NULL, peer INTEGER NOT NULL,
    text TEXT NOT NULL, reply_to INTEGER, no_webpage INTEGER NOT NULL, date INTEGER NOT NULL,
    PRIMARY KEY(owner, peer_kind, peer));
";

impl DraftStore for SqliteStore {
    fn save_draft(
        &self,
        owner: i64,
        peer: DialogPeer,
        draft: Option<&Draft>,
    ) -> Result<bool, StoreError> {
        let (kind, id) = peer.to_columns();
        self.with(|c| match draft {
            Some(d) => c.execute(
                "INSERT INTO drafts(owner, peer_kind, peer, text, reply_to, no_webpage, date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(owner, peer_kind, peer) DO UPDATE SET text = ?4, reply_to = ?5,
                     no_webpage = ?6, date = ?7",
                params![owner, kind, id, d.text, d.reply_to, d.no_webpage, d.date],
            ),
            None => c.execute(
                "DELETE FROM drafts WHERE owner = ?1 AND peer_kind = ?2 AND peer = ?3",
                params![owner, kind, id],
            ),
        })
        .map(|changed| changed > 0)
    }

    fn drafts(&self, owner: i64) -> Result<Vec<(DialogPeer, Draft)>, StoreError> {
        let rows = self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT peer_kind, peer, text, reply_to, no_webpage, date FROM drafts
                 WHERE owner = ?1 ORDER BY date DESC, peer_kind, peer",
            )?;
            let rows = stmt.query_map([owner], |r| {
                Ok((
                    r.get::<_, i32>(0)?,
                    r.get::<_, i64>(1)?,
                    Draft {
                        text: r.get(2)?,
                        reply_to: r.get(3)?,
                        no_webpage: r.get(4)?,
                        date: r.get(5)?,
                    },
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(kind, id, draft)| Ok((DialogPeer::from_columns(kind, id)?, draft)))
            .collect()
    }
}
