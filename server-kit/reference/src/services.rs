//! The built-in services, one module each, and the conversions from stored rows to the TL
//! objects clients read.

/// Implements [`Service`] for a unit struct from a list of `Function => handler`, where each
/// handler is `async fn(&Arc<Node>, Caller, Function) -> RpcResult`.
macro_rules! service {
    ($name:ident { $($ty:ty => $handler:path),* $(,)? }) => {
        impl $crate::state::Service for $name {
            fn methods(&self) -> Vec<u32> {
                vec![$(<$ty as tl_runtime::Identifiable>::CONSTRUCTOR_ID),*]
            }

            fn policy(&self, method: u32) -> $crate::rpc::Policy {
                $crate::services::policy(method)
            }

            fn call<'a>(
                &'a self,
                server: &'a std::sync::Arc<$crate::state::Node>,
                caller: $crate::rpc::Caller,
                body: Vec<u8>,
            ) -> $crate::rpc::BoxFuture<'a, $crate::rpc::RpcResult> {
                Box::pin(async move {
                    let id = $crate::rpc::body_id(&body);
                    $(
                        if id == <$ty as tl_runtime::Identifiable>::CONSTRUCTOR_ID {
                            let call = <$ty as tl_runtime::Deserialize>::from_bytes(body)?;
                            return $handler(server, caller, call).await;
                        }
                    )*
                    Err($crate::rpc::RpcError::bad_request("INPUT_METHOD_INVALID"))
                })
            }
        }
    };
}

pub mod account;
mod assembled;
pub mod auth;
pub mod bots;
pub mod callbacks;
mod channel_access;
pub mod channels;
pub mod devices;
mod dialog_peer;
pub mod dialog_pins;
pub mod drafts;
pub mod forwards;
pub mod groups;
pub mod help;
mod markup;
pub mod messages;
pub mod password;
pub mod pins;
pub mod privacy;
pub mod profile_photos;
pub mod reactions;
pub mod scheduled;
pub mod scheduled_sending;
pub mod search;
pub mod search_global;
pub mod secret_chats;
mod service_actions;
pub mod status;
pub mod typing;
pub mod updates;
pub mod upload;
pub mod users;

use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Service;
use crate::state::{Node, unix_now};
use crate::store::channels::Channel;
use crate::store::{
    Change, Committed, Document, Forward, ForwardFrom, LoggedChange, MediaRef, Message, Photo, User,
};
use mtproto_api::{enums, types};
use std::collections::HashMap;
use std::sync::Arc;
use tl_runtime::Serialize;

/// The longest message text.
pub const MAX_MESSAGE_LENGTH: usize = 4096;

/// The users forwarded messages come from (their `fwd_from` names them).
pub(crate) fn forwarded_users(messages: &[Message]) -> Vec<i64> {
    messages
        .iter()
        .filter_map(|m| match m.forward?.from {
            crate::store::ForwardFrom::User(user) => Some(user),
            crate::store::ForwardFrom::Channel { .. } => None,
        })
        .collect()
}

/// The channels forwarded messages come from (their `fwd_from` names them).
pub(crate) fn forwarded_channels<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Vec<i64> {
    messages
        .into_iter()
        .filter_map(|m| match m.forward?.from {
            crate::store::ForwardFrom::Channel { channel, .. } => Some(channel),
            crate::store::ForwardFrom::User(_) => None,
        })
        .collect()
}

/// Every built-in service.
pub fn builtin() -> Vec<Arc<dyn Service>> {
    vec![
        Arc::new(auth::AuthService),
        Arc::new(channels::ChannelsService),
        Arc::new(account::AccountService),
        Arc::new(devices::DevicesService),
        Arc::new(bots::BotService),
        Arc::new(callbacks::CallbacksService),
        Arc::new(help::HelpService),
        Arc::new(users::UsersService),
        Arc::new(messages::MessagesService),
        Arc::new(forwards::ForwardsService),
        Arc::new(groups::GroupsService),
        Arc::new(drafts::DraftsService),
        Arc::new(dialog_pins::DialogPinsService),
        Arc::new(password::PasswordService),
        Arc::new(privacy::PrivacyService),
        Arc::new(profile_photos::ProfilePhotosService),
        Arc::new(scheduled::ScheduledService),
        Arc::new(scheduled_sending::ScheduledSendingService),
        Arc::new(search::SearchService),
        Arc::new(search_global::SearchGlobalService),
        Arc::new(secret_chats::SecretChatsService),
        Arc::new(typing::TypingService),
        Arc::new(status::StatusService),
        Arc::new(pins::PinsService),
        Arc::new(reactions::ReactionsService),
        Arc::new(updates::UpdatesService),
        Arc::new(upload::UploadService),
    ]
}

/// Calls that do not count against a user's call rate: file parts, limited by their size
/// and the connection instead.
const NOT_RATED: [u32; 3] = [
    0xb304_a621, // upload.saveFilePart
    0xde7b_673d, // upload.saveBigFilePart
    0xbe53_35be, // upload.getFile
];

/// Methods a client may call before signing in.
const WITHOUT_AUTH: [u32; 10] = [
    0xa677_244f, // auth.sendCode
    0x8d52_a951, // auth.signIn
    0xd18b_4d16, // auth.checkPassword (a sign-in that waits for the password)
    0x548a_30f5, // account.getPassword (the same: it shows the hint)
    0xaac7_b717, // auth.signUp
    0x67a3_ff2c, // auth.importBotAuthorization
    0xcdd4_2a05, // auth.bindTempAuthKey
    0xc4f9_186b, // help.getConfig
    0x1fb3_3026, // help.getNearestDc
    0xee72_f79a, // help.acceptTermsOfService
];

/// The dispatcher's [`Policy`](crate::rpc::Policy) for each built-in method: the few that
/// work before sign-in, the ones bots may not call ([`bots::USER_ONLY`]), and file parts,
/// which do not count against the call rate.
pub(crate) fn policy(method: u32) -> crate::rpc::Policy {
    let mut policy = crate::rpc::Policy::SIGNED_IN;
    if WITHOUT_AUTH.contains(&method) {
        policy = policy.without_auth();
    }
    if bots::USER_ONLY.iter().any(|(id, _)| *id == method) {
        policy = policy.users_only();
    }
    if NOT_RATED.contains(&method) {
        policy = policy.unrated();
    }
    policy
}

/// The channel an `InputChannel` names, with its access hash checked.
pub(crate) async fn resolve_channel(
    server: &Arc<Node>,
    input: &enums::InputChannel,
) -> Result<Channel, RpcError> {
    let (id, hash) = match input {
        enums::InputChannel::InputChannel(c) => (c.channel_id, Some(c.access_hash)),
        enums::InputChannel::FromMessage(c) => (c.channel_id, None),
        enums::InputChannel::Empty => return Err(RpcError::bad_request("CHANNEL_INVALID")),
    };
    let channel = server
        .store
        .run(move |s| s.channel(id))
        .await?
        .ok_or_else(|| RpcError::bad_request("CHANNEL_INVALID"))?;
    if hash.is_some_and(|h| h != channel.access_hash) {
        return Err(RpcError::bad_request("CHANNEL_INVALID"));
    }
    Ok(channel)
}

/// The channel an `inputPeerChannel` names.
pub(crate) async fn resolve_channel_peer(
    server: &Arc<Node>,
    peer: &types::InputPeerChannel,
) -> Result<Channel, RpcError> {
    resolve_channel(
        server,
        &types::InputChannel {
            channel_id: peer.channel_id,
            access_hash: peer.access_hash,
        }
        .into(),
    )
    .await
}

/// The end of every sign-in: the caller's key is bound to `user`, the login code is spent,
/// and the answer is `auth.authorization`.
pub(crate) async fn signed_in(server: &Arc<Node>, caller: Caller, user: User) -> RpcResult {
    server.bind_user(caller.key_id, Some(user.id)).await?;
    let phone = user.phone.clone();
    server
        .store
        .run(move |s| s.delete_login_code(&phone))
        .await?;
    tracing::info!(user = user.id, "signed in");
    authorization(&user)
}

/// `auth.authorization` for `user`, who has just signed in (with a code, a password or a bot
/// token).
pub(crate) fn authorization(user: &User) -> RpcResult {
    ok(enums::auth::Authorization::Authorization(
        types::auth::Authorization {
            setup_password_required: false,
            otherwise_relogin_days: None,
            tmp_sessions: None,
            future_auth_token: None,
            user: user_tl(user, user.id),
        },
    ))
}

/// Serializes an answer.
pub(crate) fn ok<T: Serialize>(value: T) -> Result<Vec<u8>, RpcError> {
    Ok(value.to_bytes())
}

/// `boolTrue`.
pub(crate) fn bool_true() -> Result<Vec<u8>, RpcError> {
    ok(true)
}

/// A user as `viewer` sees it.
pub(crate) fn user_tl(user: &User, viewer: i64) -> enums::User {
    let is_self = user.id == viewer;
    let bot = user.bot_info_version.is_some();
    types::User {
        is_self,
        bot,
        bot_info_version: user.bot_info_version,
        id: user.id,
        access_hash: Some(user.access_hash),
        first_name: Some(user.first_name.clone()),
        last_name: (!user.last_name.is_empty()).then(|| user.last_name.clone()),
        username: user.username.clone(),
        // A bot's phone is a placeholder (store::bots), and a bot shows no status.
        phone: (is_self && !bot).then(|| user.phone.clone()),
        status: (!bot).then(|| status::at_rest(user)),
        photo: user.photo.map(|photo_id| {
            types::UserProfilePhoto {
                has_video: false,
                personal: false,
                photo_id,
                stripped_thumb: None,
                dc_id: 2,
            }
            .into()
        }),
        ..Default::default()
    }
    .into()
}

fn peer_user(id: i64) -> enums::Peer {
    types::PeerUser { user_id: id }.into()
}

/// The `Peer` of a box peer: a user, or a basic group ([`chat_peer`](crate::store::chats::chat_peer)).
pub(crate) fn box_peer_tl(peer: i64) -> enums::Peer {
    match crate::store::chats::peer_chat(peer) {
        Some(chat_id) => types::PeerChat { chat_id }.into(),
        None => peer_user(peer),
    }
}

/// The reply header of a message that replies to `reply_to` of the same chat.
pub(crate) fn reply_header_tl(reply_to: Option<i32>) -> Option<enums::MessageReplyHeader> {
    reply_to.map(|id| {
        types::MessageReplyHeader {
            reply_to_msg_id: Some(id),
            ..Default::default()
        }
        .into()
    })
}

/// The forward header of a forwarded message.
pub(crate) fn forward_header_tl(forward: Option<Forward>) -> Option<enums::MessageFwdHeader> {
    let forward = forward?;
    let (from_id, channel_post) = match forward.from {
        ForwardFrom::User(user_id) => (peer_user(user_id), None),
        ForwardFrom::Channel { channel, post } => (
            types::PeerChannel {
                channel_id: channel,
            }
            .into(),
            Some(post),
        ),
    };
    Some(
        types::MessageFwdHeader {
            from_id: Some(from_id),
            date: forward.date,
            channel_post,
            ..Default::default()
        }
        .into(),
    )
}

/// The id a send replies to (`inputReplyToMessage` of the same chat; other forms and other
/// chats' messages are not replies the server keeps).
pub(crate) fn replied_id(reply_to: &Option<enums::InputReplyTo>) -> Option<i32> {
    match reply_to {
        Some(enums::InputReplyTo::Message(m)) if m.reply_to_peer_id.is_none() => {
            Some(m.reply_to_msg_id)
        }
        _ => None,
    }
}

/// The documents and photos attached to some messages, by id.
#[derive(Debug, Default)]
pub(crate) struct MediaMap {
    documents: HashMap<i64, Document>,
    photos: HashMap<i64, Photo>,
}

/// Loads what `refs` name.
pub(crate) async fn media_of_refs(
    server: &Arc<Node>,
    refs: impl IntoIterator<Item = MediaRef>,
) -> Result<MediaMap, RpcError> {
    let refs: Vec<MediaRef> = refs.into_iter().collect();
    if refs.is_empty() {
        return Ok(MediaMap::default());
    }
    Ok(server
        .store
        .run(move |s| {
            let mut out = MediaMap::default();
            for r in refs {
                match r {
                    MediaRef::Document(id) => {
                        if let Some(d) = s.document(id)? {
                            out.documents.insert(id, d);
                        }
                    }
                    MediaRef::Photo(id) => {
                        if let Some(p) = s.photo(id)? {
                            out.photos.insert(id, p);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await?)
}

/// Loads the media attached to `messages`.
pub(crate) async fn media_of<'a>(
    server: &Arc<Node>,
    messages: impl IntoIterator<Item = &'a Message>,
) -> Result<MediaMap, RpcError> {
    let refs: Vec<MediaRef> = messages.into_iter().filter_map(|m| m.media).collect();
    media_of_refs(server, refs).await
}

/// A photo as TL.
pub(crate) fn photo_tl(p: &Photo, dc_id: i32) -> enums::Photo {
    types::Photo {
        has_stickers: false,
        id: p.id,
        access_hash: p.access_hash,
        file_reference: p.file_reference.clone().into(),
        date: p.date,
        sizes: p
            .sizes
            .iter()
            .map(|s| {
                types::PhotoSize {
                    r#type: s.kind.clone(),
                    w: s.w,
                    h: s.h,
                    size: s.size,
                }
                .into()
            })
            .collect(),
        video_sizes: None,
        dc_id,
    }
    .into()
}

/// A document as TL.
pub(crate) fn document_tl(d: &Document, dc_id: i32) -> enums::Document {
    types::Document {
        id: d.id,
        access_hash: d.access_hash,
        file_reference: d.file_reference.clone().into(),
        date: d.date,
        mime_type: d.mime_type.clone(),
        size: d.size,
        thumbs: None,
        video_thumbs: None,
        dc_id,
        attributes: vec![
            types::DocumentAttributeFilename {
                file_name: d.file_name.clone(),
            }
            .into(),
        ],
    }
    .into()
}

/// The `MessageMedia` of an attachment.
pub(crate) fn media_tl(media: Option<MediaRef>, map: &MediaMap) -> Option<enums::MessageMedia> {
    match media? {
        MediaRef::Document(id) => {
            let document = map.documents.get(&id).map(|d| document_tl(d, 2));
            Some(
                types::MessageMediaDocument {
                    document: Some(document.unwrap_or_else(|| types::DocumentEmpty { id }.into())),
                    ..Default::default()
                }
                .into(),
            )
        }
        MediaRef::Photo(id) => {
            let photo = map.photos.get(&id).map(|p| photo_tl(p, 2));
            Some(
                types::MessageMediaPhoto {
                    photo: Some(photo.unwrap_or_else(|| types::PhotoEmpty { id }.into())),
                    ..Default::default()
                }
                .into(),
            )
        }
    }
}

/// A stored message as TL (`media` holds the documents it may carry).
pub(crate) fn message_tl(m: &Message, media: &MediaMap) -> enums::Message {
    if let Some(action) = &m.action {
        return types::MessageService {
            out: m.out,
            mentioned: false,
            media_unread: false,
            reactions_are_possible: false,
            silent: false,
            post: false,
            legacy: false,
            id: m.id,
            from_id: Some(peer_user(m.from_id)),
            peer_id: box_peer_tl(m.peer),
            saved_peer_id: None,
            reply_to: reply_header_tl(m.reply_to),
            date: m.date,
            action: service_actions::action_tl(action),
            reactions: None,
            ttl_period: None,
        }
        .into();
    }
    types::Message {
        out: m.out,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: false,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: m.pinned,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id: m.id,
        from_id: Some(peer_user(m.from_id)),
        from_boosts_applied: None,
        from_rank: None,
        peer_id: box_peer_tl(m.peer),
        saved_peer_id: None,
        fwd_from: forward_header_tl(m.forward),
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: reply_header_tl(m.reply_to),
        date: m.date,
        message: m.text.clone(),
        media: media_tl(m.media, media),
        reply_markup: markup::markup_tl(m.reply_markup.as_deref()),
        entities: markup::entities_tl(m.entities.as_deref()),
        views: None,
        forwards: None,
        replies: None,
        edit_date: m.edit_date,
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    }
    .into()
}

/// The message ids a `getMessages` asks for, in its order: a plain id as it is,
/// `inputMessageReplyTo` as the id the message it names replies to (`replied` maps a
/// message id to that, for the ids [`reply_lookups`] listed); other forms (`inputMessagePinned`,
/// ...) ask for id 0, which no message has.
pub(crate) fn requested_ids(
    wanted: &[enums::InputMessage],
    replied: &HashMap<i32, i32>,
) -> Vec<i32> {
    wanted
        .iter()
        .map(|m| match m {
            enums::InputMessage::ID(m) => m.id,
            enums::InputMessage::ReplyTo(m) => replied.get(&m.id).copied().unwrap_or(0),
            _ => 0,
        })
        .collect()
}

/// The messages whose reply a `getMessages` asks for (`inputMessageReplyTo`): look them up,
/// then give [`requested_ids`] what each replies to.
pub(crate) fn reply_lookups(wanted: &[enums::InputMessage]) -> Vec<i32> {
    wanted
        .iter()
        .filter_map(|m| match m {
            enums::InputMessage::ReplyTo(m) => Some(m.id),
            _ => None,
        })
        .collect()
}

/// The answer list of a `getMessages`: each requested id in request order, the message found
/// or `messageEmpty` in its place, as clients expect (they zip their ids with the answer).
pub(crate) fn in_request_order(
    requested: &[i32],
    found: Vec<enums::Message>,
) -> Vec<enums::Message> {
    let by_id: HashMap<i32, enums::Message> = found
        .into_iter()
        .map(|m| {
            let id = match &m {
                enums::Message::Message(m) => m.id,
                enums::Message::Service(m) => m.id,
                enums::Message::Empty(m) => m.id,
            };
            (id, m)
        })
        .collect();
    requested
        .iter()
        .map(|id| {
            by_id
                .get(id)
                .cloned()
                .unwrap_or(enums::Message::Empty(types::MessageEmpty {
                    id: *id,
                    peer_id: None,
                }))
        })
        .collect()
}

pub(crate) async fn users_tl(
    server: &Arc<Node>,
    viewer: i64,
    ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<enums::User>, RpcError> {
    // Box peers of chats are negative: no user has them.
    let mut ids: Vec<i64> = ids.into_iter().filter(|id| *id > 0).collect();
    ids.sort();
    ids.dedup();
    let users = server.store.run(move |s| s.users(&ids)).await?;
    Ok(users_seen(server, viewer, &users).await)
}

/// Users as `viewer` sees them, online status included (a person with a live connection to
/// any node is online; see [`status`]).
pub(crate) async fn users_seen(
    server: &Arc<Node>,
    viewer: i64,
    users: &[User],
) -> Vec<enums::User> {
    let people = users
        .iter()
        .filter(|u| u.bot_info_version.is_none())
        .map(|u| u.id)
        .collect();
    let online = server.online_anywhere(people).await;
    // Users who hide their status from the viewer show "recently" (a failed lookup hides).
    let hidden = match privacy::hidden_from(server, viewer, users).await {
        Ok(hidden) => hidden,
        Err(_) => users
            .iter()
            .map(|u| u.id)
            .filter(|id| *id != viewer)
            .collect(),
    };
    let now = unix_now();
    users
        .iter()
        .map(|u| {
            let mut user = user_tl(u, viewer);
            if let enums::User::User(user) = &mut user {
                if hidden.contains(&u.id) {
                    if user.status.is_some() {
                        user.status = Some(types::UserStatusRecently::default().into());
                    }
                } else if online.contains(&u.id) {
                    user.status = Some(status::online(now));
                }
            }
            user
        })
        .collect()
}

/// Pushes one update that belongs to no pts box (typing, status) to `user`'s sessions on
/// this node, as `updateShort`.
pub(crate) fn push_short(server: &Node, user: i64, update: enums::Update) {
    let body = enums::Updates::from(types::UpdateShort {
        update,
        date: unix_now(),
    })
    .to_bytes();
    server.push_to_user(user, &body, None);
}

/// The `Update` for one log entry (`message` is the message it names, if any).
pub(crate) fn update_tl(
    entry: &LoggedChange,
    message: Option<&Message>,
    media: &MediaMap,
) -> Option<enums::Update> {
    let (pts, pts_count) = (entry.pts, entry.pts_count);
    Some(match &entry.change {
        Change::NewMessage { .. } => types::UpdateNewMessage {
            message: message_tl(message?, media),
            pts,
            pts_count,
        }
        .into(),
        Change::EditMessage { .. } => types::UpdateEditMessage {
            message: message_tl(message?, media),
            pts,
            pts_count,
        }
        .into(),
        Change::DeleteMessages { ids } => types::UpdateDeleteMessages {
            messages: ids.clone(),
            pts,
            pts_count,
        }
        .into(),
        Change::ReadInbox { peer, max_id } => types::UpdateReadHistoryInbox {
            folder_id: None,
            peer: box_peer_tl(*peer),
            top_msg_id: None,
            max_id: *max_id,
            still_unread_count: 0,
            pts,
            pts_count,
        }
        .into(),
        Change::ReadOutbox { peer, max_id } => types::UpdateReadHistoryOutbox {
            peer: box_peer_tl(*peer),
            max_id: *max_id,
            pts,
            pts_count,
        }
        .into(),
        Change::Pin { peer, ids, pinned } => types::UpdatePinnedMessages {
            pinned: *pinned,
            peer: box_peer_tl(*peer),
            messages: ids.clone(),
            pts,
            pts_count,
        }
        .into(),
        // Not a pts update: pushed as it happens (`callbacks::query_update`), and a client
        // catching up skips it (its pts moves on), as Telegram's do not get stale queries.
        Change::BotCallbackQuery { .. } => return None,
    })
}

/// The users an entry's update mentions.
fn users_of(c: &Committed) -> Vec<i64> {
    let mut ids = vec![c.user_id];
    if let Some(m) = &c.message {
        ids.push(m.from_id);
        ids.push(m.peer);
        if let Some(ForwardFrom::User(origin)) = m.forward.map(|f| f.from) {
            ids.push(origin);
        }
        ids.extend(groups::action_users(m.action.as_ref()));
    }
    match &c.entry.change {
        Change::ReadInbox { peer, .. }
        | Change::ReadOutbox { peer, .. }
        | Change::Pin { peer, .. } => ids.push(*peer),
        _ => {}
    }
    ids
}

/// An `updates` object carrying `updates` with the users they mention.
pub(crate) async fn updates_tl(
    server: &Arc<Node>,
    viewer: i64,
    updates: Vec<enums::Update>,
    user_ids: Vec<i64>,
) -> Result<enums::Updates, RpcError> {
    Ok(types::Updates {
        updates,
        users: users_tl(server, viewer, user_ids).await?,
        chats: Vec::new(),
        date: unix_now(),
        seq: 0,
    }
    .into())
}

/// Pushes committed changes to their users' sessions (after the commit), leaving out the
/// caller's own session, which gets them in its answer.
/// Other nodes hear of each change through the bus.
pub(crate) async fn push_committed(server: &Arc<Node>, caller: &Caller, committed: &[Committed]) {
    for c in committed {
        server.bus.publish(crate::bus::ChangeNotice::User {
            user: c.user_id,
            pts: c.entry.pts,
            pts_count: c.entry.pts_count,
        });
        let Some(body) = committed_body(server, c).await else {
            continue;
        };
        server.push_to_user(c.user_id, &body, Some((caller.key_id, caller.session_id)));
    }
    crate::push_jobs::notify_offline(server, committed);
}

/// The `Updates` pushed for one committed change.
async fn committed_body(server: &Arc<Node>, c: &Committed) -> Option<Vec<u8>> {
    if let Change::BotCallbackQuery { .. } = c.entry.change {
        return Some(callbacks::query_updates(server, c).await?.to_bytes());
    }
    let media = media_of(server, c.message.as_ref()).await.ok()?;
    let mut update = vec![update_tl(&c.entry, c.message.as_ref(), &media)?];
    reactions::attach_to_edits(server, c.user_id, &mut update)
        .await
        .ok()?;
    let mut updates = updates_tl(server, c.user_id, update, users_of(c))
        .await
        .ok()?;
    // The channels a message names (a forward's origin, a migrated chat's megagroup) go with
    // it; so does the chat of a chat message.
    if let enums::Updates::Updates(u) = &mut updates {
        let named = groups::channels_of(c.message.as_ref());
        if !named.is_empty() {
            u.chats = channels::chats_tl(server, c.user_id, named).await.ok()?;
        }
        let mut chats: Vec<i64> = groups::chats_of(c.message.as_ref());
        if let Change::ReadInbox { peer, .. }
        | Change::ReadOutbox { peer, .. }
        | Change::Pin { peer, .. } = &c.entry.change
        {
            chats.extend(crate::store::chats::peer_chat(*peer));
        }
        if !chats.is_empty() {
            u.chats
                .extend(groups::chats_tl(server, c.user_id, chats).await.ok()?);
        }
    }
    Some(updates.to_bytes())
}

/// What another node said on the bus: its change, read from the store, goes to the sessions
/// connected here. Register it with
/// [`NodeBuilder::remote_changes`](crate::state::NodeBuilder::remote_changes).
#[derive(Debug, Clone, Copy, Default)]
pub struct RemotePushes;

impl crate::state::RemoteChanges for RemotePushes {
    fn changed<'a>(
        &'a self,
        server: &'a Arc<Node>,
        change: crate::bus::ChangeNotice,
    ) -> crate::rpc::BoxFuture<'a, ()> {
        use crate::bus::ChangeNotice;
        Box::pin(async move {
            match change {
                ChangeNotice::User {
                    user,
                    pts,
                    pts_count,
                } => push_remote_user(server, user, pts, pts_count).await,
                ChangeNotice::Channel {
                    channel,
                    pts,
                    pts_count,
                } => channels::push_remote(server, channel, pts, pts_count).await,
                ChangeNotice::Typing {
                    to,
                    from,
                    action,
                    progress,
                } => {
                    if let Some(action) = typing::action_from_code(action, progress) {
                        typing::show(server, to, from, &action).await;
                    }
                }
                ChangeNotice::Reactions { to, msg_id } => {
                    reactions::push_remote(server, to, msg_id).await
                }
                ChangeNotice::Encrypted { key, qts } => {
                    secret_chats::push_remote(server, key, qts).await
                }
                ChangeNotice::SecretChat {
                    user,
                    key,
                    chat,
                    event,
                } => {
                    let key = (key != 0).then_some(key);
                    secret_chats::show(server, user, key, chat, event, None).await
                }
                // The node reloads changed keys itself.
                ChangeNotice::Key { .. } => {}
            }
        })
    }
}

/// A change to a user's box committed by another node: pushed to the user's sessions here
/// (all of them: the caller's session is on the other node). Nothing happens if none is
/// connected, or if the box has moved past `pts` meanwhile (its own notice follows).
async fn push_remote_user(server: &Arc<Node>, user: i64, pts: i32, pts_count: i32) {
    if !server.is_online(user) {
        return;
    }
    let from = pts - pts_count;
    let (changes, messages) = match server
        .store
        .run(move |s| s.changes_since(user, from, 1))
        .await
    {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("bus: changes of user {user}: {e}");
            return;
        }
    };
    let Some(entry) = changes.into_iter().next().filter(|c| c.pts == pts) else {
        return;
    };
    let message = match entry.change {
        crate::store::Change::NewMessage { id } | crate::store::Change::EditMessage { id } => {
            messages.into_iter().find(|m| m.id == id)
        }
        _ => None,
    };
    let committed = Committed {
        user_id: user,
        entry,
        message,
    };
    if let Some(body) = committed_body(server, &committed).await {
        server.push_to_user(user, &body, None);
    }
}

/// The user an `InputPeer` names, with its access hash checked.
pub(crate) async fn resolve_peer(
    server: &Arc<Node>,
    viewer: i64,
    peer: &enums::InputPeer,
) -> Result<User, RpcError> {
    let (id, hash) = match peer {
        enums::InputPeer::InputPeerSelf => (viewer, None),
        enums::InputPeer::User(p) => (p.user_id, Some(p.access_hash)),
        enums::InputPeer::UserFromMessage(p) => (p.user_id, None),
        _ => return Err(RpcError::bad_request("PEER_ID_INVALID")),
    };
    resolve_user_id(server, viewer, id, hash).await
}

/// The user an `InputUser` names, with its access hash checked.
pub(crate) async fn resolve_input_user(
    server: &Arc<Node>,
    viewer: i64,
    user: &enums::InputUser,
) -> Result<User, RpcError> {
    let (id, hash) = match user {
        enums::InputUser::InputUserSelf => (viewer, None),
        enums::InputUser::InputUser(u) => (u.user_id, Some(u.access_hash)),
        enums::InputUser::FromMessage(u) => (u.user_id, None),
        enums::InputUser::Empty => return Err(RpcError::bad_request("USER_ID_INVALID")),
    };
    resolve_user_id(server, viewer, id, hash).await
}

async fn resolve_user_id(
    server: &Arc<Node>,
    viewer: i64,
    id: i64,
    hash: Option<i64>,
) -> Result<User, RpcError> {
    let user = server
        .store
        .run(move |s| s.user(id))
        .await?
        .ok_or_else(|| RpcError::bad_request("PEER_ID_INVALID"))?;
    if let Some(hash) = hash {
        if hash != user.access_hash && user.id != viewer {
            return Err(RpcError::bad_request("PEER_ID_INVALID"));
        }
    }
    Ok(user)
}

/// Keeps the digits of a phone number (`+1 (555) 010-99` → `155501099`).
pub fn normalize_phone(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}
