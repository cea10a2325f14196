//! Message reactions: `messages.sendReaction` in private chats and in channels the caller is
//! a member of, one emoji of [`ALLOWED`] per user and message (as for a Telegram user without
//! Premium: a new one replaces the old, an empty list takes it back; custom emoji and paid
//! reactions are refused with `REACTION_INVALID`); `messages.getMessagesReactions`,
//! `messages.getMessageReactionsList`, `messages.getAvailableReactions`; and the `reactions`
//! of every message the server answers with (`attach_private`, `attach_channel`).
//!
//! Reactions move no pts, as on Telegram, where `updateMessageReactions` is never part of
//! the pts sequence and `updates.getDifference` does not replay it: the sessions connected
//! now get it pushed (the other user of a private chat, the reactor's other sessions, a
//! channel's members; on this node directly, on the others through a
//! [`ChangeNotice::Reactions`] on the bus), and a client that was away reads the counts from
//! the messages it loads (or `getMessagesReactions`). They are stored, so they outlive a
//! restart.
//!
//! Each viewer sees its own reaction marked (`chosen_order`), and, in private chats and
//! megagroups of at most [`SMALL_GROUP`] members (`can_see_list`), the
//! [`RECENT_REACTIONS`] newest reactors.

use super::channel_access::{channel_tl, readable};
use super::{ok, resolve_channel_peer, resolve_peer, user_tl, users_tl};
use crate::bus::{ChangeNotice, TypingTo};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::StoreError;
use crate::store::channels::Channel;
use crate::store::reactions::{Reaction, Reactions};
use mtproto_api::{enums, functions, types};
use std::collections::HashMap;
use std::sync::Arc;
use tl_runtime::Serialize;

/// The reactions a user may send (the standard set Telegram offers every user), with the
/// titles `messages.getAvailableReactions` gives them.
pub const ALLOWED: &[(&str, &str)] = &[
    ("👍", "Thumbs Up"),
    ("👎", "Thumbs Down"),
    ("\u{2764}", "Red Heart"),
    ("🔥", "Fire"),
    ("🥰", "Smiling Face with Hearts"),
    ("👏", "Clapping Hands"),
    ("😁", "Beaming Face"),
    ("🤔", "Thinking Face"),
    ("🤯", "Exploding Head"),
    ("😱", "Screaming Face"),
    ("🤬", "Face with Symbols on Mouth"),
    ("😢", "Crying Face"),
    ("🎉", "Party Popper"),
    ("🤩", "Star-Struck"),
    ("🤮", "Vomiting Face"),
    ("💩", "Pile of Poo"),
    ("🙏", "Folded Hands"),
    ("👌", "OK Hand"),
    ("\u{1f54a}", "Dove"),
    ("🤡", "Clown Face"),
    ("🥱", "Yawning Face"),
    ("🥴", "Woozy Face"),
    ("😍", "Smiling Face with Heart-Eyes"),
    ("🐳", "Spouting Whale"),
    ("\u{2764}\u{200d}\u{1f525}", "Heart on Fire"),
    ("🌚", "New Moon Face"),
    ("🌭", "Hot Dog"),
    ("💯", "Hundred Points"),
    ("🤣", "Rolling on the Floor Laughing"),
    ("\u{26a1}", "High Voltage"),
    ("🍌", "Banana"),
    ("🏆", "Trophy"),
    ("💔", "Broken Heart"),
    ("🤨", "Face with Raised Eyebrow"),
    ("😐", "Neutral Face"),
    ("🍓", "Strawberry"),
    ("🍾", "Bottle with Popping Cork"),
    ("💋", "Kiss Mark"),
    ("🖕", "Middle Finger"),
    ("😈", "Smiling Face with Horns"),
    ("😴", "Sleeping Face"),
    ("😭", "Loudly Crying Face"),
    ("🤓", "Nerd Face"),
    ("👻", "Ghost"),
    ("\u{1f468}\u{200d}\u{1f4bb}", "Man Technologist"),
    ("👀", "Eyes"),
    ("🎃", "Jack-O-Lantern"),
    ("🙈", "See-No-Evil Monkey"),
    ("😇", "Smiling Face with Halo"),
    ("😨", "Fearful Face"),
    ("🤝", "Handshake"),
    ("\u{270d}", "Writing Hand"),
    ("🤗", "Hugging Face"),
    ("🫡", "Saluting Face"),
    ("🎅", "Santa Claus"),
    ("🎄", "Christmas Tree"),
    ("\u{2603}", "Snowman"),
    ("💅", "Nail Polish"),
    ("🤪", "Zany Face"),
    ("🗿", "Moai"),
    ("🆒", "Cool Button"),
    ("💘", "Heart with Arrow"),
    ("🙉", "Hear-No-Evil Monkey"),
    ("🦄", "Unicorn"),
    ("😘", "Face Blowing a Kiss"),
    ("💊", "Pill"),
    ("🙊", "Speak-No-Evil Monkey"),
    ("😎", "Smiling Face with Sunglasses"),
    ("👾", "Alien Monster"),
    ("\u{1f937}\u{200d}\u{2642}", "Man Shrugging"),
    ("🤷", "Person Shrugging"),
    ("\u{1f937}\u{200d}\u{2640}", "Woman Shrugging"),
    ("😡", "Enraged Face"),
];

/// How many of the newest reactors a message shows (`recent_reactions`).
pub const RECENT_REACTIONS: usize = 3;

/// A megagroup with at most this many members shows who reacted (`can_see_list`).
pub const SMALL_GROUP: i32 = 100;

/// The most messages one `getMessagesReactions` asks about.
pub const MAX_IDS: usize = 100;

/// The most reactors one `getMessageReactionsList` page holds.
pub const MAX_LIST_PAGE: i32 = 100;

/// The reactions service.
#[derive(Debug, Clone, Copy)]
pub struct ReactionsService;

service!(ReactionsService {
    functions::messages::SendReaction => send_reaction,
    functions::messages::GetMessagesReactions => get_messages_reactions,
    functions::messages::GetMessageReactionsList => get_message_reactions_list,
    functions::messages::GetAvailableReactions => get_available_reactions,
});

/// The `hash` of [`ALLOWED`] in `messages.availableReactions` (FNV-1a over the emoji; never
/// 0, which a client sends when it has nothing cached).
pub fn available_hash() -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for (emoji, _) in ALLOWED {
        for byte in emoji.bytes().chain([0]) {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    match hash as i32 {
        0 => 1,
        h => h,
    }
}

/// The emoji a `sendReaction` chooses (`None`: take the reaction back).
fn chosen(reaction: Option<Vec<enums::Reaction>>) -> Result<Option<String>, RpcError> {
    let mut wanted: Vec<enums::Reaction> = reaction
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !matches!(r, enums::Reaction::Empty))
        .collect();
    if wanted.len() > 1 {
        return Err(RpcError::bad_request("REACTIONS_TOO_MANY"));
    }
    match wanted.pop() {
        None => Ok(None),
        Some(enums::Reaction::Emoji(e)) if ALLOWED.iter().any(|(a, _)| *a == e.emoticon) => {
            Ok(Some(e.emoticon))
        }
        Some(_) => Err(RpcError::bad_request("REACTION_INVALID")),
    }
}

/// Where a message is: a private chat of the caller's (the other user) or a channel.
enum Chat {
    User(i64),
    Channel(Channel),
}

impl Chat {
    fn peer(&self) -> enums::Peer {
        match self {
            Chat::User(id) => types::PeerUser { user_id: *id }.into(),
            Chat::Channel(ch) => types::PeerChannel { channel_id: ch.id }.into(),
        }
    }

    /// Whether its members see who reacted.
    fn lists_reactors(&self) -> bool {
        match self {
            Chat::User(_) => true,
            Chat::Channel(ch) => lists_reactors(ch),
        }
    }
}

fn lists_reactors(ch: &Channel) -> bool {
    !ch.broadcast && ch.members <= SMALL_GROUP
}

/// The chat a call names; a channel only if the caller may read it (`member`: only if a
/// member, `CHANNEL_PRIVATE` otherwise).
async fn chat(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputPeer,
    member: bool,
) -> Result<Chat, RpcError> {
    if let enums::InputPeer::Channel(peer) = peer {
        let ch = resolve_channel_peer(server, peer).await?;
        let id = ch.id;
        if member {
            if server.store.run(move |s| s.member(id, me)).await?.is_none() {
                return Err(RpcError::bad_request("CHANNEL_PRIVATE"));
            }
        } else {
            readable(server, &ch, me).await?;
        }
        return Ok(Chat::Channel(ch));
    }
    Ok(Chat::User(resolve_peer(server, me, peer).await?.id))
}

/// `messageReactions` as `viewer` sees them: counts by emoji (most first), the viewer's own
/// marked, and with `list`, the newest reactors.
pub(crate) fn reactions_tl(
    reactions: &[Reaction],
    viewer: i64,
    list: bool,
) -> enums::MessageReactions {
    let mut counts: Vec<(&str, i32)> = Vec::new();
    for r in reactions {
        match counts.iter_mut().find(|(e, _)| *e == r.emoji) {
            Some((_, n)) => *n += 1,
            None => counts.push((&r.emoji, 1)),
        }
    }
    let rank = |emoji: &str| ALLOWED.iter().position(|(a, _)| *a == emoji);
    counts.sort_by(|(x, n), (y, m)| m.cmp(n).then(rank(x).cmp(&rank(y))).then(x.cmp(y)));
    let own = reactions.iter().find(|r| r.user_id == viewer);
    let results = counts
        .into_iter()
        .map(|(emoji, count)| {
            types::ReactionCount {
                chosen_order: own.filter(|r| r.emoji == emoji).map(|_| 0),
                reaction: emoji_tl(emoji),
                count,
            }
            .into()
        })
        .collect();
    let recent = list.then(|| {
        reactions
            .iter()
            .take(RECENT_REACTIONS)
            .map(|r| {
                types::MessagePeerReaction {
                    big: false,
                    unread: false,
                    my: r.user_id == viewer,
                    peer_id: types::PeerUser { user_id: r.user_id }.into(),
                    date: r.date,
                    reaction: emoji_tl(&r.emoji),
                }
                .into()
            })
            .collect()
    });
    types::MessageReactions {
        min: false,
        can_see_list: list,
        reactions_as_tags: false,
        results,
        recent_reactions: recent,
        top_reactors: None,
    }
    .into()
}

fn emoji_tl(emoji: &str) -> enums::Reaction {
    types::ReactionEmoji {
        emoticon: emoji.to_owned(),
    }
    .into()
}

/// The users a view of `reactions` names (its recent reactors).
fn reactor_ids(reactions: &[Reaction], list: bool) -> impl Iterator<Item = i64> + '_ {
    let n = if list { RECENT_REACTIONS } else { 0 };
    reactions.iter().take(n).map(|r| r.user_id)
}

fn update(peer: enums::Peer, msg_id: i32, view: enums::MessageReactions) -> enums::Update {
    types::UpdateMessageReactions {
        peer,
        msg_id,
        top_msg_id: None,
        saved_peer_id: None,
        reactions: view,
    }
    .into()
}

/// `updates` with `updates`, the users they name and `chats`.
async fn updates_body(
    server: &Arc<Node>,
    viewer: i64,
    updates: Vec<enums::Update>,
    users: Vec<i64>,
    chats: Vec<enums::Chat>,
) -> Result<enums::Updates, RpcError> {
    Ok(types::Updates {
        updates,
        users: users_tl(server, viewer, users).await?,
        chats,
        date: unix_now(),
        seq: 0,
    }
    .into())
}

/// The reactions of one message from a lookup's answer (none: not in it).
fn of(found: Vec<Reactions>, id: i32) -> Vec<Reaction> {
    found
        .into_iter()
        .find(|r| r.id == id)
        .map_or(Vec::new(), |r| r.reactions)
}

fn message_id_invalid(e: StoreError) -> RpcError {
    match e {
        StoreError::NotFound { .. } => RpcError::bad_request("MESSAGE_ID_INVALID"),
        other => other.into(),
    }
}

async fn send_reaction(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendReaction,
) -> RpcResult {
    let me = caller.user()?;
    let emoji = chosen(call.reaction)?;
    let id = call.msg_id;
    let except = Some((caller.key_id, caller.session_id));
    match chat(server, me, &call.peer, true).await? {
        Chat::User(peer) => {
            let (reacted, found) = server
                .store
                .run(move |s| {
                    let reacted = s.react(me, peer, id, emoji.as_deref(), unix_now())?;
                    Ok((reacted, s.reactions(me, &[id])?))
                })
                .await
                .map_err(message_id_invalid)?;
            let reactions = of(found, id);
            if reacted.changed {
                push_private(server, me, peer, id, &reactions, except).await;
                server.bus.publish(ChangeNotice::Reactions {
                    to: TypingTo::User(me),
                    msg_id: id,
                });
                if let (Some(copy), true) = (reacted.copy, peer != me) {
                    push_private(server, peer, me, copy, &reactions, None).await;
                    server.bus.publish(ChangeNotice::Reactions {
                        to: TypingTo::User(peer),
                        msg_id: copy,
                    });
                }
            }
            let view = reactions_tl(&reactions, me, true);
            let users = [me, peer].into_iter().chain(reactor_ids(&reactions, true));
            let chat = Chat::User(peer);
            let answer = vec![update(chat.peer(), id, view)];
            ok(updates_body(server, me, answer, users.collect(), Vec::new()).await?)
        }
        Chat::Channel(ch) => {
            let channel = ch.id;
            let (changed, found) = server
                .store
                .run(move |s| {
                    let changed =
                        s.react_in_channel(channel, id, me, emoji.as_deref(), unix_now())?;
                    Ok((changed, s.channel_reactions(channel, &[id])?))
                })
                .await
                .map_err(message_id_invalid)?;
            let reactions = of(found, id);
            if changed {
                push_channel(server, &ch, id, &reactions, except).await;
                server.bus.publish(ChangeNotice::Reactions {
                    to: TypingTo::Channel(channel),
                    msg_id: id,
                });
            }
            channel_answer(server, me, &ch, vec![(id, reactions)]).await
        }
    }
}

/// `updates` with an `updateMessageReactions` for each of `messages` of a channel, as `me`
/// sees them.
async fn channel_answer(
    server: &Arc<Node>,
    me: i64,
    ch: &Channel,
    messages: Vec<(i32, Vec<Reaction>)>,
) -> RpcResult {
    let list = lists_reactors(ch);
    let mut users = vec![me];
    let mut updates = Vec::with_capacity(messages.len());
    for (id, reactions) in &messages {
        users.extend(reactor_ids(reactions, list));
        let peer = Chat::Channel(ch.clone()).peer();
        updates.push(update(peer, *id, reactions_tl(reactions, me, list)));
    }
    let channel = ch.id;
    let member = server.store.run(move |s| s.member(channel, me)).await?;
    let chats = vec![channel_tl(ch, member.as_ref())];
    ok(updates_body(server, me, updates, users, chats).await?)
}

/// Pushes the reactions to message `id` of `owner`'s chat with `peer` to the owner's sessions
/// connected here (but `except`).
async fn push_private(
    server: &Arc<Node>,
    owner: i64,
    peer: i64,
    id: i32,
    reactions: &[Reaction],
    except: Option<(i64, i64)>,
) {
    if !server.is_online(owner) {
        return;
    }
    let view = reactions_tl(reactions, owner, true);
    let users = [owner, peer]
        .into_iter()
        .chain(reactor_ids(reactions, true))
        .collect();
    let peer: enums::Peer = types::PeerUser { user_id: peer }.into();
    match updates_body(
        server,
        owner,
        vec![update(peer, id, view)],
        users,
        Vec::new(),
    )
    .await
    {
        Ok(body) => server.push_to_user(owner, &body.to_bytes(), except),
        Err(e) => tracing::warn!("reactions of user {owner}'s message {id}: {e:?}"),
    }
}

/// Pushes the reactions to post `id` to the channel's members connected here (each with
/// their own reaction marked; not to `except`).
async fn push_channel(
    server: &Arc<Node>,
    ch: &Channel,
    id: i32,
    reactions: &[Reaction],
    except: Option<(i64, i64)>,
) {
    let channel = ch.id;
    let members = match server.store.run(move |s| s.member_ids(channel)).await {
        Ok(members) => members,
        Err(e) => {
            tracing::warn!("reactions in channel {channel}: {e}");
            return;
        }
    };
    let online: Vec<i64> = members
        .into_iter()
        .filter(|u| server.is_online(*u))
        .collect();
    if online.is_empty() {
        return;
    }
    let list = lists_reactors(ch);
    let ids: Vec<i64> = reactor_ids(reactions, list).collect();
    let reactors = match server.store.run(move |s| s.users(&ids)).await {
        Ok(users) => users,
        Err(e) => {
            tracing::warn!("reactions in channel {channel}: {e}");
            return;
        }
    };
    let peer = Chat::Channel(ch.clone()).peer();
    for user in online {
        let body = enums::Updates::from(types::Updates {
            updates: vec![update(
                peer.clone(),
                id,
                reactions_tl(reactions, user, list),
            )],
            users: reactors.iter().map(|u| user_tl(u, user)).collect(),
            chats: vec![channel_tl(ch, None)],
            date: unix_now(),
            seq: 0,
        });
        server.push_to_user(user, &body.to_bytes(), except);
    }
}

/// A reaction another node committed (heard on the bus): read from the store and pushed to
/// the sessions connected here.
pub(crate) async fn push_remote(server: &Arc<Node>, to: TypingTo, msg_id: i32) {
    match to {
        TypingTo::User(owner) => {
            if !server.is_online(owner) {
                return;
            }
            let found = server
                .store
                .run(move |s| {
                    Ok((
                        s.messages(owner, &[msg_id])?,
                        s.reactions(owner, &[msg_id])?,
                    ))
                })
                .await;
            match found {
                Ok((messages, found)) => {
                    if let Some(m) = messages.first() {
                        let reactions = of(found, msg_id);
                        push_private(server, owner, m.peer, msg_id, &reactions, None).await;
                    }
                }
                Err(e) => tracing::warn!("bus: reactions of user {owner}: {e}"),
            }
        }
        TypingTo::Channel(channel) => {
            let found = server
                .store
                .run(move |s| {
                    Ok((
                        s.channel(channel)?,
                        s.channel_reactions(channel, &[msg_id])?,
                    ))
                })
                .await;
            match found {
                Ok((Some(ch), found)) => {
                    push_channel(server, &ch, msg_id, &of(found, msg_id), None).await
                }
                Ok((None, _)) => {}
                Err(e) => tracing::warn!("bus: reactions in channel {channel}: {e}"),
            }
        }
        // Reactions in basic groups are not taken (sendReaction answers PEER_ID_INVALID), so
        // no node publishes this.
        TypingTo::Chat(chat) => tracing::debug!(chat, "bus: reactions in a basic group ignored"),
    }
}

async fn get_messages_reactions(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetMessagesReactions,
) -> RpcResult {
    let me = caller.user()?;
    if call.id.len() > MAX_IDS {
        return Err(RpcError::bad_request("MESSAGE_ID_INVALID"));
    }
    let ids = call.id;
    match chat(server, me, &call.peer, false).await? {
        Chat::User(peer) => {
            let (messages, found) = server
                .store
                .run(move |s| Ok((s.messages(me, &ids)?, s.reactions(me, &ids)?)))
                .await?;
            let mut by_id: HashMap<i32, Vec<Reaction>> =
                found.into_iter().map(|r| (r.id, r.reactions)).collect();
            let mut users = vec![me, peer];
            let mut updates = Vec::new();
            for m in messages.iter().filter(|m| m.peer == peer) {
                let reactions = by_id.remove(&m.id).unwrap_or_default();
                users.extend(reactor_ids(&reactions, true));
                let view = reactions_tl(&reactions, me, true);
                updates.push(update(Chat::User(peer).peer(), m.id, view));
            }
            ok(updates_body(server, me, updates, users, Vec::new()).await?)
        }
        Chat::Channel(ch) => {
            let channel = ch.id;
            let (posts, found) = server
                .store
                .run(move |s| {
                    Ok((
                        s.channel_messages(channel, &ids)?,
                        s.channel_reactions(channel, &ids)?,
                    ))
                })
                .await?;
            let mut by_id: HashMap<i32, Vec<Reaction>> =
                found.into_iter().map(|r| (r.id, r.reactions)).collect();
            let messages = posts
                .iter()
                .map(|p| (p.id, by_id.remove(&p.id).unwrap_or_default()))
                .collect();
            channel_answer(server, me, &ch, messages).await
        }
    }
}

async fn get_message_reactions_list(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetMessageReactionsList,
) -> RpcResult {
    let me = caller.user()?;
    let chat = chat(server, me, &call.peer, false).await?;
    if !chat.lists_reactors() {
        return Err(RpcError::bad_request("BROADCAST_FORBIDDEN"));
    }
    let id = call.id;
    let (exists, found) = match &chat {
        Chat::User(peer) => {
            let peer = *peer;
            server
                .store
                .run(move |s| {
                    let messages = s.messages(me, &[id])?;
                    Ok((
                        messages.iter().any(|m| m.peer == peer),
                        s.reactions(me, &[id])?,
                    ))
                })
                .await?
        }
        Chat::Channel(ch) => {
            let channel = ch.id;
            server
                .store
                .run(move |s| {
                    Ok((
                        !s.channel_messages(channel, &[id])?.is_empty(),
                        s.channel_reactions(channel, &[id])?,
                    ))
                })
                .await?
        }
    };
    if !exists {
        return Err(RpcError::bad_request("MESSAGE_ID_INVALID"));
    }
    let wanted = match call.reaction {
        Some(enums::Reaction::Emoji(e)) => Some(e.emoticon),
        Some(enums::Reaction::Empty) | None => None,
        Some(_) => return Err(RpcError::bad_request("REACTION_INVALID")),
    };
    let all: Vec<Reaction> = of(found, id)
        .into_iter()
        .filter(|r| wanted.as_ref().is_none_or(|w| *w == r.emoji))
        .collect();
    let start: usize = match call.offset.as_deref() {
        None | Some("") => 0,
        Some(offset) => offset
            .parse()
            .map_err(|_| RpcError::bad_request("OFFSET_INVALID"))?,
    };
    let limit = call.limit.clamp(1, MAX_LIST_PAGE) as usize;
    let page: Vec<&Reaction> = all.iter().skip(start).take(limit).collect();
    let next = start + page.len();
    let reactions = page
        .iter()
        .map(|r| {
            types::MessagePeerReaction {
                big: false,
                unread: false,
                my: r.user_id == me,
                peer_id: types::PeerUser { user_id: r.user_id }.into(),
                date: r.date,
                reaction: emoji_tl(&r.emoji),
            }
            .into()
        })
        .collect();
    let users = users_tl(server, me, page.iter().map(|r| r.user_id)).await?;
    ok(enums::messages::MessageReactionsList::from(
        types::messages::MessageReactionsList {
            count: all.len() as i32,
            reactions,
            chats: Vec::new(),
            users,
            next_offset: (next < all.len()).then(|| next.to_string()),
        },
    ))
}

async fn get_available_reactions(
    _server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetAvailableReactions,
) -> RpcResult {
    caller.user()?;
    let hash = available_hash();
    if call.hash == hash {
        return ok(enums::messages::AvailableReactions::NotModified);
    }
    // The server keeps no sticker documents for the reactions' icons and animations: each is
    // `documentEmpty` (clients draw the emoji itself; TDLib skips entries without icons).
    let none = || enums::Document::from(types::DocumentEmpty { id: 0 });
    let reactions = ALLOWED
        .iter()
        .map(|(emoji, title)| {
            types::AvailableReaction {
                inactive: false,
                premium: false,
                reaction: (*emoji).to_owned(),
                title: (*title).to_owned(),
                static_icon: none(),
                appear_animation: none(),
                select_animation: none(),
                activate_animation: none(),
                effect_animation: none(),
                around_animation: None,
                center_icon: None,
            }
            .into()
        })
        .collect();
    ok(enums::messages::AvailableReactions::AvailableReactions(
        types::messages::AvailableReactions { hash, reactions },
    ))
}

/// Sets `reactions` on the messages of `owner`'s private chats in `list` (one store call for
/// all of them), as the owner sees them.
pub(crate) async fn attach_private(
    server: &Arc<Node>,
    owner: i64,
    list: &mut [enums::Message],
) -> Result<(), RpcError> {
    attach_private_to(server, owner, list.iter_mut().collect()).await
}

/// [`attach_private`] for the messages of the edits among `updates` (`updateEditMessage`
/// carries the whole message, its reactions included).
pub(crate) async fn attach_to_edits(
    server: &Arc<Node>,
    owner: i64,
    updates: &mut [enums::Update],
) -> Result<(), RpcError> {
    let messages = updates
        .iter_mut()
        .filter_map(|u| match u {
            enums::Update::EditMessage(u) => Some(&mut u.message),
            _ => None,
        })
        .collect();
    attach_private_to(server, owner, messages).await
}

async fn attach_private_to(
    server: &Arc<Node>,
    owner: i64,
    mut list: Vec<&mut enums::Message>,
) -> Result<(), RpcError> {
    let private = |m: &enums::Message| match m {
        enums::Message::Message(m) if matches!(m.peer_id, enums::Peer::User(_)) => Some(m.id),
        _ => None,
    };
    let ids: Vec<i32> = list.iter().filter_map(|m| private(m)).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let found = server.store.run(move |s| s.reactions(owner, &ids)).await?;
    let by_id: HashMap<i32, Vec<Reaction>> =
        found.into_iter().map(|r| (r.id, r.reactions)).collect();
    for m in list.iter_mut() {
        if let Some(reactions) = private(m).and_then(|id| by_id.get(&id)) {
            if let enums::Message::Message(m) = &mut **m {
                m.reactions = Some(reactions_tl(reactions, owner, true));
            }
        }
    }
    Ok(())
}

/// Sets `reactions` on the posts of `ch` in `list` (one store call for all of them), as
/// `viewer` sees them; the users those views name (recent reactors), for the answer's users.
pub(crate) async fn attach_channel(
    server: &Arc<Node>,
    ch: &Channel,
    viewer: i64,
    list: &mut [enums::Message],
) -> Result<Vec<i64>, RpcError> {
    let ids: Vec<i32> = list
        .iter()
        .filter_map(|m| match m {
            enums::Message::Message(m) => Some(m.id),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let channel = ch.id;
    let found = server
        .store
        .run(move |s| s.channel_reactions(channel, &ids))
        .await?;
    let by_id: HashMap<i32, Vec<Reaction>> =
        found.into_iter().map(|r| (r.id, r.reactions)).collect();
    let show = lists_reactors(ch);
    let mut users = Vec::new();
    for m in list.iter_mut() {
        if let enums::Message::Message(m) = m {
            if let Some(reactions) = by_id.get(&m.id) {
                users.extend(reactor_ids(reactions, show));
                m.reactions = Some(reactions_tl(reactions, viewer, show));
            }
        }
    }
    Ok(users)
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

    fn emoji(e: &str) -> enums::Reaction {
        emoji_tl(e)
    }

    #[test]
    fn one_allowed_emoji_or_none() {
        assert_eq!(chosen(Some(vec![emoji("👍")])), Ok(Some("👍".into())));
        assert_eq!(
            chosen(Some(vec![emoji("\u{2764}\u{200d}\u{1f525}")])).map(|e| e.is_some()),
            Ok(true)
        );
        assert_eq!(chosen(None), Ok(None));
        assert_eq!(chosen(Some(Vec::new())), Ok(None));
        assert_eq!(chosen(Some(vec![enums::Reaction::Empty])), Ok(None));
        for bad in [
            vec![emoji("🦖")],
            vec![emoji("")],
            vec![emoji("👍👍")],
            vec![types::ReactionCustomEmoji { document_id: 5 }.into()],
            vec![enums::Reaction::Paid],
        ] {
            assert_eq!(
                chosen(Some(bad.clone())),
                Err(RpcError::bad_request("REACTION_INVALID")),
                "{bad:?}"
            );
        }
        assert_eq!(
            chosen(Some(vec![emoji("👍"), emoji("🔥")])),
            Err(RpcError::bad_request("REACTIONS_TOO_MANY"))
        );
    }

    #[test]
    fn the_allowed_list_has_no_repeats_and_a_stable_hash() {
        for (i, (e, title)) in ALLOWED.iter().enumerate() {
            assert!(!e.is_empty() && !title.is_empty());
            assert!(
                ALLOWED[i + 1..].iter().all(|(other, _)| other != e),
                "{e} twice"
            );
        }
        assert_ne!(available_hash(), 0);
        assert_eq!(available_hash(), available_hash());
    }

    #[test]
    fn each_viewer_sees_counts_and_its_own_choice() {
        // Newest first, as the store gives them.
        let reactions = [
            r(3, "🔥", 30),
            r(2, "👍", 20),
            r(1, "👍", 10),
            r(4, "🎉", 5),
        ];
        let enums::MessageReactions::MessageReactions(view) = reactions_tl(&reactions, 1, true);
        let counts: Vec<(enums::Reaction, i32, Option<i32>)> = view
            .results
            .iter()
            .map(|enums::ReactionCount::ReactionCount(c)| {
                (c.reaction.clone(), c.count, c.chosen_order)
            })
            .collect();
        assert_eq!(
            counts,
            vec![
                (emoji("👍"), 2, Some(0)),
                (emoji("🔥"), 1, None),
                (emoji("🎉"), 1, None),
            ],
            "most first, ties in the allowed list's order"
        );
        assert!(view.can_see_list);
        let recent: Vec<(i64, bool)> = view
            .recent_reactions
            .unwrap_or_default()
            .iter()
            .map(|enums::MessagePeerReaction::MessagePeerReaction(p)| {
                let enums::Peer::User(u) = &p.peer_id else {
                    panic!("a user reacted")
                };
                (u.user_id, p.my)
            })
            .collect();
        assert_eq!(recent, vec![(3, false), (2, false), (1, true)]);
        let enums::MessageReactions::MessageReactions(hidden) = reactions_tl(&reactions, 9, false);
        assert!(!hidden.can_see_list && hidden.recent_reactions.is_none());
        assert!(
            hidden
                .results
                .iter()
                .all(|enums::ReactionCount::ReactionCount(c)| c.chosen_order.is_none())
        );
    }
}
