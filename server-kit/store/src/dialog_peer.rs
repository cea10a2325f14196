//! The chats of a user's dialog list as stored by the features kept per chat (drafts,
//! scheduled messages): one kind column and one id column.

use crate::StoreError;

/// A chat as one of its users sees it: the other user of a private chat, a basic group, or a
/// channel (drafts and scheduled messages are kept per such chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DialogPeer {
    /// A private chat with this user.
    User(i64),
    /// A basic group.
    Chat(i64),
    /// A channel or megagroup.
    Channel(i64),
}

impl DialogPeer {
    /// The stored columns: kind (1 user, 2 chat, 3 channel) and id.
    pub fn to_columns(self) -> (i32, i64) {
        match self {
            DialogPeer::User(id) => (1, id),
            DialogPeer::Chat(id) => (2, id),
            DialogPeer::Channel(id) => (3, id),
        }
    }

    /// The inverse of [`to_columns`](Self::to_columns); an unknown kind is an error.
    pub fn from_columns(kind: i32, id: i64) -> Result<Self, StoreError> {
        Ok(match kind {
            1 => DialogPeer::User(id),
            2 => DialogPeer::Chat(id),
            3 => DialogPeer::Channel(id),
            other => {
                return Err(StoreError::Database(format!(
                    "unknown dialog peer kind {other}"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_survive_their_columns() {
        for peer in [
            DialogPeer::User(100_000),
            DialogPeer::Chat(1_000),
            DialogPeer::Channel(1_000_000),
        ] {
            let (kind, id) = peer.to_columns();
            assert_eq!(DialogPeer::from_columns(kind, id).unwrap(), peer);
        }
        assert!(DialogPeer::from_columns(9, 1).is_err());
    }
}
