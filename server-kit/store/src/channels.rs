//! Channels (broadcast channels and megagroups): each has its own pts box; a post is stored
//! once, whoever reads it, and members catch up through the channel's log.

use crate::chats::ServiceAction;
use crate::{Extras, Forward, HistoryQuery, MediaRef, StoreError};

/// A channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its id.
    pub id: i64,
    /// The secret a client must show to use it.
    pub access_hash: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub about: String,
    /// A broadcast channel (only admins post).
    pub broadcast: bool,
    /// A megagroup (everyone posts).
    pub megagroup: bool,
    /// Who created it.
    pub creator: i64,
    /// Its public username.
    pub username: Option<String>,
    /// When it was created.
    pub date: i32,
    /// Its pts.
    pub pts: i32,
    /// How many members it has.
    pub members: i32,
}

/// What a member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads (and posts in megagroups).
    Member,
    /// Posts and manages.
    Admin,
    /// Created it.
    Creator,
}

impl Role {
    /// The number a role is stored as.
    pub fn code(self) -> i64 {
        match self {
            Role::Member => 0,
            Role::Admin => 1,
            Role::Creator => 2,
        }
    }

    /// The inverse of [`code`](Self::code) (an unknown number is a plain member).
    pub fn from_code(code: i64) -> Role {
        match code {
            2 => Role::Creator,
            1 => Role::Admin,
            _ => Role::Member,
        }
    }
}

/// A member of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
    /// Who added them (themselves when they joined).
    pub inviter: i64,
    /// When.
    pub date: i32,
    /// Read up to here.
    pub read_max_id: i32,
}

/// A post in a channel (stored once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage {
    /// The channel.
    pub channel: i64,
    /// Its id in the channel.
    pub id: i32,
    /// Who wrote it.
    pub from_id: i64,
    /// Text.
    pub text: String,
    /// When.
    pub date: i32,
    /// Last edit.
    pub edit_date: Option<i32>,
    /// Attached media.
    pub media: Option<MediaRef>,
    /// The post of the same channel it replies to.
    pub reply_to: Option<i32>,
    /// Where it was forwarded from.
    pub forward: Option<Forward>,
    /// Pinned in the channel.
    pub pinned: bool,
    /// What happened, for a service message (its text is then empty or the title it names).
    pub action: Option<ServiceAction>,
}

/// What changed in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelChange {
    /// A post.
    NewMessage {
        /// Its id.
        id: i32,
    },
    /// Posts deleted.
    DeleteMessages {
        /// Their ids.
        ids: Vec<i32>,
    },
    /// Posts pinned or unpinned (`updatePinnedChannelMessages`).
    Pin {
        /// Their ids.
        ids: Vec<i32>,
        /// Pinned, or unpinned.
        pinned: bool,
    },
}

/// What pinning posts wrote: the log entry of the posts that changed, and for a pin the
/// `PinMessage` service post replying to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedPosts {
    /// The `Pin` entry, if any post changed.
    pub entry: Option<ChannelLogged>,
    /// The notice.
    pub notice: Option<Posted>,
}

/// One entry of a channel's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLogged {
    /// The channel.
    pub channel: i64,
    /// The pts after it.
    pub pts: i32,
    /// How many pts it took.
    pub pts_count: i32,
    /// When.
    pub date: i32,
    /// What.
    pub change: ChannelChange,
}

/// The result of posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The post.
    pub message: ChannelMessage,
    /// Its log entry.
    pub entry: ChannelLogged,
    /// The same random_id was posted before by the same sender: nothing new was written.
    pub duplicate: bool,
}

/// Channel storage.
pub trait ChannelStore {
    /// Creates a channel with `creator` as its first member.
    #[allow(clippy::too_many_arguments)]
    fn create_channel(
        &self,
        creator: i64,
        title: &str,
        about: &str,
        broadcast: bool,
        megagroup: bool,
        access_hash: i64,
        date: i32,
    ) -> Result<Channel, StoreError>;
    /// A channel by id.
    fn channel(&self, id: i64) -> Result<Option<Channel>, StoreError>;
    /// A channel by username (case-insensitive).
    fn channel_by_username(&self, username: &str) -> Result<Option<Channel>, StoreError>;
    /// Sets or clears a channel's username ([`StoreError::Taken`] if another channel has it).
    fn set_channel_username(&self, id: i64, username: Option<&str>) -> Result<(), StoreError>;
    /// A member, if `user` is one.
    fn member(&self, channel: i64, user: i64) -> Result<Option<Member>, StoreError>;
    /// Adds a member (or changes their role); `false` if they were a member already with that
    /// role.
    fn add_member(
        &self,
        channel: i64,
        user: i64,
        role: Role,
        inviter: i64,
        date: i32,
    ) -> Result<bool, StoreError>;
    /// Removes a member; `false` if they were not one.
    fn remove_member(&self, channel: i64, user: i64) -> Result<bool, StoreError>;
    /// Members, oldest first, and how many there are.
    fn members(
        &self,
        channel: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<Member>, i32), StoreError>;
    /// Every member's user id (for fan-out).
    fn member_ids(&self, channel: i64) -> Result<Vec<i64>, StoreError>;
    /// The channels a user is a member of, with their membership.
    fn channels_of(&self, user: i64) -> Result<Vec<(Channel, Member)>, StoreError>;
    /// Posts to a channel (one row and one log entry, whatever the member count), idempotent
    /// on (`from`, `random_id`). A reply to an id that names no post of the channel is
    /// dropped.
    #[allow(clippy::too_many_arguments)]
    fn post(
        &self,
        channel: i64,
        from: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<Posted, StoreError>;
    /// Posts newest first, and how many the channel has.
    fn channel_history(
        &self,
        channel: i64,
        query: HistoryQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError>;
    /// Posts by id (missing ones left out).
    fn channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
    ) -> Result<Vec<ChannelMessage>, StoreError>;
    /// Deletes posts; `None` if none of them existed.
    fn delete_channel_messages(
        &self,
        channel: i64,
        ids: &[i32],
        date: i32,
    ) -> Result<Option<ChannelLogged>, StoreError>;
    /// Marks a channel read by `user` up to `max_id`.
    fn read_channel(&self, channel: i64, user: i64, max_id: i32) -> Result<(), StoreError>;
    /// Pins (or unpins) post `id` by member `by` (`None`: unpins every pinned post): one
    /// `Pin` entry if something changed, and for a pin the `PinMessage` service post from `by`
    /// replying to it. [`StoreError::NotFound`] if `id` names no post of the channel.
    fn pin_channel_messages(
        &self,
        channel: i64,
        by: i64,
        id: Option<i32>,
        pinned: bool,
        date: i32,
    ) -> Result<PinnedPosts, StoreError>;
    /// The channel's pinned posts, newest first.
    fn channel_pinned(&self, channel: i64) -> Result<Vec<i32>, StoreError>;
    /// Log entries after `pts`, oldest first, at most `limit`, with the posts they name.
    fn channel_changes_since(
        &self,
        channel: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<ChannelLogged>, Vec<ChannelMessage>), StoreError>;
}
