//! Users and contacts: `users.getUsers`, `users.getFullUser`, `contacts.resolveUsername`,
//! `contacts.importContacts`, `contacts.getContacts`.

use super::{normalize_phone, ok, resolve_input_user, users_seen, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Node;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The users and contacts service.
#[derive(Debug, Clone, Copy)]
pub struct UsersService;

service!(UsersService {
    functions::users::GetUsers => get_users,
    functions::users::GetFullUser => get_full_user,
    functions::contacts::ResolveUsername => resolve_username,
    functions::contacts::ImportContacts => import_contacts,
    functions::contacts::GetContacts => get_contacts,
});

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
    let notify_settings = super::devices::stored_settings_tl(
        server,
        me,
        crate::store::devices::NotifyScope::User(user.id),
    )
    .await?;
    let (owner, peer) = (me, user.id);
    let pinned = server.store.run(move |s| s.pinned(owner, peer)).await?;
    let full = types::UserFull {
        blocked: false,
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
        bot_info: None,
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
