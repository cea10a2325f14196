//! Pinned dialogs in SQLite: see [`server_kit_store::pinned_dialogs`].

use crate::{SqliteStore, db};
use rusqlite::{Transaction, params};
use server_kit_store::pinned_dialogs::PinnedDialogStore;
use server_kit_store::{DialogPeer, StoreError};

/// The SQLite tables of this module, created when the store opens: each pinned dialog with
/// its position (the highest on top).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pinned_dialogs(
    owner INTEGER NOT NULL, peer_kind INTEGER NOT NULL, peer INTEGER NOT NULL,
    position INTEGER NOT NULL, PRIMARY KEY(owner, peer_kind, peer));
";

/// Pins `peer` above every pinned dialog of the owner (moving it there if pinned).
fn pin_on_top(tx: &Transaction<'_>, owner: i64, peer: DialogPeer) -> Result<(), StoreError> {
    let (kind, id) = peer.to_columns();
    tx.execute(
        "INSERT INTO pinned_dialogs(owner, peer_kind, peer, position)
         VALUES (?1, ?2, ?3, (SELECT coalesce(max(position), 0) + 1 FROM pinned_dialogs
                              WHERE owner = ?1))
         ON CONFLICT(owner, peer_kind, peer) DO UPDATE SET position = excluded.position",
        params![owner, kind, id],
    )
    .map_err(db)?;
    Ok(())
}

impl PinnedDialogStore for SqliteStore {
    fn pinned_dialogs(&self, owner: i64) -> Result<Vec<DialogPeer>, StoreError> {
        let rows = self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT peer_kind, peer FROM pinned_dialogs WHERE owner = ?1
                 ORDER BY position DESC",
            )?;
            let rows = stmt.query_map([owner], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<(i32, i64)>>>()
        })?;
        rows.into_iter()
            .map(|(kind, id)| DialogPeer::from_columns(kind, id))
            .collect()
    }

    fn pin_dialog(&self, owner: i64, peer: DialogPeer, pinned: bool) -> Result<bool, StoreError> {
        let (kind, id) = peer.to_columns();
        self.tx(|tx| {
            let was = tx
                .query_row(
                    "SELECT count(*) FROM pinned_dialogs
                     WHERE owner = ?1 AND peer_kind = ?2 AND peer = ?3",
                    params![owner, kind, id],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(db)?
                > 0;
            if was == pinned {
                return Ok(false);
            }
            if pinned {
                pin_on_top(tx, owner, peer)?;
            } else {
                tx.execute(
                    "DELETE FROM pinned_dialogs WHERE owner = ?1 AND peer_kind = ?2 AND peer = ?3",
                    params![owner, kind, id],
                )
                .map_err(db)?;
            }
            Ok(true)
        })
    }

    fn reorder_pinned_dialogs(
        &self,
        owner: i64,
        order: &[DialogPeer],
        force: bool,
    ) -> Result<(), StoreError> {
        self.tx(|tx| {
            if force {
                tx.execute("DELETE FROM pinned_dialogs WHERE owner = ?1", [owner])
                    .map_err(db)?;
            }
            // Bottom first, each on top of the last: `order`'s first ends on top.
            let mut seen = Vec::with_capacity(order.len());
            for peer in order {
                if !seen.contains(peer) {
                    seen.push(*peer);
                }
            }
            for peer in seen.iter().rev() {
                pin_on_top(tx, owner, *peer)?;
            }
            Ok(())
        })
    }
}
