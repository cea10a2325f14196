//! High-level calls: peers, messages, history, dialogs, channels.

use crate::client::Client;
use crate::error::InvocationError;
use crate::input_message::InputMessage;
use crate::message::Message;
use crate::peer::{PeerRef, peer_key};
use crate::storage::PeerKind;
use mtproto_api::{enums, functions, types};

/// One entry of the dialog list.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Who the dialog is with.
    pub peer: PeerRef,
    /// A display name: the user's name or the chat's title.
    pub name: String,
    /// The last message (if it came with the list).
    pub top_message: Option<enums::Message>,
    /// Unread incoming messages.
    pub unread_count: i32,
}

fn random_id() -> i64 {
    let mut b = [0u8; 8];
    crate::connection::os_rng(&mut b);
    i64::from_le_bytes(b)
}

/// The id and date of a message.
pub fn message_id_date(message: &enums::Message) -> (i32, i32) {
    match message {
        enums::Message::Message(m) => (m.id, m.date),
        enums::Message::Service(m) => (m.id, m.date),
        enums::Message::Empty(m) => (m.id, 0),
    }
}

/// The id of the message a `sendMessage` / `sendMedia` answer reports.
fn sent_id(updates: &enums::Updates) -> Option<i32> {
    match updates {
        enums::Updates::UpdateShortSentMessage(u) => Some(u.id),
        enums::Updates::Updates(u) => sent_id_in(&u.updates),
        enums::Updates::Combined(u) => sent_id_in(&u.updates),
        enums::Updates::UpdateShort(u) => sent_id_in(std::slice::from_ref(&u.update)),
        _ => None,
    }
}

fn sent_id_in(updates: &[enums::Update]) -> Option<i32> {
    updates.iter().find_map(|u| match u {
        enums::Update::MessageID(u) => Some(u.id),
        enums::Update::NewMessage(u) => Some(message_id_date(&u.message).0),
        enums::Update::NewChannelMessage(u) => Some(message_id_date(&u.message).0),
        _ => None,
    })
}

/// The message a `sendMessage` answer describes: the new message of its updates (the one
/// whose `updateMessageID` has our `random_id`), or one made of what was sent and what
/// `updateShortSentMessage` says.
fn sent_message(
    self_id: Option<i64>,
    to: &PeerRef,
    sent: &InputMessage,
    random_id: i64,
    updates: enums::Updates,
) -> Option<Message> {
    let local = |id: i32, date: i32| {
        let mut m = types::Message::new(id, to.to_peer(), date, sent.text.clone());
        m.out = true;
        m.silent = sent.silent;
        m.entities = (!sent.entities.is_empty()).then(|| sent.entities.clone());
        m.reply_to = sent.reply_to.map(|id| {
            types::MessageReplyHeader {
                reply_to_msg_id: Some(id),
                ..Default::default()
            }
            .into()
        });
        m
    };
    let (updates, users, chats) = match updates {
        enums::Updates::UpdateShortSentMessage(u) => {
            let mut m = local(u.id, u.date);
            m.out = u.out;
            m.media = u.media;
            m.ttl_period = u.ttl_period;
            if u.entities.is_some() {
                m.entities = u.entities;
            }
            return Some(Message::with_self(m.into(), &[], &[], self_id));
        }
        enums::Updates::Updates(u) => (u.updates, u.users, u.chats),
        enums::Updates::Combined(u) => (u.updates, u.users, u.chats),
        enums::Updates::UpdateShort(u) => (vec![u.update], Vec::new(), Vec::new()),
        _ => return None,
    };
    let id = updates.iter().find_map(|u| match u {
        enums::Update::MessageID(u) if u.random_id == random_id => Some(u.id),
        _ => None,
    });
    let new = updates.into_iter().find_map(|u| {
        let message = match u {
            enums::Update::NewMessage(u) => u.message,
            enums::Update::NewChannelMessage(u) => u.message,
            _ => return None,
        };
        (id.is_none() || id == Some(message_id_date(&message).0)).then_some(message)
    });
    match (new, id) {
        (Some(message), _) => Some(Message::with_self(message, &users, &chats, self_id)),
        (None, Some(id)) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
            Some(Message::with_self(
                local(id, now).into(),
                &users,
                &chats,
                self_id,
            ))
        }
        (None, None) => None,
    }
}

impl Client {
    /// The peer of a user, chat or channel seen before (in updates, dialogs, history or a
    /// resolved username).
    pub fn peer(&self, kind: PeerKind, id: i64) -> Option<PeerRef> {
        let access_hash = match kind {
            PeerKind::Chat => 0,
            _ => self.access_hash(kind, id)?,
        };
        Some(PeerRef {
            kind,
            id,
            access_hash,
        })
    }

    /// The peer a message was sent in (the other user, the group or the channel).
    pub fn peer_of(&self, peer: &enums::Peer) -> Option<PeerRef> {
        let (kind, id) = peer_key(peer);
        self.peer(kind, id)
    }

    /// Finds a user or channel by username (`contacts.resolveUsername`, or the cache).
    pub async fn resolve_username(&self, username: &str) -> Result<PeerRef, InvocationError> {
        let name = username.trim_start_matches('@').to_lowercase();
        let cached = crate::client::cached_username(self, &name);
        if let Some(peer) = cached {
            return Ok(peer);
        }
        let enums::contacts::ResolvedPeer::ResolvedPeer(resolved) = self
            .invoke(&functions::contacts::ResolveUsername {
                username: name.clone(),
                referer: None,
            })
            .await?;
        self.cache_peers(&resolved.users, &resolved.chats);
        self.peer_of(&resolved.peer)
            .ok_or(InvocationError::Incomplete {
                request: "contacts.resolveUsername",
                missing: "access hash of the resolved peer",
            })
    }

    /// Sets (or with `""` removes) the signed-in user's username.
    pub async fn set_username(&self, username: &str) -> Result<(), InvocationError> {
        let user = self
            .invoke(&functions::account::UpdateUsername {
                username: username.to_string(),
            })
            .await?;
        self.cache_peers(std::slice::from_ref(&user), &[]);
        Ok(())
    }

    /// Sends a message (a string, or an [`InputMessage`] with formatting, a reply, ...) and
    /// returns it as the server stored it.
    ///
    /// Mentions (`messageEntityMentionName`, e.g. from `[name](tg://user?id=N)`) are sent
    /// with the user's access hash when the client has seen the user, else as a
    /// `tg://user?id=N` link.
    ///
    /// ```no_run
    /// # #[cfg(feature = "markdown")]
    /// # async fn demo(client: client_sdk::Client, peer: client_sdk::PeerRef) -> Result<(), client_sdk::InvocationError> {
    /// use client_sdk::InputMessage;
    /// let hello = client.send_message(&peer, "Hello").await?;
    /// client
    ///     .send_message(&peer, InputMessage::markdown("**bold** reply").reply_to(Some(hello.id())))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_message(
        &self,
        to: impl Into<PeerRef>,
        message: impl Into<InputMessage>,
    ) -> Result<Message, InvocationError> {
        let to = to.into();
        let message = message.into();
        let random_id = random_id();
        let mut request =
            functions::messages::SendMessage::new(to.input_peer(), message.text.clone(), random_id);
        request.silent = message.silent;
        request.no_webpage = message.no_webpage;
        request.reply_to = message.reply_to.map(|id| {
            enums::InputReplyTo::Message(types::InputReplyToMessage {
                reply_to_msg_id: id,
                ..Default::default()
            })
        });
        let entities = self.input_entities(&message.entities);
        request.entities = (!entities.is_empty()).then_some(entities);
        let updates = self.invoke(&request).await?;
        sent_message(self.user_id(), &to, &message, random_id, updates).ok_or(
            InvocationError::Incomplete {
                request: "messages.sendMessage",
                missing: "id of the sent message",
            },
        )
    }

    /// Entities as the server takes them: mentions with the user's access hash.
    fn input_entities(&self, entities: &[enums::MessageEntity]) -> Vec<enums::MessageEntity> {
        entities
            .iter()
            .map(|entity| match entity {
                enums::MessageEntity::MentionName(e) => {
                    match self.access_hash(PeerKind::User, e.user_id) {
                        Some(access_hash) => types::InputMessageEntityMentionName {
                            offset: e.offset,
                            length: e.length,
                            user_id: types::InputUser {
                                user_id: e.user_id,
                                access_hash,
                            }
                            .into(),
                        }
                        .into(),
                        None => types::MessageEntityTextUrl {
                            offset: e.offset,
                            length: e.length,
                            url: format!("tg://user?id={}", e.user_id),
                        }
                        .into(),
                    }
                }
                other => other.clone(),
            })
            .collect()
    }

    /// Sends an uploaded file as a document, with its file name; returns the message id.
    pub async fn send_file(
        &self,
        to: impl Into<PeerRef>,
        file: enums::InputFile,
        file_name: &str,
        mime_type: &str,
        caption: &str,
    ) -> Result<i32, InvocationError> {
        let media = enums::InputMedia::UploadedDocument(types::InputMediaUploadedDocument::new(
            file,
            mime_type.to_string(),
            vec![enums::DocumentAttribute::Filename(
                types::DocumentAttributeFilename {
                    file_name: file_name.to_string(),
                },
            )],
        ));
        let request = functions::messages::SendMedia::new(
            to.into().input_peer(),
            media,
            caption.to_string(),
            random_id(),
        );
        let updates = self.invoke(&request).await?;
        sent_id(&updates).ok_or(InvocationError::Incomplete {
            request: "messages.sendMedia",
            missing: "id of the sent message",
        })
    }

    /// Replaces the text (and formatting) of a message; the [`InputMessage`]'s reply and
    /// silence do not apply to edits.
    pub async fn edit_message(
        &self,
        peer: impl Into<PeerRef>,
        id: i32,
        message: impl Into<InputMessage>,
    ) -> Result<(), InvocationError> {
        let message = message.into();
        let mut request = functions::messages::EditMessage::new(peer.into().input_peer(), id);
        request.no_webpage = message.no_webpage;
        let entities = self.input_entities(&message.entities);
        request.entities = (!entities.is_empty()).then_some(entities);
        request.message = Some(message.text);
        self.invoke(&request).await?;
        Ok(())
    }

    /// Marks everything up to `max_id` (0: everything) read.
    pub async fn read_history(
        &self,
        peer: impl Into<PeerRef>,
        max_id: i32,
    ) -> Result<(), InvocationError> {
        let peer = peer.into();
        match peer.input_channel() {
            Some(channel) => {
                self.invoke(&functions::channels::ReadHistory { channel, max_id })
                    .await?;
            }
            None => {
                self.invoke(&functions::messages::ReadHistory {
                    peer: peer.input_peer(),
                    max_id,
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Deletes messages (for everyone when `revoke`; channel messages always are).
    pub async fn delete_messages(
        &self,
        peer: impl Into<PeerRef>,
        ids: &[i32],
        revoke: bool,
    ) -> Result<(), InvocationError> {
        match peer.into().input_channel() {
            Some(channel) => {
                self.invoke(&functions::channels::DeleteMessages {
                    channel,
                    id: ids.to_vec(),
                })
                .await?;
            }
            None => {
                self.invoke(&functions::messages::DeleteMessages {
                    revoke,
                    id: ids.to_vec(),
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Creates a broadcast channel (or a megagroup when `broadcast` is false).
    pub async fn create_channel(
        &self,
        title: &str,
        about: &str,
        broadcast: bool,
    ) -> Result<PeerRef, InvocationError> {
        let request = functions::channels::CreateChannel {
            broadcast,
            megagroup: !broadcast,
            title: title.into(),
            about: about.into(),
            ..Default::default()
        };
        let updates = self.invoke(&request).await?;
        let chats = match &updates {
            enums::Updates::Updates(u) => u.chats.clone(),
            enums::Updates::Combined(u) => u.chats.clone(),
            _ => Vec::new(),
        };
        self.cache_peers(&[], &chats);
        chats
            .iter()
            .find_map(|c| match c {
                enums::Chat::Channel(c) => self.peer(PeerKind::Channel, c.id),
                _ => None,
            })
            .ok_or(InvocationError::Incomplete {
                request: "channels.createChannel",
                missing: "channel",
            })
    }

    /// Joins a channel.
    pub async fn join_channel(&self, channel: impl Into<PeerRef>) -> Result<(), InvocationError> {
        let channel = channel.into();
        let input = channel
            .input_channel()
            .ok_or(InvocationError::WrongPeerKind {
                expected: PeerKind::Channel,
                got: channel.kind,
            })?;
        self.invoke(&functions::channels::JoinChannel { channel: input })
            .await?;
        Ok(())
    }

    /// Iterates a chat's history, newest first, fetching 100 messages at a time.
    pub fn iter_messages(&self, peer: impl Into<PeerRef>) -> MessageIter {
        MessageIter {
            client: self.clone(),
            peer: peer.into(),
            buffer: Vec::new(),
            offset_id: 0,
            done: false,
            limit: usize::MAX,
            yielded: 0,
        }
    }

    /// Iterates the dialog list, most recent first, 100 at a time.
    pub fn iter_dialogs(&self) -> DialogIter {
        DialogIter {
            client: self.clone(),
            buffer: Vec::new(),
            offset_date: 0,
            offset_id: 0,
            offset_peer: enums::InputPeer::Empty,
            done: false,
            seen: std::collections::HashSet::new(),
        }
    }
}

/// The messages of one chat, newest first (see [`Client::iter_messages`]).
pub struct MessageIter {
    client: Client,
    peer: PeerRef,
    buffer: Vec<enums::Message>,
    offset_id: i32,
    done: bool,
    limit: usize,
    yielded: usize,
}

impl MessageIter {
    /// Stops after `limit` messages.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The next message, or `None` at the start of the history.
    pub async fn next(&mut self) -> Result<Option<enums::Message>, InvocationError> {
        if self.yielded >= self.limit {
            return Ok(None);
        }
        if self.buffer.is_empty() && !self.done {
            let batch = (self.limit - self.yielded).min(100) as i32;
            let request = functions::messages::GetHistory {
                peer: self.peer.input_peer(),
                offset_id: self.offset_id,
                offset_date: 0,
                add_offset: 0,
                limit: batch,
                max_id: 0,
                min_id: 0,
                hash: 0,
            };
            let (messages, users, chats) = match self.client.invoke(&request).await? {
                enums::messages::Messages::Messages(m) => (m.messages, m.users, m.chats),
                enums::messages::Messages::Slice(m) => (m.messages, m.users, m.chats),
                enums::messages::Messages::ChannelMessages(m) => (m.messages, m.users, m.chats),
                enums::messages::Messages::NotModified(_) => (Vec::new(), Vec::new(), Vec::new()),
            };
            self.client.cache_peers(&users, &chats);
            if (messages.len() as i32) < batch {
                self.done = true;
            }
            match messages.last() {
                Some(last) => self.offset_id = message_id_date(last).0,
                None => self.done = true,
            }
            self.buffer = messages;
            self.buffer.reverse();
        }
        let next = self.buffer.pop();
        if next.is_some() {
            self.yielded += 1;
        }
        Ok(next)
    }
}

/// The dialog list (see [`Client::iter_dialogs`]).
pub struct DialogIter {
    client: Client,
    buffer: Vec<Dialog>,
    offset_date: i32,
    offset_id: i32,
    offset_peer: enums::InputPeer,
    done: bool,
    seen: std::collections::HashSet<(PeerKind, i64)>,
}

impl DialogIter {
    /// The next dialog, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Dialog>, InvocationError> {
        while self.buffer.is_empty() && !self.done {
            self.fetch().await?;
        }
        Ok(self.buffer.pop())
    }

    async fn fetch(&mut self) -> Result<(), InvocationError> {
        let request = functions::messages::GetDialogs {
            exclude_pinned: false,
            folder_id: None,
            offset_date: self.offset_date,
            offset_id: self.offset_id,
            offset_peer: self.offset_peer.clone(),
            limit: 100,
            hash: 0,
        };
        let (dialogs, messages, users, chats, complete) = match self.client.invoke(&request).await?
        {
            enums::messages::Dialogs::Dialogs(d) => (d.dialogs, d.messages, d.users, d.chats, true),
            enums::messages::Dialogs::Slice(d) => (d.dialogs, d.messages, d.users, d.chats, false),
            enums::messages::Dialogs::NotModified(_) => {
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), true)
            }
        };
        self.client.cache_peers(&users, &chats);
        let name_of = |kind: PeerKind, id: i64| -> String {
            match kind {
                PeerKind::User => users
                    .iter()
                    .find_map(|u| match u {
                        enums::User::User(u) if u.id == id => Some(
                            [u.first_name.as_deref(), u.last_name.as_deref()]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
                        _ => None,
                    })
                    .unwrap_or_default(),
                _ => chats
                    .iter()
                    .find_map(|c| match c {
                        enums::Chat::Channel(c) if c.id == id => Some(c.title.clone()),
                        enums::Chat::Chat(c) if c.id == id => Some(c.title.clone()),
                        _ => None,
                    })
                    .unwrap_or_default(),
            }
        };
        let mut page = Vec::new();
        let mut last: Option<(i32, i32, enums::InputPeer)> = None;
        for dialog in &dialogs {
            let enums::Dialog::Dialog(d) = dialog else {
                continue;
            };
            let (kind, id) = peer_key(&d.peer);
            let top = messages
                .iter()
                .find(|m| {
                    let (mid, _) = message_id_date(m);
                    let peer = match m {
                        enums::Message::Message(m) => Some(&m.peer_id),
                        enums::Message::Service(m) => Some(&m.peer_id),
                        enums::Message::Empty(m) => m.peer_id.as_ref(),
                    };
                    mid == d.top_message && peer.map(peer_key) == Some((kind, id))
                })
                .cloned();
            let Some(peer) = self.client.peer(kind, id) else {
                continue;
            };
            if let Some(top) = &top {
                let (mid, date) = message_id_date(top);
                last = Some((date, mid, peer.input_peer()));
            }
            if self.seen.insert((kind, id)) {
                page.push(Dialog {
                    peer,
                    name: name_of(kind, id),
                    top_message: top,
                    unread_count: d.unread_count,
                });
            }
        }
        match last {
            Some((date, id, peer)) if !complete && !dialogs.is_empty() => {
                if (date, id) == (self.offset_date, self.offset_id) {
                    self.done = true;
                }
                self.offset_date = date;
                self.offset_id = id;
                self.offset_peer = peer;
            }
            _ => self.done = true,
        }
        page.reverse();
        self.buffer = page;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to() -> PeerRef {
        PeerRef {
            kind: PeerKind::User,
            id: 2,
            access_hash: 20,
        }
    }

    #[test]
    fn a_short_sent_message_becomes_the_message_that_was_sent() {
        let sent = InputMessage::new("hi").reply_to(Some(4)).silent(true);
        let answer = types::UpdateShortSentMessage {
            out: true,
            id: 9,
            pts: 1,
            pts_count: 1,
            date: 77,
            media: None,
            entities: None,
            ttl_period: None,
        };
        let m = sent_message(Some(1), &to(), &sent, 5, answer.into()).expect("a message");
        assert_eq!((m.id(), m.text(), m.date()), (9, "hi", 77));
        assert_eq!(m.reply_to_message_id(), Some(4));
        assert!(m.outgoing() && m.silent());
        assert_eq!(m.sender_id(), Some((PeerKind::User, 1)));
        assert_eq!(m.chat_id(), Some((PeerKind::User, 2)));
    }

    #[test]
    fn updates_give_the_new_message_with_our_random_id() {
        let message = |id: i32, text: &str| {
            let mut m = types::Message::new(id, to().to_peer(), 5, text.into());
            m.out = true;
            enums::Update::NewMessage(types::UpdateNewMessage {
                message: m.into(),
                pts: id,
                pts_count: 1,
            })
        };
        let updates = types::Updates {
            updates: vec![
                types::UpdateMessageID {
                    id: 3,
                    random_id: 111,
                }
                .into(),
                types::UpdateMessageID {
                    id: 4,
                    random_id: 222,
                }
                .into(),
                message(3, "other"),
                message(4, "ours"),
            ],
            users: vec![enums::User::User(types::User {
                id: 2,
                first_name: Some("Bob".into()),
                access_hash: Some(20),
                ..Default::default()
            })],
            chats: Vec::new(),
            date: 5,
            seq: 0,
        };
        let sent = InputMessage::new("ours");
        let m = sent_message(Some(1), &to(), &sent, 222, updates.into()).expect("a message");
        assert_eq!((m.id(), m.text()), (4, "ours"));
        assert_eq!(m.chat().map(crate::Peer::name), Some("Bob".into()));
        assert!(sent_message(Some(1), &to(), &sent, 333, enums::Updates::TooLong).is_none());
    }
}
