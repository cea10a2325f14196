//! [`Message`]: a message with its sender and chat, and the raw TL message behind it.

use crate::peer::{self, Peer, peer_key};
use crate::storage::PeerKind;
use mtproto_api::{enums, types};

/// A message (or a service message such as "X joined"), with the sender and chat that came
/// with it. [`raw`](Self::raw) is the TL message for everything not covered here.
///
/// ```
/// use client_sdk::{Message, PeerKind};
/// use mtproto_api::{enums, types};
/// let mut raw = types::Message::new(
///     5,
///     types::PeerUser { user_id: 2 }.into(),
///     1_700_000_000,
///     "hi **there**".into(),
/// );
/// raw.from_id = Some(types::PeerUser { user_id: 2 }.into());
/// let users = [enums::User::User(types::User {
///     id: 2,
///     first_name: Some("Bob".into()),
///     ..Default::default()
/// })];
/// let message = Message::new(raw.into(), &users, &[]);
/// assert_eq!((message.id(), message.text(), message.date()), (5, "hi **there**", 1_700_000_000));
/// assert_eq!(message.sender_id(), Some((PeerKind::User, 2)));
/// assert_eq!(message.sender().map(|s| s.name()), Some("Bob".into()));
/// assert_eq!(message.chat_id(), Some((PeerKind::User, 2)));
/// assert!(!message.outgoing() && !message.has_media() && message.reply_to_message_id().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    raw: enums::Message,
    sender_id: Option<(PeerKind, i64)>,
    sender: Option<Peer>,
    chat: Option<Peer>,
}

impl Message {
    /// The message `raw`, with its sender and chat looked up in the `users` and `chats` that
    /// came with it.
    ///
    /// The sender is `from_id`; without one, the chat for channel posts and incoming private
    /// messages (an outgoing one without `from_id` has no sender here:
    /// [`Client`](crate::Client) fills in the signed-in user).
    pub fn new(raw: enums::Message, users: &[enums::User], chats: &[enums::Chat]) -> Message {
        Message::with_self(raw, users, chats, None)
    }

    /// Like [`new`](Self::new), with the signed-in user's id for outgoing messages.
    pub(crate) fn with_self(
        raw: enums::Message,
        users: &[enums::User],
        chats: &[enums::Chat],
        self_id: Option<i64>,
    ) -> Message {
        let (from, peer, out, post) = match &raw {
            enums::Message::Message(m) => (m.from_id.as_ref(), Some(&m.peer_id), m.out, m.post),
            enums::Message::Service(m) => (m.from_id.as_ref(), Some(&m.peer_id), m.out, m.post),
            enums::Message::Empty(m) => (None, m.peer_id.as_ref(), false, false),
        };
        let chat_id = peer.map(peer_key);
        let sender_id = match (from.map(peer_key), chat_id) {
            (Some(from), _) => Some(from),
            (None, Some((PeerKind::User, _))) if out => self_id.map(|id| (PeerKind::User, id)),
            (None, Some(chat @ (PeerKind::User, _))) => Some(chat),
            (None, Some(chat @ (PeerKind::Channel, _))) if post || !out => Some(chat),
            _ => None,
        };
        let lookup = |key: Option<(PeerKind, i64)>| {
            key.and_then(|(kind, id)| peer::find(users, chats, kind, id))
        };
        Message {
            sender: lookup(sender_id),
            chat: lookup(chat_id),
            sender_id,
            raw,
        }
    }

    /// The TL message.
    pub fn raw(&self) -> &enums::Message {
        &self.raw
    }

    /// The TL message, taken out.
    pub fn into_raw(self) -> enums::Message {
        self.raw
    }

    fn message(&self) -> Option<&types::Message> {
        match &self.raw {
            enums::Message::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The id (unique in its chat for channels, in the account otherwise).
    pub fn id(&self) -> i32 {
        match &self.raw {
            enums::Message::Message(m) => m.id,
            enums::Message::Service(m) => m.id,
            enums::Message::Empty(m) => m.id,
        }
    }

    /// The text (the caption for media; empty for service messages).
    pub fn text(&self) -> &str {
        self.message().map_or("", |m| m.message.as_str())
    }

    /// The formatting of [`text`](Self::text): offsets in UTF-16 code units (see
    /// [`parse_mode`](crate::parse_mode) to write them back as Markdown or HTML).
    pub fn entities(&self) -> &[enums::MessageEntity] {
        self.message()
            .and_then(|m| m.entities.as_deref())
            .unwrap_or_default()
    }

    /// When it was sent (Unix time; 0 for empty messages).
    pub fn date(&self) -> i32 {
        match &self.raw {
            enums::Message::Message(m) => m.date,
            enums::Message::Service(m) => m.date,
            enums::Message::Empty(_) => 0,
        }
    }

    /// When it was last edited.
    pub fn edit_date(&self) -> Option<i32> {
        self.message().and_then(|m| m.edit_date)
    }

    /// Whether the signed-in account sent it.
    pub fn outgoing(&self) -> bool {
        match &self.raw {
            enums::Message::Message(m) => m.out,
            enums::Message::Service(m) => m.out,
            enums::Message::Empty(_) => false,
        }
    }

    /// Kind and id of who sent it (see [`new`](Self::new)).
    pub fn sender_id(&self) -> Option<(PeerKind, i64)> {
        self.sender_id
    }

    /// Who sent it, if the server sent the user or chat with it.
    pub fn sender(&self) -> Option<&Peer> {
        self.sender.as_ref()
    }

    /// The TL peer of the chat it is in: the other user of a private chat, the group or the
    /// channel (`None` only for some empty messages).
    pub fn chat_peer(&self) -> Option<&enums::Peer> {
        match &self.raw {
            enums::Message::Message(m) => Some(&m.peer_id),
            enums::Message::Service(m) => Some(&m.peer_id),
            enums::Message::Empty(m) => m.peer_id.as_ref(),
        }
    }

    /// Kind and id of the chat it is in.
    pub fn chat_id(&self) -> Option<(PeerKind, i64)> {
        self.chat_peer().map(peer_key)
    }

    /// The chat it is in, if the server sent it with the message.
    pub fn chat(&self) -> Option<&Peer> {
        self.chat.as_ref()
    }

    /// The id of the message this one replies to.
    pub fn reply_to_message_id(&self) -> Option<i32> {
        let reply = match &self.raw {
            enums::Message::Message(m) => m.reply_to.as_ref(),
            enums::Message::Service(m) => m.reply_to.as_ref(),
            enums::Message::Empty(_) => None,
        };
        match reply? {
            enums::MessageReplyHeader::MessageReplyHeader(h) => h.reply_to_msg_id,
            enums::MessageReplyHeader::MessageReplyStoryHeader(_) => None,
        }
    }

    /// Where a forwarded message came from.
    pub fn forward_header(&self) -> Option<&types::MessageFwdHeader> {
        match self.message()?.fwd_from.as_ref()? {
            enums::MessageFwdHeader::MessageFwdHeader(h) => Some(h),
        }
    }

    /// The photo, document, poll, ... it carries.
    pub fn media(&self) -> Option<&enums::MessageMedia> {
        self.message().and_then(|m| m.media.as_ref())
    }

    /// Whether it carries media.
    pub fn has_media(&self) -> bool {
        self.media().is_some()
    }

    /// Whether it was sent without a notification.
    pub fn silent(&self) -> bool {
        match &self.raw {
            enums::Message::Message(m) => m.silent,
            enums::Message::Service(m) => m.silent,
            enums::Message::Empty(_) => false,
        }
    }

    /// Whether it is a service message (a join, a title change, a pin, ...).
    pub fn is_service(&self) -> bool {
        matches!(self.raw, enums::Message::Service(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, name: &str) -> enums::User {
        enums::User::User(types::User {
            id,
            first_name: Some(name.into()),
            access_hash: Some(id * 10),
            ..Default::default()
        })
    }

    #[test]
    fn senders_follow_telegrams_rules() {
        let users = [user(1, "Me"), user(2, "Bob")];
        let pm = |out: bool| {
            let mut m =
                types::Message::new(9, types::PeerUser { user_id: 2 }.into(), 1, "x".into());
            m.out = out;
            enums::Message::from(m)
        };
        // Incoming private message without from_id: the other user sent it.
        let incoming = Message::with_self(pm(false), &users, &[], Some(1));
        assert_eq!(incoming.sender_id(), Some((PeerKind::User, 2)));
        assert_eq!(incoming.sender().map(Peer::name), Some("Bob".into()));
        // Outgoing: the signed-in user, when known.
        let outgoing = Message::with_self(pm(true), &users, &[], Some(1));
        assert_eq!(outgoing.sender().map(Peer::name), Some("Me".into()));
        assert_eq!(Message::new(pm(true), &users, &[]).sender_id(), None);
        assert_eq!(outgoing.chat().map(Peer::name), Some("Bob".into()));

        // A channel post: the channel, found among the chats.
        let mut channel = types::Channel::new(50, "News".into(), enums::ChatPhoto::Empty, 1);
        channel.access_hash = Some(5);
        let channel = enums::Chat::Channel(channel);
        let mut post = types::Message::new(
            3,
            types::PeerChannel { channel_id: 50 }.into(),
            1,
            "p".into(),
        );
        post.post = true;
        let post = Message::new(post.into(), &[], std::slice::from_ref(&channel));
        assert_eq!(post.sender_id(), Some((PeerKind::Channel, 50)));
        assert_eq!(
            post.chat().and_then(Peer::to_ref).map(|p| p.access_hash),
            Some(5)
        );
        assert_eq!(post.sender().map(Peer::name), Some("News".into()));
    }

    #[test]
    fn replies_forwards_media_and_service_messages() {
        let mut m = types::Message::new(4, types::PeerChat { chat_id: 8 }.into(), 1, "r".into());
        m.reply_to = Some(
            types::MessageReplyHeader {
                reply_to_msg_id: Some(3),
                ..Default::default()
            }
            .into(),
        );
        m.fwd_from = Some(
            types::MessageFwdHeader {
                from_name: Some("Anon".into()),
                date: 7,
                ..Default::default()
            }
            .into(),
        );
        m.media = Some(enums::MessageMedia::Empty);
        m.edit_date = Some(2);
        m.entities = Some(vec![
            types::MessageEntityBold {
                offset: 0,
                length: 1,
            }
            .into(),
        ]);
        let m = Message::new(m.into(), &[], &[]);
        assert_eq!(m.reply_to_message_id(), Some(3));
        assert_eq!(
            m.forward_header().and_then(|f| f.from_name.as_deref()),
            Some("Anon")
        );
        assert!(m.has_media());
        assert_eq!((m.edit_date(), m.entities().len()), (Some(2), 1));
        assert_eq!(m.chat_id(), Some((PeerKind::Chat, 8)));
        assert_eq!(m.sender_id(), None);

        let empty = Message::new(
            types::MessageEmpty {
                id: 6,
                peer_id: None,
            }
            .into(),
            &[],
            &[],
        );
        assert_eq!((empty.id(), empty.text(), empty.date()), (6, "", 0));
        assert!(!empty.is_service() && empty.chat_peer().is_none());
    }
}
