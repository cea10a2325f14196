//! Basic groups ("chats"), as Telegram keeps them: a small group (at most [`MAX_MEMBERS`])
//! whose every message is copied into each member's box, with its own id and pts there, so a
//! member sees it through `updateNewMessage` and `updates.getDifference` like a private
//! message. In a box a chat is the peer [`chat_peer`]`(id)`, the negated chat id (the Bot API
//! numbers chats the same way), so history, dialogs and read marks work per chat unchanged.
//!
//! The copies of one chat message find each other by their sender and the sender's id for it
//! (the `copy_id` of every copy of a chat message is the id in the sender's box, where a
//! private message's names the other side's copy): that is how a reply names, in each box, that
//! box's copy of the replied message.

use crate::{Committed, Extras, StoreError};

/// The most members a basic group holds (Telegram's limit; beyond it, a chat migrates to a
/// megagroup).
pub const MAX_MEMBERS: usize = 200;

/// The box peer of chat `id`: its negation (users are positive).
pub const fn chat_peer(id: i64) -> i64 {
    -id
}

/// The chat a box peer names, if it names one (see [`chat_peer`]).
pub const fn peer_chat(peer: i64) -> Option<i64> {
    if peer < 0 { Some(-peer) } else { None }
}

/// A basic group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Its id (positive; the box peer is [`chat_peer`] of it).
    pub id: i64,
    /// Title.
    pub title: String,
    /// Who created it.
    pub creator: i64,
    /// When it was created.
    pub date: i32,
    /// Counts changes to the member list (`chat.version`, `chatParticipants.version`).
    pub version: i32,
    /// How many members it has.
    pub members: i32,
    /// The megagroup it became (`messages.migrateChat`), after which it takes no messages.
    pub migrated_to: Option<i64>,
}

/// A member of a basic group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatMember {
    /// The user.
    pub user_id: i64,
    /// Who added them (the creator: themselves).
    pub inviter: i64,
    /// When.
    pub date: i32,
}

/// What a service message says happened (`messageService.action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAction {
    /// The chat was created with these members (`messageActionChatCreate`).
    ChatCreate {
        /// Its title.
        title: String,
        /// Its first members, the creator included.
        users: Vec<i64>,
    },
    /// Users were added (`messageActionChatAddUser`).
    AddUsers {
        /// Who.
        users: Vec<i64>,
    },
    /// A user left or was removed (`messageActionChatDeleteUser`).
    DeleteUser {
        /// Who.
        user: i64,
    },
    /// The title changed (`messageActionChatEditTitle`).
    EditTitle {
        /// The new title.
        title: String,
    },
    /// The chat became a megagroup (`messageActionChatMigrateTo`).
    MigrateTo {
        /// The megagroup.
        channel: i64,
    },
    /// A message was pinned (`messageActionPinMessage`; the message replies to it).
    PinMessage,
}

/// How an action is kept in a message row: a kind (0: an ordinary message), a list of ids,
/// and the title in the row's text.
pub mod action_kind {
    /// [`ServiceAction::ChatCreate`](super::ServiceAction::ChatCreate).
    pub const CHAT_CREATE: i32 = 1;
    /// [`ServiceAction::AddUsers`](super::ServiceAction::AddUsers).
    pub const ADD_USERS: i32 = 2;
    /// [`ServiceAction::DeleteUser`](super::ServiceAction::DeleteUser).
    pub const DELETE_USER: i32 = 3;
    /// [`ServiceAction::EditTitle`](super::ServiceAction::EditTitle).
    pub const EDIT_TITLE: i32 = 4;
    /// [`ServiceAction::MigrateTo`](super::ServiceAction::MigrateTo).
    pub const MIGRATE_TO: i32 = 5;
    /// [`ServiceAction::PinMessage`](super::ServiceAction::PinMessage).
    pub const PIN_MESSAGE: i32 = 6;
}

impl ServiceAction {
    /// The stored columns: kind, ids and the text the row keeps (the title, or empty).
    pub fn to_columns(action: Option<&ServiceAction>) -> (i32, Vec<i64>, String) {
        use action_kind::*;
        match action {
            None => (0, Vec::new(), String::new()),
            Some(ServiceAction::ChatCreate { title, users }) => {
                (CHAT_CREATE, users.clone(), title.clone())
            }
            Some(ServiceAction::AddUsers { users }) => (ADD_USERS, users.clone(), String::new()),
            Some(ServiceAction::DeleteUser { user }) => (DELETE_USER, vec![*user], String::new()),
            Some(ServiceAction::EditTitle { title }) => (EDIT_TITLE, Vec::new(), title.clone()),
            Some(ServiceAction::MigrateTo { channel }) => {
                (MIGRATE_TO, vec![*channel], String::new())
            }
            Some(ServiceAction::PinMessage) => (PIN_MESSAGE, Vec::new(), String::new()),
        }
    }

    /// The inverse of [`to_columns`](Self::to_columns); `Ok(None)` for kind 0, an error
    /// for a kind or id list no action has.
    pub fn from_columns(
        kind: i32,
        ids: Vec<i64>,
        text: &str,
    ) -> Result<Option<ServiceAction>, StoreError> {
        use action_kind::*;
        let one = |ids: &[i64]| match ids {
            [id] => Ok(*id),
            _ => Err(StoreError::Database(format!(
                "service action {kind} keeps {} ids, not one",
                ids.len()
            ))),
        };
        Ok(Some(match kind {
            0 => return Ok(None),
            CHAT_CREATE => ServiceAction::ChatCreate {
                title: text.to_owned(),
                users: ids,
            },
            ADD_USERS => ServiceAction::AddUsers { users: ids },
            DELETE_USER => ServiceAction::DeleteUser { user: one(&ids)? },
            EDIT_TITLE => ServiceAction::EditTitle {
                title: text.to_owned(),
            },
            MIGRATE_TO => ServiceAction::MigrateTo {
                channel: one(&ids)?,
            },
            PIN_MESSAGE => ServiceAction::PinMessage,
            other => {
                return Err(StoreError::Database(format!(
                    "unknown service action {other} in a message row"
                )));
            }
        }))
    }
}

/// What a message to a chat wrote: the sender's copy and every other member's, each with its
/// log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSent {
    /// The sender's copy (for a service message of a member who left: theirs too).
    pub own: Committed,
    /// The other members' copies.
    pub others: Vec<Committed>,
    /// The same random_id was sent before: nothing new was written, `others` is empty.
    pub duplicate: bool,
}

impl ChatSent {
    /// Every copy, the sender's first.
    pub fn all(self) -> Vec<Committed> {
        let mut all = Vec::with_capacity(1 + self.others.len());
        all.push(self.own);
        all.extend(self.others);
        all
    }
}

/// The boxes a chat write goes to: `from`'s first, then the other members in their order.
pub fn boxes_from(members: &[i64], from: i64) -> Vec<i64> {
    std::iter::once(from)
        .chain(members.iter().copied().filter(|m| *m != from))
        .collect()
}

/// The first members of a new chat: the creator, then `members` in order, each once;
/// [`StoreError::Taken`] (`member slot`) beyond [`MAX_MEMBERS`].
pub fn first_members(creator: i64, members: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut users = vec![creator];
    for m in members {
        if !users.contains(m) {
            users.push(*m);
        }
    }
    if users.len() > MAX_MEMBERS {
        return Err(StoreError::Taken {
            what: "member slot",
        });
    }
    Ok(users)
}

/// The users of `users` a chat with `members` does not have yet, each once; [`StoreError::Taken`]
/// (`member slot`) when adding them would pass [`MAX_MEMBERS`].
pub fn new_members(members: &[i64], users: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut added: Vec<i64> = Vec::new();
    for user in users {
        if !members.contains(user) && !added.contains(user) {
            added.push(*user);
        }
    }
    if members.len() + added.len() > MAX_MEMBERS {
        return Err(StoreError::Taken {
            what: "member slot",
        });
    }
    Ok(added)
}

/// Basic group storage. Every change of a chat that members see is a service message written
/// to each member's box in the same transaction.
pub trait ChatStore {
    /// Creates a chat with `creator` and `members` (duplicates and the creator among them
    /// ignored; every one must be a user, else [`StoreError::NotFound`]) and its
    /// `ChatCreate` service message.
    fn create_chat(
        &self,
        creator: i64,
        title: &str,
        members: &[i64],
        date: i32,
    ) -> Result<(Chat, ChatSent), StoreError>;
    /// A chat by id.
    fn chat(&self, id: i64) -> Result<Option<Chat>, StoreError>;
    /// The chats with these ids that exist, in id order. The default asks
    /// [`chat`](Self::chat) for each.
    fn chats(&self, ids: &[i64]) -> Result<Vec<Chat>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.chat(*id)?);
        }
        found.sort_by_key(|c| c.id);
        found.dedup_by_key(|c| c.id);
        Ok(found)
    }
    /// The members of a chat, oldest first (empty for a chat that does not exist).
    fn chat_members(&self, chat: i64) -> Result<Vec<ChatMember>, StoreError>;
    /// Sends a message from member `from` to every member's box, idempotent on (`from`,
    /// `random_id`). A reply to an id of the sender's box that is not a message of this chat is
    /// dropped. [`StoreError::NotFound`] if the chat does not exist or `from` is not a member.
    #[allow(clippy::too_many_arguments)]
    fn send_to_chat(
        &self,
        chat: i64,
        from: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<ChatSent, StoreError>;
    /// Adds `users` (added by member `inviter`) and writes the `AddUsers` service message to
    /// every member, the new ones included. Users already members are skipped; `None` if
    /// nobody was new. [`StoreError::Taken`] (`what: "member slot"`) beyond
    /// [`MAX_MEMBERS`].
    fn add_chat_members(
        &self,
        chat: i64,
        inviter: i64,
        users: &[i64],
        date: i32,
    ) -> Result<Option<ChatSent>, StoreError>;
    /// Removes `user` (by `by`: themselves when leaving) and writes the `DeleteUser` service
    /// message to every member, the removed one included; `None` if they were not a member.
    fn remove_chat_member(
        &self,
        chat: i64,
        by: i64,
        user: i64,
        date: i32,
    ) -> Result<Option<ChatSent>, StoreError>;
    /// Renames the chat (by member `by`) and writes the `EditTitle` service message; `None`
    /// if the title is unchanged.
    fn edit_chat_title(
        &self,
        chat: i64,
        by: i64,
        title: &str,
        date: i32,
    ) -> Result<Option<ChatSent>, StoreError>;
    /// Records that the chat became `channel` and writes the `MigrateTo` service message (by
    /// `by`); the chat takes no more messages nor members.
    fn migrate_chat(
        &self,
        chat: i64,
        by: i64,
        channel: i64,
        date: i32,
    ) -> Result<ChatSent, StoreError>;
    /// Pins (or unpins) a message of the chat for every member, by member `by` naming it by
    /// its id in their box (`None`: unpins every pinned message, in every box): one log entry
    /// in each box where something changed, then for a pin the `PinMessage` service message
    /// (replying to each box's copy). [`StoreError::NotFound`] if `by` is not a member of the
    /// live chat or `id` is not a message of it.
    fn pin_chat_message(
        &self,
        chat: i64,
        by: i64,
        id: Option<i32>,
        pinned: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_survive_their_columns() {
        let actions = [
            ServiceAction::ChatCreate {
                title: "Team".into(),
                users: vec![100_000, 100_001],
            },
            ServiceAction::AddUsers {
                users: vec![100_002],
            },
            ServiceAction::DeleteUser { user: 100_001 },
            ServiceAction::EditTitle {
                title: "Team 2".into(),
            },
            ServiceAction::MigrateTo { channel: 1_000_000 },
            ServiceAction::PinMessage,
        ];
        for action in actions {
            let (kind, ids, text) = ServiceAction::to_columns(Some(&action));
            assert_eq!(
                ServiceAction::from_columns(kind, ids, &text).unwrap(),
                Some(action)
            );
        }
        assert_eq!(ServiceAction::from_columns(0, vec![], "hi").unwrap(), None);
        assert!(ServiceAction::from_columns(3, vec![1, 2], "").is_err());
        assert!(ServiceAction::from_columns(99, vec![], "").is_err());
    }

    #[test]
    fn chat_peers_are_negative_and_round_trip() {
        assert_eq!(chat_peer(1_000), -1_000);
        assert_eq!(peer_chat(chat_peer(1_000)), Some(1_000));
        assert_eq!(peer_chat(100_000), None);
    }
}
