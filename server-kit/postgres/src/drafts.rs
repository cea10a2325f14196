//! Drafts in PostgreSQL: see [`server_kit_store::drafts`].

use super::{PgStore, col, text};
use server_kit_store::DialogPeer;
use server_kit_store::StoreError;
use server_kit_store::drafts::{Draft, DraftStore};

/// Drafts, one per user and chat (the text as UTF-8 bytes, as every user-written string).
pub(crate) const SCHEMA_V12: &str = "
CREATE TABLE drafts(
    owner BIGINT NOT NULL, peer_kind INTEGER NOT NULL, peer BIGINT NOT NULL,
    text BYTEA NOT NULL, reply_to INTEGER, no_webpage BOOLEAN NOT NULL, date INTEGER NOT NULL,
    PRIMARY KEY(owner, peer_kind, peer));
";

impl DraftStore for PgStore {
    fn save_draft(
        &self,
        owner: i64,
        peer: DialogPeer,
        draft: Option<&Draft>,
    ) -> Result<bool, StoreError> {
        let (kind, id) = peer.to_columns();
        self.read(|c| {
            let changed = match draft {
                Some(d) => c.execute(
                    "INSERT INTO drafts(owner, peer_kind, peer, text, reply_to, no_webpage, date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT(owner, peer_kind, peer) DO UPDATE SET text = $4, reply_to = $5,
                         no_webpage = $6, date = $7",
                    &[
                        &owner,
                        &kind,
                        &id,
                        &d.text.as_bytes(),
                        &d.reply_to,
                        &d.no_webpage,
                        &d.date,
                    ],
                )?,
                None => c.execute(
                    "DELETE FROM drafts WHERE owner = $1 AND peer_kind = $2 AND peer = $3",
                    &[&owner, &kind, &id],
                )?,
            };
            Ok(changed > 0)
        })
    }

    fn drafts(&self, owner: i64) -> Result<Vec<(DialogPeer, Draft)>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT peer_kind, peer, text, reply_to, no_webpage, date FROM drafts
                 WHERE owner = $1 ORDER BY date DESC, peer_kind, peer",
                &[&owner],
            )?
            .iter()
            .map(|r| {
                let peer = DialogPeer::from_columns(col(r, 0)?, col(r, 1)?)?;
                let draft = Draft {
                    text: text(r, 2)?,
                    reply_to: col(r, 3)?,
                    no_webpage: col(r, 4)?,
                    date: col(r, 5)?,
                };
                Ok((peer, draft))
            })
            .collect()
        })
    }
}
