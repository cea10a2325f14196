//! Channels and megagroups: creation, joining and leaving, members and admins, usernames,
//! posts (stored once, pushed to the online members), history, reading, deleting, and
//! `updates.getChannelDifference` from the channel's own pts box.

use super::channel_access::{all_rights, membership};
pub(crate) use super::channel_access::{channel_tl, readable};
use super::{MediaMap, ok, resolve_channel, resolve_channel_peer, resolve_input_user, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_i64, unix_now};
use crate::store::channels::{
    Channel, ChannelChange, ChannelLogged, ChannelMessage, Member, Posted, Role,
};
use crate::store::devices::NotifyScope;
use crate::store::{Extras, HistoryQuery, MediaRef, StoreError};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Serialize;

/// Posts per `updates.getChannelDifference` answer at most.
pub const CHANNEL_DIFFERENCE_LIMIT: i32 = 100;

/// The channels service.
#[derive(Debug, Clone, Copy)]
pub struct ChannelsService;

service!(ChannelsService {
    functions::channels::CreateChannel => create_channel,
    functions::channels::JoinChannel => join_channel,
    functions::channels::LeaveChannel => leave_channel,
    functions::channels::InviteToChannel => invite_to_channel,
    functions::channels::GetChannels => get_channels,
    functions::channels::GetFullChannel => get_full_channel,
    functions::channels::GetParticipants => get_participants,
    functions::channels::EditAdmin => edit_admin,
    functions::channels::UpdateUsername => update_username,
    functions::channels::ReadHistory => read_history,
    functions::channels::GetMessages => get_messages,
    functions::channels::DeleteMessages => delete_messages,
    functions::updates::GetChannelDifference => get_channel_difference,
});

fn peer_channel(id: i64) -> enums::Peer {
    types::PeerChannel { channel_id: id }.into()
}

/// A post as TL.
pub(crate) fn post_tl(
    m: &ChannelMessage,
    ch: &Channel,
    viewer: i64,
    media: &MediaMap,
) -> enums::Message {
    let from_id = (!ch.broadcast).then(|| types::PeerUser { user_id: m.from_id }.into());
    if let Some(action) = &m.action {
        return types::MessageService {
            out: m.from_id == viewer,
            mentioned: false,
            media_unread: false,
            reactions_are_possible: false,
            silent: false,
            post: ch.broadcast,
            legacy: false,
            id: m.id,
            from_id,
            peer_id: peer_channel(ch.id),
            saved_peer_id: None,
            reply_to: super::reply_header_tl(m.reply_to),
            date: m.date,
            action: super::service_actions::action_tl(action),
            reactions: None,
            ttl_period: None,
        }
        .into();
    }
    let mut msg = types::Message::new(m.id, peer_channel(ch.id), m.date, m.text.clone());
    msg.out = m.from_id == viewer;
    msg.pinned = m.pinned;
    msg.post = ch.broadcast;
    msg.from_id = from_id;
    msg.edit_date = m.edit_date;
    msg.media = super::media_tl(m.media, media);
    msg.reply_to = super::reply_header_tl(m.reply_to);
    msg.fwd_from = super::forward_header_tl(m.forward);
    msg.into()
}

fn entry_update(entry: &ChannelLogged, post: Option<enums::Message>) -> Option<enums::Update> {
    Some(match &entry.change {
        ChannelChange::NewMessage { .. } => types::UpdateNewChannelMessage {
            message: post?,
            pts: entry.pts,
            pts_count: entry.pts_count,
        }
        .into(),
        ChannelChange::DeleteMessages { ids } => types::UpdateDeleteChannelMessages {
            channel_id: entry.channel,
            messages: ids.clone(),
            pts: entry.pts,
            pts_count: entry.pts_count,
        }
        .into(),
        ChannelChange::Pin { ids, pinned } => types::UpdatePinnedChannelMessages {
            pinned: *pinned,
            channel_id: entry.channel,
            messages: ids.clone(),
            pts: entry.pts,
            pts_count: entry.pts_count,
        }
        .into(),
    })
}

fn updates(
    updates: Vec<enums::Update>,
    chats: Vec<enums::Chat>,
    users: Vec<enums::User>,
) -> enums::Updates {
    types::Updates {
        updates,
        users,
        chats,
        date: unix_now(),
        seq: 0,
    }
    .into()
}

/// Sends an update to every online member except the caller's own session.
async fn fan_out(
    server: &Arc<Node>,
    caller: &Caller,
    ch: &Channel,
    build: impl Fn(i64) -> Vec<u8>,
) {
    let id = ch.id;
    let Ok(members) = server.store.run(move |s| s.member_ids(id)).await else {
        return;
    };
    for user in members {
        if server.is_online(user) {
            let body = build(user);
            server.push_to_user(user, &body, Some((caller.key_id, caller.session_id)));
        }
    }
}

async fn channel_updates_for(
    server: &Arc<Node>,
    ch: &Channel,
    user: i64,
) -> Result<enums::Updates, RpcError> {
    let member = membership(server, ch.id, user).await?;
    Ok(updates(
        vec![types::UpdateChannel { channel_id: ch.id }.into()],
        vec![channel_tl(ch, member.as_ref())],
        Vec::new(),
    ))
}

async fn reload(server: &Arc<Node>, id: i64) -> Result<Channel, RpcError> {
    server
        .store
        .run(move |s| s.channel(id))
        .await?
        .ok_or_else(|| RpcError::bad_request("CHANNEL_INVALID"))
}

async fn create_channel(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::CreateChannel,
) -> RpcResult {
    let me = caller.user()?;
    let title = call.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 128 {
        return Err(RpcError::bad_request("CHAT_TITLE_EMPTY"));
    }
    if call.about.chars().count() > 255 {
        return Err(RpcError::bad_request("CHAT_ABOUT_TOO_LONG"));
    }
    let (broadcast, megagroup) = (call.broadcast || !call.megagroup, call.megagroup);
    let about = call.about;
    let ch = server
        .store
        .run(move |s| {
            s.create_channel(
                me,
                &title,
                &about,
                broadcast,
                megagroup,
                random_i64(),
                unix_now(),
            )
        })
        .await?;
    ok(channel_updates_for(server, &ch, me).await?)
}

async fn join_channel(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::JoinChannel,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    if ch.username.is_none() {
        return Err(RpcError::bad_request("CHANNEL_PRIVATE"));
    }
    let id = ch.id;
    let added = server
        .store
        .run(move |s| {
            if s.member(id, me)?.is_some() {
                return Ok(false);
            }
            s.add_member(id, me, Role::Member, me, unix_now())
        })
        .await?;
    if !added {
        return Err(RpcError::bad_request("USER_ALREADY_PARTICIPANT"));
    }
    let ch = reload(server, id).await?;
    ok(enums::messages::ChatInviteJoinResult::Ok(
        types::messages::ChatInviteJoinResultOk {
            updates: channel_updates_for(server, &ch, me).await?,
        },
    ))
}

async fn leave_channel(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::LeaveChannel,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    let id = ch.id;
    if !server.store.run(move |s| s.remove_member(id, me)).await? {
        return Err(RpcError::bad_request("USER_NOT_PARTICIPANT"));
    }
    let ch = reload(server, id).await?;
    ok(channel_updates_for(server, &ch, me).await?)
}

async fn require_admin(server: &Arc<Node>, ch: &Channel, user: i64) -> Result<Member, RpcError> {
    match membership(server, ch.id, user).await? {
        Some(m) if m.role >= Role::Admin => Ok(m),
        _ => Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED")),
    }
}

async fn invite_to_channel(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::InviteToChannel,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    if ch.broadcast {
        require_admin(server, &ch, me).await?;
    } else if membership(server, ch.id, me).await?.is_none() {
        return Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"));
    }
    for input in &call.users {
        let user = resolve_input_user(server, me, input).await?;
        let id = ch.id;
        server
            .store
            .run(move |s| {
                if s.member(id, user.id)?.is_none() {
                    s.add_member(id, user.id, Role::Member, me, unix_now())?;
                }
                Ok(())
            })
            .await?;
    }
    let ch = reload(server, ch.id).await?;
    ok(types::messages::InvitedUsers {
        updates: channel_updates_for(server, &ch, me).await?,
        missing_invitees: Vec::new(),
    })
}

async fn get_channels(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::GetChannels,
) -> RpcResult {
    let me = caller.user()?;
    let mut chats = Vec::new();
    for input in &call.id {
        if let Ok(ch) = resolve_channel(server, input).await {
            let member = membership(server, ch.id, me).await?;
            chats.push(channel_tl(&ch, member.as_ref()));
        }
    }
    ok(types::messages::Chats { chats })
}

async fn get_full_channel(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::GetFullChannel,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    let member = readable(server, &ch, me).await?;
    let read = member.as_ref().map_or(0, |m| m.read_max_id);
    let id = ch.id;
    let (_, total) = server
        .store
        .run(move |s| {
            s.channel_history(
                id,
                HistoryQuery {
                    limit: 1,
                    ..Default::default()
                },
            )
        })
        .await?;
    let top = server
        .store
        .run(move |s| {
            s.channel_history(
                id,
                HistoryQuery {
                    limit: 1,
                    ..Default::default()
                },
            )
        })
        .await?
        .0;
    let unread = top.first().map_or(0, |m| (m.id - read).clamp(0, total));
    let mut full = types::ChannelFull::new(
        ch.id,
        ch.about.clone(),
        read,
        top.first().map_or(0, |m| m.id),
        unread,
        types::PhotoEmpty { id: 0 }.into(),
        super::devices::stored_settings_tl(server, me, NotifyScope::Channel(ch.id)).await?,
        Vec::new(),
        ch.pts,
    );
    full.participants_count = Some(ch.members);
    full.pinned_msg_id = server
        .store
        .run(move |s| s.channel_pinned(id))
        .await?
        .first()
        .copied();
    full.can_view_participants = true;
    full.can_set_username = member.as_ref().is_some_and(|m| m.role >= Role::Admin);
    ok(types::messages::ChatFull {
        full_chat: full.into(),
        chats: vec![channel_tl(&ch, member.as_ref())],
        users: Vec::new(),
    })
}

async fn get_participants(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::GetParticipants,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    readable(server, &ch, me).await?;
    let (id, offset, limit) = (ch.id, call.offset, call.limit);
    let (members, count) = server
        .store
        .run(move |s| s.members(id, offset, limit))
        .await?;
    let admins_only = matches!(
        call.filter,
        enums::ChannelParticipantsFilter::ChannelParticipantsAdmins
    );
    let participants: Vec<enums::ChannelParticipant> = members
        .iter()
        .filter(|m| !admins_only || m.role >= Role::Admin)
        .map(|m| match m.role {
            Role::Creator => types::ChannelParticipantCreator::new(m.user_id, all_rights()).into(),
            Role::Admin => {
                types::ChannelParticipantAdmin::new(m.user_id, m.inviter, m.date, all_rights())
                    .into()
            }
            Role::Member => types::ChannelParticipant {
                user_id: m.user_id,
                date: m.date,
                subscription_until_date: None,
                rank: None,
            }
            .into(),
        })
        .collect();
    let users = users_tl(server, me, members.iter().map(|m| m.user_id)).await?;
    ok(types::channels::ChannelParticipants {
        count: if admins_only {
            participants.len() as i32
        } else {
            count
        },
        participants,
        chats: Vec::new(),
        users,
    })
}

async fn edit_admin(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::EditAdmin,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    if membership(server, ch.id, me).await?.map(|m| m.role) != Some(Role::Creator) {
        return Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"));
    }
    let user = resolve_input_user(server, me, &call.user_id).await?;
    if user.id == me {
        return Err(RpcError::bad_request("USER_CREATOR"));
    }
    let enums::ChatAdminRights::ChatAdminRights(rights) = &call.admin_rights;
    let promote = rights.post_messages
        || rights.change_info
        || rights.edit_messages
        || rights.delete_messages
        || rights.invite_users;
    let role = if promote { Role::Admin } else { Role::Member };
    let id = ch.id;
    server
        .store
        .run(move |s| s.add_member(id, user.id, role, me, unix_now()))
        .await?;
    let ch = reload(server, id).await?;
    ok(channel_updates_for(server, &ch, me).await?)
}

async fn update_username(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::UpdateUsername,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    require_admin(server, &ch, me).await?;
    let name = call.username.trim_start_matches('@').to_owned();
    if !name.is_empty() && !super::account::valid_username(&name) {
        return Err(RpcError::bad_request("USERNAME_INVALID"));
    }
    let id = ch.id;
    server
        .store
        .run(move |s| {
            if !name.is_empty() && s.user_by_username(&name)?.is_some() {
                return Err(StoreError::Taken { what: "username" });
            }
            s.set_channel_username(id, (!name.is_empty()).then_some(name.as_str()))
        })
        .await
        .map_err(|e| match e {
            StoreError::Taken { .. } => RpcError::bad_request("USERNAME_OCCUPIED"),
            other => other.into(),
        })?;
    ok(true)
}

async fn read_history(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::ReadHistory,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    let (id, max_id) = (ch.id, call.max_id);
    server
        .store
        .run(move |s| s.read_channel(id, me, max_id))
        .await?;
    ok(true)
}

/// `messages.channelMessages` for some posts.
pub(crate) async fn channel_messages_answer(
    server: &Arc<Node>,
    me: i64,
    ch: &Channel,
    member: Option<&Member>,
    posts: Vec<ChannelMessage>,
    count: i32,
    requested: Option<&[i32]>,
) -> RpcResult {
    let media = media_of_posts(server, &posts).await?;
    let mut list: Vec<enums::Message> = posts.iter().map(|p| post_tl(p, ch, me, &media)).collect();
    let reactors = super::reactions::attach_channel(server, ch, me, &mut list).await?;
    let senders = posts.iter().map(|p| p.from_id).chain([me]);
    let users = users_tl(server, me, senders.chain(reactors)).await?;
    ok(types::messages::ChannelMessages {
        inexact: false,
        pts: ch.pts,
        count,
        offset_id_offset: None,
        messages: match requested {
            Some(requested) => super::in_request_order(requested, list),
            None => list,
        },
        topics: Vec::new(),
        chats: vec![channel_tl(ch, member)],
        users,
    })
}

async fn media_of_posts(
    server: &Arc<Node>,
    posts: &[ChannelMessage],
) -> Result<MediaMap, RpcError> {
    let refs: Vec<MediaRef> = posts.iter().filter_map(|p| p.media).collect();
    super::media_of_refs(server, refs).await
}

/// `messages.getHistory` on a channel.
pub(crate) async fn history(
    server: &Arc<Node>,
    caller: Caller,
    peer: &types::InputPeerChannel,
    query: HistoryQuery,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel_peer(server, peer).await?;
    let member = readable(server, &ch, me).await?;
    let id = ch.id;
    let (posts, count) = server
        .store
        .run(move |s| s.channel_history(id, query))
        .await?;
    channel_messages_answer(server, me, &ch, member.as_ref(), posts, count, None).await
}

async fn get_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::GetMessages,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    let member = readable(server, &ch, me).await?;
    let lookups = super::reply_lookups(&call.id);
    let channel = ch.id;
    let replied: std::collections::HashMap<i32, i32> = if lookups.is_empty() {
        Default::default()
    } else {
        let found = server
            .store
            .run(move |s| s.channel_messages(channel, &lookups))
            .await?;
        found
            .into_iter()
            .filter_map(|m| Some((m.id, m.reply_to?)))
            .collect()
    };
    let requested = super::requested_ids(&call.id, &replied);
    let (id, ids) = (ch.id, requested.clone());
    let posts = server
        .store
        .run(move |s| s.channel_messages(id, &ids))
        .await?;
    let count = requested.len() as i32;
    channel_messages_answer(
        server,
        me,
        &ch,
        member.as_ref(),
        posts,
        count,
        Some(&requested),
    )
    .await
}

/// One post of a [`post`] call.
#[derive(Debug, Clone)]
pub(crate) struct NewPost {
    /// Its text.
    pub text: String,
    /// The client's random_id.
    pub random_id: i64,
    /// Media, reply, forward origin.
    pub extras: Extras,
}

/// Posts to a channel (`messages.sendMessage` / `sendMedia` on an `inputPeerChannel`, or the
/// posts of a `forwardMessages`), in order: only admins in broadcast channels, members in
/// megagroups.
pub(crate) async fn post(
    server: &Arc<Node>,
    caller: Caller,
    peer: &types::InputPeerChannel,
    posts: Vec<NewPost>,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel_peer(server, peer).await?;
    let member = membership(server, ch.id, me).await?;
    match &member {
        None => return Err(RpcError::bad_request("CHANNEL_PRIVATE")),
        Some(m) if ch.broadcast && m.role < Role::Admin => {
            return Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"));
        }
        Some(_) => {}
    }
    let id = ch.id;
    let mut all = Vec::with_capacity(posts.len());
    for post in posts {
        let random_id = post.random_id;
        let posted = server
            .store
            .run(move |s| s.post(id, me, &post.text, random_id, unix_now(), post.extras))
            .await?;
        all.push((random_id, posted));
    }
    let ch = reload(server, id).await?;
    let messages: Vec<ChannelMessage> = all.iter().map(|(_, p)| p.message.clone()).collect();
    let media_map = media_of_posts(server, &messages).await?;
    let mut user_ids = vec![me];
    let mut chats = vec![channel_tl(&ch, member.as_ref())];
    for m in &messages {
        match m.forward.map(|f| f.from) {
            Some(crate::store::ForwardFrom::User(user)) => user_ids.push(user),
            Some(crate::store::ForwardFrom::Channel { channel, .. }) if channel != id => {
                chats.extend(chats_tl(server, me, vec![channel]).await?);
            }
            _ => {}
        }
    }
    let users = users_tl(server, me, user_ids).await?;
    let mut list = Vec::with_capacity(2 * all.len());
    for (random_id, posted) in &all {
        list.push(
            types::UpdateMessageID {
                id: posted.message.id,
                random_id: *random_id,
            }
            .into(),
        );
        list.extend(entry_update(
            &posted.entry,
            Some(post_tl(&posted.message, &ch, me, &media_map)),
        ));
    }
    let answer = updates(list, chats, users.clone());
    let members_view = channel_tl(&ch, None);
    for (_, posted) in &all {
        if posted.duplicate {
            continue;
        }
        // Offline members with devices: found and notified in a background job.
        crate::push_jobs::notify_channel_post(server, &ch, &posted.message);
        fan_out(server, &caller, &ch, |user| {
            post_update(posted, &ch, user, &media_map, &members_view, &users)
        })
        .await;
        server.bus.publish(crate::bus::ChangeNotice::Channel {
            channel: ch.id,
            pts: posted.entry.pts,
            pts_count: posted.entry.pts_count,
        });
    }
    ok(answer)
}

/// The channels with these ids as `viewer` sees them (for the `chats` of an answer that
/// names them, e.g. in a forward header); missing ones are left out.
pub(crate) async fn chats_tl(
    server: &Arc<Node>,
    viewer: i64,
    mut ids: Vec<i64>,
) -> Result<Vec<enums::Chat>, RpcError> {
    ids.sort_unstable();
    ids.dedup();
    let found = server
        .store
        .run(move |s| {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(ch) = s.channel(id)? {
                    let member = s.member(id, viewer)?;
                    found.push((ch, member));
                }
            }
            Ok(found)
        })
        .await?;
    Ok(found
        .iter()
        .map(|(ch, member)| channel_tl(ch, member.as_ref()))
        .collect())
}

/// What [`pin_posts`] did: the `updates` answering it (the pin and the notice), and the
/// channel's pts after it with the pts its pin entry took (0 when nothing changed).
pub(crate) struct PinAnswer {
    /// The answer.
    pub updates: enums::Updates,
    /// The channel's pts after the call.
    pub pts: i32,
    /// The pts of the pin entry.
    pub pts_count: i32,
}

/// Pins (or unpins) post `id` (`None`: unpins every one) as admin `caller`: the
/// `updatePinnedChannelMessages` and, for a pin, the `messageActionPinMessage` service post
/// go to every member (and other nodes through the bus); the answer carries both.
pub(crate) async fn pin_posts(
    server: &Arc<Node>,
    caller: &Caller,
    peer: &types::InputPeerChannel,
    id: Option<i32>,
    pinned: bool,
) -> Result<PinAnswer, RpcError> {
    let me = caller.user()?;
    let ch = resolve_channel_peer(server, peer).await?;
    let member = membership(server, ch.id, me).await?;
    match &member {
        None => return Err(RpcError::bad_request("CHANNEL_PRIVATE")),
        Some(m) if m.role < Role::Admin => {
            return Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"));
        }
        Some(_) => {}
    }
    let channel = ch.id;
    let done = server
        .store
        .run(move |s| s.pin_channel_messages(channel, me, id, pinned, unix_now()))
        .await
        .map_err(|e| match e {
            StoreError::NotFound { what: "post" } => RpcError::bad_request("MESSAGE_ID_INVALID"),
            other => other.into(),
        })?;
    let ch = reload(server, channel).await?;
    let media_map = MediaMap::default();
    let users = users_tl(server, me, [me]).await?;
    let members_view = channel_tl(&ch, None);
    let mut list = Vec::new();
    if let Some(entry) = &done.entry {
        list.extend(entry_update(entry, None));
        let body = updates(
            entry_update(entry, None).into_iter().collect(),
            vec![members_view.clone()],
            Vec::new(),
        )
        .to_bytes();
        fan_out(server, caller, &ch, |_| body.clone()).await;
    }
    if let Some(notice) = &done.notice {
        list.extend(entry_update(
            &notice.entry,
            Some(post_tl(&notice.message, &ch, me, &media_map)),
        ));
        fan_out(server, caller, &ch, |user| {
            post_update(notice, &ch, user, &media_map, &members_view, &users)
        })
        .await;
    }
    let entries = done
        .entry
        .iter()
        .chain(done.notice.iter().map(|n| &n.entry));
    for entry in entries {
        server.bus.publish(crate::bus::ChangeNotice::Channel {
            channel,
            pts: entry.pts,
            pts_count: entry.pts_count,
        });
    }
    Ok(PinAnswer {
        updates: updates(list, vec![channel_tl(&ch, member.as_ref())], users),
        pts: ch.pts,
        pts_count: done.entry.as_ref().map_or(0, |e| e.pts_count),
    })
}

/// The `Updates` a member sees for a new post.
fn post_update(
    posted: &Posted,
    ch: &Channel,
    user: i64,
    media_map: &MediaMap,
    members_view: &enums::Chat,
    users: &[enums::User],
) -> Vec<u8> {
    let update = entry_update(
        &posted.entry,
        Some(post_tl(&posted.message, ch, user, media_map)),
    );
    let mut chat = members_view.clone();
    if let enums::Chat::Channel(c) = &mut chat {
        c.left = false;
    }
    updates(update.into_iter().collect(), vec![chat], users.to_vec()).to_bytes()
}

/// A post or deletion another node committed (heard on the bus): read from the store and
/// pushed to the members connected to this node. Nothing happens if none is, or if the
/// channel has moved past `pts` meanwhile (its later notice, or getChannelDifference,
/// covers it).
pub(crate) async fn push_remote(server: &Arc<Node>, channel: i64, pts: i32, pts_count: i32) {
    let members = match server.store.run(move |s| s.member_ids(channel)).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("bus: members of channel {channel}: {e}");
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
    let from = pts - pts_count;
    let (entries, posts) = match server
        .store
        .run(move |s| s.channel_changes_since(channel, from, 1))
        .await
    {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("bus: log of channel {channel}: {e}");
            return;
        }
    };
    let Some(entry) = entries.into_iter().next().filter(|e| e.pts == pts) else {
        return;
    };
    let Ok(ch) = reload(server, channel).await else {
        return;
    };
    let build: Box<dyn Fn(i64) -> Vec<u8> + Send> = match &entry.change {
        ChannelChange::NewMessage { id } => {
            let Some(message) = posts.into_iter().find(|p| p.id == *id) else {
                return;
            };
            let Ok(media_map) = media_of_posts(server, std::slice::from_ref(&message)).await else {
                return;
            };
            let Ok(users) = users_tl(server, message.from_id, [message.from_id]).await else {
                return;
            };
            let members_view = channel_tl(&ch, None);
            let posted = Posted {
                message,
                entry,
                duplicate: false,
            };
            Box::new(move |user| post_update(&posted, &ch, user, &media_map, &members_view, &users))
        }
        _ => Box::new(move |_| {
            updates(
                entry_update(&entry, None).into_iter().collect(),
                vec![channel_tl(&ch, None)],
                Vec::new(),
            )
            .to_bytes()
        }),
    };
    for user in online {
        server.push_to_user(user, &build(user), None);
    }
}

async fn delete_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::channels::DeleteMessages,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    let member = membership(server, ch.id, me).await?;
    let id = ch.id;
    let ids = call.id.clone();
    if member.as_ref().is_none_or(|m| m.role < Role::Admin) {
        // Members may delete only their own posts in megagroups.
        let ids = ids.clone();
        let posts = server
            .store
            .run(move |s| s.channel_messages(id, &ids))
            .await?;
        if ch.broadcast || posts.iter().any(|p| p.from_id != me) || member.is_none() {
            return Err(RpcError::bad_request("MESSAGE_DELETE_FORBIDDEN"));
        }
    }
    let entry = server
        .store
        .run(move |s| s.delete_channel_messages(id, &ids, unix_now()))
        .await?;
    let Some(entry) = entry else {
        let ch = reload(server, id).await?;
        return ok(types::messages::AffectedMessages {
            pts: ch.pts,
            pts_count: 0,
        });
    };
    let ch = reload(server, id).await?;
    fan_out(server, &caller, &ch, |_| {
        updates(
            entry_update(&entry, None).into_iter().collect(),
            vec![channel_tl(&ch, None)],
            Vec::new(),
        )
        .to_bytes()
    })
    .await;
    server.bus.publish(crate::bus::ChangeNotice::Channel {
        channel: id,
        pts: entry.pts,
        pts_count: entry.pts_count,
    });
    ok(types::messages::AffectedMessages {
        pts: entry.pts,
        pts_count: entry.pts_count,
    })
}

async fn get_channel_difference(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::updates::GetChannelDifference,
) -> RpcResult {
    let me = caller.user()?;
    let ch = resolve_channel(server, &call.channel).await?;
    let member = readable(server, &ch, me).await?;
    if call.pts <= 0 {
        return Err(RpcError::bad_request("PERSISTENT_TIMESTAMP_INVALID"));
    }
    if call.pts >= ch.pts {
        return ok(enums::updates::ChannelDifference::Empty(
            types::updates::ChannelDifferenceEmpty {
                r#final: true,
                pts: ch.pts,
                timeout: Some(30),
            },
        ));
    }
    let limit = call.limit.clamp(1, CHANNEL_DIFFERENCE_LIMIT);
    if ch.pts - call.pts > server.options.difference_too_long {
        let id = ch.id;
        let (posts, _) = server
            .store
            .run(move |s| {
                s.channel_history(
                    id,
                    HistoryQuery {
                        limit,
                        ..Default::default()
                    },
                )
            })
            .await?;
        let media = media_of_posts(server, &posts).await?;
        let read = member.as_ref().map_or(0, |m| m.read_max_id);
        let top = posts.first().map_or(0, |p| p.id);
        let notify = super::devices::stored_settings_tl(server, me, NotifyScope::Channel(ch.id));
        let dialog = channel_dialog(&ch, top, read, (top - read).max(0), notify.await?);
        let mut list: Vec<enums::Message> =
            posts.iter().map(|p| post_tl(p, &ch, me, &media)).collect();
        let reactors = super::reactions::attach_channel(server, &ch, me, &mut list).await?;
        let senders = posts.iter().map(|p| p.from_id);
        return ok(enums::updates::ChannelDifference::TooLong(
            types::updates::ChannelDifferenceTooLong::new(
                dialog,
                list,
                vec![channel_tl(&ch, member.as_ref())],
                users_tl(server, me, senders.chain(reactors)).await?,
            ),
        ));
    }
    let (id, from) = (ch.id, call.pts);
    let (changes, posts) = server
        .store
        .run(move |s| s.channel_changes_since(id, from, limit as usize))
        .await?;
    let media = media_of_posts(server, &posts).await?;
    let mut new_messages = Vec::new();
    let mut other_updates = Vec::new();
    for change in &changes {
        match &change.change {
            ChannelChange::NewMessage { id } => {
                if let Some(p) = posts.iter().find(|p| p.id == *id) {
                    new_messages.push(post_tl(p, &ch, me, &media));
                }
            }
            ChannelChange::DeleteMessages { .. } | ChannelChange::Pin { .. } => {
                other_updates.extend(entry_update(change, None))
            }
        }
    }
    let reactors = super::reactions::attach_channel(server, &ch, me, &mut new_messages).await?;
    let last = changes.last().map_or(ch.pts, |c| c.pts);
    ok(enums::updates::ChannelDifference::ChannelDifference(
        types::updates::ChannelDifference {
            r#final: last >= ch.pts,
            pts: last,
            timeout: Some(30),
            new_messages,
            other_updates,
            chats: vec![channel_tl(&ch, member.as_ref())],
            users: users_tl(
                server,
                me,
                posts.iter().map(|p| p.from_id).chain([me]).chain(reactors),
            )
            .await?,
        },
    ))
}

/// The dialog entry of a channel.
pub(crate) fn channel_dialog(
    ch: &Channel,
    top: i32,
    read: i32,
    unread: i32,
    notify_settings: enums::PeerNotifySettings,
) -> enums::Dialog {
    types::Dialog {
        pinned: false,
        unread_mark: false,
        view_forum_as_messages: false,
        peer: peer_channel(ch.id),
        top_message: top,
        read_inbox_max_id: read,
        read_outbox_max_id: top,
        unread_count: unread,
        unread_mentions_count: 0,
        unread_reactions_count: 0,
        unread_poll_votes_count: 0,
        notify_settings,
        pts: Some(ch.pts),
        draft: None,
        folder_id: None,
        ttl_period: None,
    }
    .into()
}

/// The caller's channels as dialogs: (top date, dialog, top post, chat).
pub(crate) async fn dialogs(
    server: &Arc<Node>,
    me: i64,
) -> Result<Vec<(i32, enums::Dialog, Option<enums::Message>, enums::Chat)>, RpcError> {
    let channels = server.store.run(move |s| s.channels_of(me)).await?;
    let mut out = Vec::new();
    for (ch, member) in channels {
        let id = ch.id;
        let (top, _) = server
            .store
            .run(move |s| {
                s.channel_history(
                    id,
                    HistoryQuery {
                        limit: 1,
                        ..Default::default()
                    },
                )
            })
            .await?;
        let media = media_of_posts(server, &top).await?;
        let top = top.into_iter().next();
        let top_id = top.as_ref().map_or(0, |p| p.id);
        let date = top.as_ref().map_or(ch.date, |p| p.date);
        let unread = (top_id - member.read_max_id).max(0);
        out.push((
            date,
            channel_dialog(
                &ch,
                top_id,
                member.read_max_id,
                unread,
                super::devices::stored_settings_tl(server, me, NotifyScope::Channel(id)).await?,
            ),
            top.as_ref().map(|p| post_tl(p, &ch, me, &media)),
            channel_tl(&ch, Some(&member)),
        ));
    }
    Ok(out)
}

/// `contacts.resolveUsername` for channels.
pub(crate) async fn resolve_username(
    server: &Arc<Node>,
    me: i64,
    name: &str,
) -> Result<Option<Vec<u8>>, RpcError> {
    let n = name.to_owned();
    let Some(ch) = server.store.run(move |s| s.channel_by_username(&n)).await? else {
        return Ok(None);
    };
    let member = membership(server, ch.id, me).await?;
    Ok(Some(
        types::contacts::ResolvedPeer {
            peer: peer_channel(ch.id),
            chats: vec![channel_tl(&ch, member.as_ref())],
            users: Vec::new(),
        }
        .to_bytes(),
    ))
}
