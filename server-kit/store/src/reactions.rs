//! Message reactions: each user has at most one reaction (an emoji) on a message, as a
//! Telegram user without Premium; a new one replaces the old, and it can be taken back.
//!
//! In a private chat the reaction is kept on both copies of the message (the reactor's and
//! the other user's, found through the copy link the send wrote), so each box answers for its
//! own ids; in a channel, once per post. Reactions move no pts (Telegram pushes
//! `updateMessageReactions` outside the pts sequence): nothing here writes a log entry.
//!
//! Which emoji are allowed is the service's business: the store keeps any text.

use crate::StoreError;

/// One user's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// Who reacted.
    pub user_id: i64,
    /// The emoji.
    pub emoji: String,
    /// When (Unix seconds; a replaced reaction takes the new date).
    pub date: i32,
}

/// The reactions to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reactions {
    /// The message's id (in the box or channel asked about).
    pub id: i32,
    /// Newest first (by date, then by user id).
    pub reactions: Vec<Reaction>,
}

/// What a reaction to a private message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reacted {
    /// The id of the other user's copy, which got the reaction too (`None`: a chat with
    /// oneself, or the other user deleted their copy).
    pub copy: Option<i32>,
    /// Whether anything changed (`false`: the same reaction again, or none to take back).
    pub changed: bool,
}

/// Sorts reactions newest first, by date and then by user id: the order every store answers
/// in.
pub fn newest_first(reactions: &mut [Reaction]) {
    reactions.sort_by(|x, y| y.date.cmp(&x.date).then(x.user_id.cmp(&y.user_id)));
}

/// Groups `(message id, reaction)` rows into [`Reactions`], in id order, each newest first.
pub fn group(mut rows: Vec<(i32, Reaction)>) -> Vec<Reactions> {
    rows.sort_by_key(|(id, _)| *id);
    let mut out: Vec<Reactions> = Vec::new();
    for (id, reaction) in rows {
        match out.last_mut() {
            Some(last) if last.id == id => last.reactions.push(reaction),
            _ => out.push(Reactions {
                id,
                reactions: vec![reaction],
            }),
        }
    }
    for r in &mut out {
        newest_first(&mut r.reactions);
    }
    out
}

/// Storage of reactions.
pub trait ReactionStore {
    /// Sets (`Some`) or takes back (`None`) `owner`'s reaction to message `id` of the owner's
    /// chat with `peer` (by its id in the owner's box), on the owner's copy and on the peer's
    /// copy, in one transaction. [`StoreError::NotFound`] if `id` is no message of that chat.
    fn react(
        &self,
        owner: i64,
        peer: i64,
        id: i32,
        emoji: Option<&str>,
        date: i32,
    ) -> Result<Reacted, StoreError>;
    /// The reactions to messages of `owner`'s box, in id order; messages without any are left
    /// out.
    fn reactions(&self, owner: i64, ids: &[i32]) -> Result<Vec<Reactions>, StoreError>;
    /// Sets (`Some`) or takes back (`None`) `user`'s reaction to post `id` of `channel`;
    /// whether anything changed. [`StoreError::NotFound`] if the channel has no such post.
    fn react_in_channel(
        &self,
        channel: i64,
        id: i32,
        user: i64,
        emoji: Option<&str>,
        date: i32,
    ) -> Result<bool, StoreError>;
    /// The reactions to posts of `channel`, in id order; posts without any are left out.
    fn channel_reactions(&self, channel: i64, ids: &[i32]) -> Result<Vec<Reactions>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(user_id: i64, emoji: &str, date: i32) -> Reaction {
        Reaction {
            user_id,
            emoji: emoji.into(),
            date,
        }
    }

    #[test]
    fn rows_group_by_message_newest_first() {
        let grouped = group(vec![
            (5, r(1, "a", 10)),
            (2, r(3, "b", 12)),
            (5, r(2, "c", 11)),
            (5, r(0, "d", 11)),
        ]);
        assert_eq!(
            grouped,
            vec![
                Reactions {
                    id: 2,
                    reactions: vec![r(3, "b", 12)]
                },
                Reactions {
                    id: 5,
                    reactions: vec![r(0, "d", 11), r(2, "c", 11), r(1, "a", 10)]
                },
            ]
        );
        assert_eq!(group(Vec::new()), Vec::new());
    }
}
