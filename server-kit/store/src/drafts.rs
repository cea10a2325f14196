//! Drafts: what a user has typed and not sent, one per chat, kept for every session of theirs
//! (`messages.saveDraft`, `messages.getAllDrafts`, `dialog.draft`).

use crate::StoreError;

/// The chat a draft is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DraftPeer {
    /// A private chat with this user.
    User(i64),
    /// A basic group.
    Chat(i64),
    /// A channel or megagroup.
    Channel(i64),
}

impl DraftPeer {
    /// The stored columns: kind (1 user, 2 chat, 3 channel) and id.
    pub fn to_columns(self) -> (i32, i64) {
        match self {
            DraftPeer::User(id) => (1, id),
            DraftPeer::Chat(id) => (2, id),
            DraftPeer::Channel(id) => (3, id),
        }
    }

    /// The inverse of [`to_columns`](Self::to_columns); an unknown kind is an error.
    pub fn from_columns(kind: i32, id: i64) -> Result<Self, StoreError> {
        Ok(match kind {
            1 => DraftPeer::User(id),
            2 => DraftPeer::Chat(id),
            3 => DraftPeer::Channel(id),
            other => {
                return Err(StoreError::Database(format!(
                    "unknown draft peer kind {other}"
                )));
            }
        })
    }
}

/// A draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The text typed so far.
    pub text: String,
    /// The message of the chat it will reply to.
    pub reply_to: Option<i32>,
    /// Link previews turned off.
    pub no_webpage: bool,
    /// When it was saved.
    pub date: i32,
}

/// Draft storage.
pub trait DraftStore {
    /// Saves the owner's draft in `peer`, or clears it (`None`); `false` when clearing found
    /// none.
    fn save_draft(
        &self,
        owner: i64,
        peer: DraftPeer,
        draft: Option<&Draft>,
    ) -> Result<bool, StoreError>;
    /// The owner's drafts, newest first.
    fn drafts(&self, owner: i64) -> Result<Vec<(DraftPeer, Draft)>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_survive_their_columns() {
        for peer in [
            DraftPeer::User(100_000),
            DraftPeer::Chat(1_000),
            DraftPeer::Channel(1_000_000),
        ] {
            let (kind, id) = peer.to_columns();
            assert_eq!(DraftPeer::from_columns(kind, id).unwrap(), peer);
        }
        assert!(DraftPeer::from_columns(9, 1).is_err());
    }
}
