//! Pinned dialogs in PostgreSQL: see [`server_kit_store::pinned_dialogs`]. Writers of one
//! owner's list take turns on the owner's user row.

use super::{PgStore, R, Tx, col, lock_users};
use server_kit_store::pinned_dialogs::PinnedDialogStore;
use server_kit_store::{DialogPeer, StoreError};

/// Pinned dialogs, each with its position (the highest on top).
pub(crate) const SCHEMA_V19: &str = "
CREATE TABLE pinned_dialogs(
    owner BIGINT NOT NULL, peer_kind INTEGER NOT NULL, peer BIGINT NOT NULL,
    position BIGINT NOT NULL, PRIMARY KEY(owner, peer_kind, peer));
";

/// Pins `peer` above every pinned dialog of the owner (moving it there if pinned).
fn pin_on_top(tx: &mut Tx<'_, '_>, owner: i64, peer: DialogPeer) -> R<()> {
    let (kind, id) = peer.to_columns();
    tx.execute(
        "INSERT INTO pinned_dialogs(owner, peer_kind, peer, position)
         VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM pinned_dialogs
                              WHERE owner = $1))
         ON CONFLICT(owner, peer_kind, peer) DO UPDATE SET position = EXCLUDED.position",
        &[&owner, &kind, &id],
    )?;
    Ok(())
}

/// Locks the owner's row (their list's writers take turns); the owner must exist.
fn lock_owner(tx: &mut Tx<'_, '_>, owner: i64) -> R<()> {
    if lock_users(tx, &[owner])?.is_empty() {
        return Err(StoreError::NotFound { what: "user" }.into());
    }
    Ok(())
}

impl PinnedDialogStore for PgStore {
    fn pinned_dialogs(&self, owner: i64) -> Result<Vec<DialogPeer>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT peer_kind, peer FROM pinned_dialogs WHERE owner = $1
                 ORDER BY position DESC",
                &[&owner],
            )?
            .iter()
            .map(|r| Ok(DialogPeer::from_columns(col(r, 0)?, col(r, 1)?)?))
            .collect()
        })
    }

    fn pin_dialog(&self, owner: i64, peer: DialogPeer, pinned: bool) -> Result<bool, StoreError> {
        let (kind, id) = peer.to_columns();
        self.tx(|tx| {
            lock_owner(tx, owner)?;
            let was = tx
                .query_opt(
                    "SELECT 1 FROM pinned_dialogs WHERE owner = $1 AND peer_kind = $2 AND peer = $3",
                    &[&owner, &kind, &id],
                )?
                .is_some();
            if was == pinned {
                return Ok(false);
            }
            if pinned {
                pin_on_top(tx, owner, peer)?;
            } else {
                tx.execute(
                    "DELETE FROM pinned_dialogs WHERE owner = $1 AND peer_kind = $2 AND peer = $3",
                    &[&owner, &kind, &id],
                )?;
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
        let mut seen = Vec::with_capacity(order.len());
        for peer in order {
            if !seen.contains(peer) {
                seen.push(*peer);
            }
        }
        self.tx(|tx| {
            lock_owner(tx, owner)?;
            if force {
                tx.execute("DELETE FROM pinned_dialogs WHERE owner = $1", &[&owner])?;
            }
            // Bottom first, each on top of the last: `order`'s first ends on top.
            for peer in seen.iter().rev() {
                pin_on_top(tx, owner, *peer)?;
            }
            Ok(())
        })
    }
}
