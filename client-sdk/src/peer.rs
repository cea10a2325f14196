//! Peers: [`PeerRef`] (what the client addresses a user, group or channel with) and [`Peer`]
//! (a user, group or channel as the server described it, with its names).

use crate::storage::PeerKind;
use mtproto_api::{enums, types};

/// A peer the client can address: its kind, id and access hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerRef {
    /// User, basic group or channel.
    pub kind: PeerKind,
    /// The id.
    pub id: i64,
    /// The access hash (0 for basic groups).
    pub access_hash: i64,
}

impl PeerRef {
    /// As an `InputPeer`.
    pub fn input_peer(&self) -> enums::InputPeer {
        match self.kind {
            PeerKind::User => enums::InputPeer::User(types::InputPeerUser {
                user_id: self.id,
                access_hash: self.access_hash,
            }),
            PeerKind::Chat => enums::InputPeer::Chat(types::InputPeerChat { chat_id: self.id }),
            PeerKind::Channel => enums::InputPeer::Channel(types::InputPeerChannel {
                channel_id: self.id,
                access_hash: self.access_hash,
            }),
        }
    }

    /// As a `Peer` (what messages carry in `peer_id` / `from_id`).
    pub fn to_peer(&self) -> enums::Peer {
        match self.kind {
            PeerKind::User => enums::Peer::User(types::PeerUser { user_id: self.id }),
            PeerKind::Chat => enums::Peer::Chat(types::PeerChat { chat_id: self.id }),
            PeerKind::Channel => enums::Peer::Channel(types::PeerChannel {
                channel_id: self.id,
            }),
        }
    }

    /// As an `InputChannel` (for channels).
    pub fn input_channel(&self) -> Option<enums::InputChannel> {
        (self.kind == PeerKind::Channel).then_some({
            enums::InputChannel::InputChannel(types::InputChannel {
                channel_id: self.id,
                access_hash: self.access_hash,
            })
        })
    }

    /// As an `InputUser` (for users).
    pub fn input_user(&self) -> Option<enums::InputUser> {
        (self.kind == PeerKind::User).then_some({
            enums::InputUser::InputUser(types::InputUser {
                user_id: self.id,
                access_hash: self.access_hash,
            })
        })
    }
}

impl From<&PeerRef> for PeerRef {
    fn from(peer: &PeerRef) -> Self {
        *peer
    }
}

/// Kind and id of a `Peer`.
pub fn peer_key(peer: &enums::Peer) -> (PeerKind, i64) {
    match peer {
        enums::Peer::User(p) => (PeerKind::User, p.user_id),
        enums::Peer::Chat(p) => (PeerKind::Chat, p.chat_id),
        enums::Peer::Channel(p) => (PeerKind::Channel, p.channel_id),
    }
}

/// A user, basic group or channel, as it came with a message, a dialog list or a lookup.
/// The raw TL object is reachable through [`raw_user`](Self::raw_user) /
/// [`raw_chat`](Self::raw_chat).
///
/// ```
/// use client_sdk::{Peer, PeerKind};
/// use mtproto_api::{enums, types};
/// let user = types::User {
///     id: 7,
///     first_name: Some("Ada".into()),
///     last_name: Some("Lovelace".into()),
///     username: Some("ada".into()),
///     access_hash: Some(99),
///     ..Default::default()
/// };
/// let peer = Peer::User(enums::User::User(user));
/// assert_eq!((peer.kind(), peer.id(), peer.name().as_str()), (PeerKind::User, 7, "Ada Lovelace"));
/// assert_eq!(peer.username(), Some("ada"));
/// assert_eq!(peer.to_ref().map(|p| p.access_hash), Some(99));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Peer {
    /// A user or bot.
    User(enums::User),
    /// A basic group (`chat`, `chatForbidden`, `chatEmpty`).
    Group(enums::Chat),
    /// A broadcast channel or a megagroup (`channel`, `channelForbidden`).
    Channel(enums::Chat),
}

impl Peer {
    /// The peer a TL user is.
    pub fn from_user(user: enums::User) -> Peer {
        Peer::User(user)
    }

    /// The peer a TL chat is (a group or a channel, by its constructor; `None` for
    /// communities, which this client does not handle yet).
    pub fn from_chat(chat: enums::Chat) -> Option<Peer> {
        match chat {
            enums::Chat::Channel(_) | enums::Chat::ChannelForbidden(_) => Some(Peer::Channel(chat)),
            enums::Chat::Chat(_) | enums::Chat::Forbidden(_) | enums::Chat::Empty(_) => {
                Some(Peer::Group(chat))
            }
            enums::Chat::Community(_) | enums::Chat::CommunityForbidden(_) => None,
        }
    }

    /// User, basic group or channel.
    pub fn kind(&self) -> PeerKind {
        match self {
            Peer::User(_) => PeerKind::User,
            Peer::Group(_) => PeerKind::Chat,
            Peer::Channel(_) => PeerKind::Channel,
        }
    }

    /// The id.
    pub fn id(&self) -> i64 {
        match self {
            Peer::User(user) => user_id(user),
            Peer::Group(chat) | Peer::Channel(chat) => chat_id(chat),
        }
    }

    /// The display name: "first last" for users, the title for groups and channels (empty
    /// when the server sent none).
    pub fn name(&self) -> String {
        match self {
            Peer::User(enums::User::User(u)) => [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            Peer::User(enums::User::Empty(_)) => String::new(),
            Peer::Group(chat) | Peer::Channel(chat) => match chat {
                enums::Chat::Chat(c) => c.title.clone(),
                enums::Chat::Forbidden(c) => c.title.clone(),
                enums::Chat::Channel(c) => c.title.clone(),
                enums::Chat::ChannelForbidden(c) => c.title.clone(),
                enums::Chat::Community(c) => c.title.clone(),
                enums::Chat::CommunityForbidden(c) => c.title.clone(),
                enums::Chat::Empty(_) => String::new(),
            },
        }
    }

    /// The main username, if it has one.
    pub fn username(&self) -> Option<&str> {
        match self {
            Peer::User(enums::User::User(u)) => u.username.as_deref(),
            Peer::Channel(enums::Chat::Channel(c)) => c.username.as_deref(),
            _ => None,
        }
    }

    /// The peer to address it with, when the server sent its access hash (always for basic
    /// groups, which have none).
    pub fn to_ref(&self) -> Option<PeerRef> {
        let access_hash = match self {
            Peer::User(enums::User::User(u)) => u.access_hash?,
            Peer::User(enums::User::Empty(_)) => return None,
            Peer::Group(_) => 0,
            Peer::Channel(enums::Chat::Channel(c)) => c.access_hash?,
            Peer::Channel(enums::Chat::ChannelForbidden(c)) => c.access_hash,
            Peer::Channel(_) => return None,
        };
        Some(PeerRef {
            kind: self.kind(),
            id: self.id(),
            access_hash,
        })
    }

    /// The TL user, for users.
    pub fn raw_user(&self) -> Option<&enums::User> {
        match self {
            Peer::User(u) => Some(u),
            _ => None,
        }
    }

    /// The TL chat, for groups and channels.
    pub fn raw_chat(&self) -> Option<&enums::Chat> {
        match self {
            Peer::Group(c) | Peer::Channel(c) => Some(c),
            Peer::User(_) => None,
        }
    }
}

fn user_id(user: &enums::User) -> i64 {
    match user {
        enums::User::User(u) => u.id,
        enums::User::Empty(u) => u.id,
    }
}

fn chat_id(chat: &enums::Chat) -> i64 {
    match chat {
        enums::Chat::Chat(c) => c.id,
        enums::Chat::Forbidden(c) => c.id,
        enums::Chat::Channel(c) => c.id,
        enums::Chat::ChannelForbidden(c) => c.id,
        enums::Chat::Community(c) => c.id,
        enums::Chat::CommunityForbidden(c) => c.id,
        enums::Chat::Empty(c) => c.id,
    }
}

/// The users and chats that came with an answer, to look peers up in.
pub(crate) fn find(
    users: &[enums::User],
    chats: &[enums::Chat],
    kind: PeerKind,
    id: i64,
) -> Option<Peer> {
    match kind {
        PeerKind::User => users
            .iter()
            .find(|u| user_id(u) == id)
            .cloned()
            .map(Peer::User),
        PeerKind::Chat | PeerKind::Channel => chats
            .iter()
            .filter(|c| chat_id(c) == id)
            .filter_map(|c| Peer::from_chat(c.clone()))
            .find(|p| p.kind() == kind),
    }
}
