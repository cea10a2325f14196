//! Users and contacts: `users.getUsers`, `users.getFullUser`, `contacts.resolveUsername`,
//! `contacts.importContacts`, `contacts.getContacts`, `contacts.deleteContacts`,
//! `contacts.search`, `contacts.getStatuses`; and the blocklist: `contacts.block`,
//! `contacts.unblock`, `contacts.getBlocked`, with the rule it sets for private messages
//! (`check_not_blocked`).

use super::{
    bool_true, normalize_phone, ok, resolve_input_user, resolve_peer, users_seen, users_tl,
};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::User;
use mtproto_api::{enums, functions, types};
use std::collections::HashSet;
use std::sync::Arc;
use tl_runtime::Serialize;

/// The users and contacts service.
#[derive(Debug, Clone, Copy)]
pub struct UsersService;

service!(UsersService {
    functions::users::GetUsers => get_users,
    functions::users::GetFullUser => get_full_user,
    functions::contacts::ResolveUsername => resolve_username,
    functions::contacts::ImportContacts => import_contacts,
    functions::contacts::GetContacts => get_contacts,
    functions::contacts::DeleteContacts => delete_contacts,
    functions::contacts::Block => block,
    functions::contacts::Unblock => unblock,
    functions::contacts::GetBlocked => get_blocked,
    functions::contacts::Search => search,
    functions::contacts::GetStatuses => get_statuses,
});

/// The most users one `contacts.getBlocked` or `contacts.search` answer lists.
pub const MAX_PAGE: i32 = 100;

async fn get_users(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::users::GetUsers,
) -> RpcResult {
    let me = caller.user()?;
    let mut found = Vec::new();
    for input in &call.id {
        // Unknown users and wrong access hashes are left out, as Telegram does.
        if let Ok(user) = resolve_input_user(server, me, input).await {
            found.push(user);
        }
    }
    ok(users_seen(server, me, &found).await)
}

async fn get_full_user(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::users::GetFullUser,
) -> RpcResult {
    let me = caller.user()?;
    let user = resolve_input_user(server, me, &call.id).await?;
    let id = user.id;
    let blocked = server.store.run(move |s| s.is_blocked(me, id)).await?;
    let notify_settings = super::devices::stored_settings_tl(
        server,
        me,
        crate::store::devices::NotifyScope::User(user.id),
    )
    .await?;
    let (owner, peer) = (me, user.id);
    let pinned = server.store.run(move |s| s.pinned(owner, peer)).await?;
    let full = types::UserFull {
        blocked,
        phone_calls_available: false,
        phone_calls_private: false,
        can_pin_message: true,
        has_scheduled: false,
        video_calls_available: false,
        voice_messages_forbidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        blocked_my_stories_from: false,
        wallpaper_overridden: false,
        contact_require_premium: false,
        read_dates_private: false,
        sponsored_enabled: false,
        can_view_revenue: false,
        bot_can_manage_emoji_status: false,
        display_gifts_button: false,
        noforwards_my_enabled: false,
        noforwards_peer_enabled: false,
        unofficial_security_risk: false,
        id: user.id,
        about: (!user.about.is_empty()).then(|| user.about.clone()),
        settings: types::PeerSettings::default().into(),
        personal_photo: None,
        profile_photo: None,
        fallback_photo: None,
        notify_settings,
        bot_info: super::bots::bot_info(server, &user).await?,
        pinned_msg_id: pinned.first().copied(),
        common_chats_count: 0,
        folder_id: None,
        ttl_period: None,
        theme: None,
        private_forward_name: None,
        bot_group_admin_rights: None,
        bot_broadcast_admin_rights: None,
        wallpaper: None,
        stories: None,
        business_work_hours: None,
        business_location: None,
        business_greeting_message: None,
        business_away_message: None,
        business_intro: None,
        birthday: None,
        personal_channel_id: None,
        personal_channel_message: None,
        stargifts_count: None,
        starref_program: None,
        bot_verification: None,
        send_paid_messages_stars: None,
        disallowed_gifts: None,
        stars_rating: None,
        stars_my_pending_rating: None,
        stars_my_pending_rating_date: None,
        main_tab: None,
        saved_music: None,
        note: None,
        bot_manager_id: None,
    };
    ok(types::users::UserFull {
        full_user: full.into(),
        chats: Vec::new(),
        users: users_seen(server, me, std::slice::from_ref(&user)).await,
    })
}

async fn resolve_username(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::contacts::ResolveUsername,
) -> RpcResult {
    let me = caller.user()?;
    let name = call.username.trim_start_matches('@').to_owned();
    if let Some(answer) = super::channels::resolve_username(server, me, &name).await? {
        return Ok(answer);
    }
    let user = server
        .store
        .run(move |s| s.user_by_username(&name))
        .await?
        .ok_or_else(|| RpcError::bad_request("USERNAME_NOT_OCCUPIED"))?;
    ok(types::contacts::ResolvedPeer {
        peer: types::PeerUser { user_id: user.id }.into(),
        chats: Vec::new(),
        users: users_seen(server, me, std::slice::from_ref(&user)).await,
    })
}

async fn import_contacts(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::contacts::ImportContacts,
) -> RpcResult {
    let me = caller.user()?;
    let mut imported = Vec::new();
    let mut retry = Vec::new();
    let mut found = Vec::new();
    for contact in call.contacts {
        let enums::InputContact::InputPhoneContact(c) = contact;
        let phone = normalize_phone(&c.phone);
        let (first, last) = (c.first_name.clone(), c.last_name.clone());
        let user = server
            .store
            .run(move |s| {
                let user = s.user_by_phone(&phone)?;
                if let Some(u) = &user {
                    s.add_contact(me, u.id, &first, &last)?;
                }
                Ok(user)
            })
            .await?;
        match user {
            Some(u) => {
                imported.push(
                    types::ImportedContact {
                        user_id: u.id,
                        client_id: c.client_id,
                    }
                    .into(),
                );
                found.push(u.id);
            }
            None => retry.push(c.client_id),
        }
    }
    ok(types::contacts::ImportedContacts {
        imported,
        popular_invites: Vec::new(),
        retry_contacts: retry,
        users: users_tl(server, me, found).await?,
    })
}

async fn get_contacts(
    server: &Arc<Node>,
    caller: Caller,
    _: functions::contacts::GetContacts,
) -> RpcResult {
    let me = caller.user()?;
    let ids = server.store.run(move |s| s.contacts(me)).await?;
    let contacts = ids
        .iter()
        .map(|id| {
            types::Contact {
                user_id: *id,
                mutual: false,
            }
            .into()
        })
        .collect();
    ok(types::contacts::Contacts {
        contacts,
        saved_count: ids.len() as i32,
        users: users_tl(server, me, ids).await?,
    })
}

/// The private-message rule of the blocklist: a message from `me` to `to` is refused with
/// `400 YOU_BLOCKED_USER` when `me` has blocked `to` (checked first: it tells the sender
/// only what they did themselves), and with `400 USER_IS_BLOCKED` when `to` has blocked
/// `me`. Writing to oneself is never refused.
pub(crate) async fn check_not_blocked(
    server: &Arc<Node>,
    me: i64,
    to: i64,
) -> Result<(), RpcError> {
    if me == to {
        return Ok(());
    }
    let (i_blocked, blocked_me) = server
        .store
        .run(move |s| Ok((s.is_blocked(me, to)?, s.is_blocked(to, me)?)))
        .await?;
    if i_blocked {
        return Err(RpcError::bad_request("YOU_BLOCKED_USER"));
    }
    if blocked_me {
        return Err(RpcError::bad_request("USER_IS_BLOCKED"));
    }
    Ok(())
}

async fn delete_contacts(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::contacts::DeleteContacts,
) -> RpcResult {
    let me = caller.user()?;
    let mut ids = Vec::with_capacity(call.id.len());
    for input in &call.id {
        let user = resolve_input_user(server, me, input)
            .await
            .map_err(|_| RpcError::bad_request("CONTACT_ID_INVALID"))?;
        ids.push(user.id);
    }
    let removed = server
        .store
        .run(move |s| s.delete_contacts(me, &ids))
        .await?;
    // As Telegram: the peer settings of each former contact (whom the chat now offers to
    // add), with the users.
    let updates = removed
        .iter()
        .map(|id| {
            types::UpdatePeerSettings {
                peer: types::PeerUser { user_id: *id }.into(),
                settings: types::PeerSettings {
                    add_contact: true,
                    block_contact: true,
                    ..Default::default()
                }
                .into(),
            }
            .into()
        })
        .collect();
    ok(super::updates_tl(server, me, updates, removed).await?)
}

/// The user a `contacts.block` or `contacts.unblock` names: any user but the caller.
async fn block_target(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputPeer,
) -> Result<User, RpcError> {
    match resolve_peer(server, me, peer).await {
        Ok(user) if user.id != me => Ok(user),
        _ => Err(RpcError::bad_request("CONTACT_ID_INVALID")),
    }
}

/// Tells the caller's other sessions that `user` was blocked or unblocked.
fn push_peer_blocked(server: &Arc<Node>, caller: &Caller, me: i64, user: i64, blocked: bool) {
    let update: enums::Updates = types::UpdateShort {
        update: types::UpdatePeerBlocked {
            blocked,
            blocked_my_stories_from: false,
            peer_id: types::PeerUser { user_id: user }.into(),
        }
        .into(),
        date: unix_now(),
    }
    .into();
    server.push_to_user(
        me,
        &update.to_bytes(),
        Some((caller.key_id, caller.session_id)),
    );
}

async fn block(server: &Arc<Node>, caller: Caller, call: functions::contacts::Block) -> RpcResult {
    let me = caller.user()?;
    let user = block_target(server, me, &call.id).await?.id;
    let changed = server
        .store
        .run(move |s| s.block(me, user, unix_now()))
        .await?;
    if changed {
        push_peer_blocked(server, &caller, me, user, true);
    }
    bool_true()
}

async fn unblock(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::contacts::Unblock,
) -> RpcResult {
    let me = caller.user()?;
    let user = block_target(server, me, &call.id).await?.id;
    let changed = server.store.run(move |s| s.unblock(me, user)).await?;
    if changed {
        push_peer_blocked(server, &caller, me, user, false);
    }
    bool_true()
}

async fn get_blocked(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::contacts::GetBlocked,
) -> RpcResult {
    let me = caller.user()?;
    let (offset, limit) = (call.offset.max(0), call.limit.clamp(1, MAX_PAGE));
    let (page, total) = server
        .store
        .run(move |s| s.blocked(me, offset, limit))
        .await?;
    let users = users_tl(server, me, page.iter().map(|(id, _)| *id)).await?;
    let blocked: Vec<enums::PeerBlocked> = page
        .iter()
        .map(|(id, date)| {
            types::PeerBlocked {
                peer_id: types::PeerUser { user_id: *id }.into(),
                date: *date,
            }
            .into()
        })
        .collect();
    let whole = offset == 0 && blocked.len() as i32 == total;
    let answer: enums::contacts::Blocked = if whole {
        types::contacts::Blocked {
            blocked,
            chats: Vec::new(),
            users,
        }
        .into()
    } else {
        types::contacts::BlockedSlice {
            count: total,
            blocked,
            chats: Vec::new(),
            users,
        }
        .into()
    };
    ok(answer)
}

async fn search(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::contacts::Search,
) -> RpcResult {
    let me = caller.user()?;
    let query = call.q.trim().trim_start_matches('@').to_owned();
    if query.is_empty() {
        return Err(RpcError::bad_request("QUERY_TOO_SHORT"));
    }
    // One more than asked: the caller may be among the matches, and is left out.
    let limit = call.limit.clamp(1, MAX_PAGE) as usize;
    let (found, contacts) = server
        .store
        .run(move |s| Ok((s.search_users(&query, limit + 1)?, s.contacts(me)?)))
        .await?;
    let contacts: HashSet<i64> = contacts.into_iter().collect();
    let found: Vec<User> = found
        .into_iter()
        .filter(|u| u.id != me)
        .take(limit)
        .collect();
    let (mut my_results, mut results) = (Vec::new(), Vec::new());
    for user in &found {
        let peer: enums::Peer = types::PeerUser { user_id: user.id }.into();
        if contacts.contains(&user.id) {
            my_results.push(peer);
        } else {
            results.push(peer);
        }
    }
    ok(types::contacts::Found {
        my_results,
        results,
        chats: Vec::new(),
        users: users_seen(server, me, &found).await,
    })
}

async fn get_statuses(
    server: &Arc<Node>,
    caller: Caller,
    _: functions::contacts::GetStatuses,
) -> RpcResult {
    let me = caller.user()?;
    // Bots show no status (as in their user objects); a contact who blocked the caller
    // shows none either (`userStatusEmpty`, as Telegram).
    let (people, blocked_me) = server
        .store
        .run(move |s| {
            let ids = s.contacts(me)?;
            let mut people = Vec::new();
            let mut blocked_me = HashSet::new();
            for user in s.users(&ids)? {
                if user.bot_info_version.is_some() {
                    continue;
                }
                if s.is_blocked(user.id, me)? {
                    blocked_me.insert(user.id);
                }
                people.push(user);
            }
            Ok((people, blocked_me))
        })
        .await?;
    let visible = people
        .iter()
        .map(|u| u.id)
        .filter(|id| !blocked_me.contains(id))
        .collect();
    let online = server.online_anywhere(visible).await;
    let hidden = super::privacy::hidden_from(server, me, &people).await?;
    let now = unix_now();
    let statuses: Vec<enums::ContactStatus> = people
        .iter()
        .map(|user| {
            let status: enums::UserStatus = if blocked_me.contains(&user.id) {
                types::UserStatusEmpty {}.into()
            } else if hidden.contains(&user.id) {
                types::UserStatusRecently::default().into()
            } else if online.contains(&user.id) {
                super::status::online(now)
            } else {
                super::status::at_rest(user)
            };
            types::ContactStatus {
                user_id: user.id,
                status,
            }
            .into()
        })
        .collect();
    ok(statuses)
}
