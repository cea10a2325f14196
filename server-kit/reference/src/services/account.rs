//! The signed-in user's own account: profile, username, status, authorizations.

use super::{ok, user_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Node;
use crate::store::StoreError;
use mtproto_api::{functions, types};
use std::sync::Arc;

/// The account service.
#[derive(Debug, Clone, Copy)]
pub struct AccountService;

service!(AccountService {
    functions::account::UpdateProfile => update_profile,
    functions::account::CheckUsername => check_username,
    functions::account::UpdateUsername => update_username,
    functions::account::GetAuthorizations => get_authorizations,
});

async fn update_profile(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::UpdateProfile,
) -> RpcResult {
    let me = caller.user()?;
    if call
        .first_name
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        return Err(RpcError::bad_request("FIRSTNAME_INVALID"));
    }
    if call
        .about
        .as_deref()
        .is_some_and(|a| a.chars().count() > 70)
    {
        return Err(RpcError::bad_request("ABOUT_TOO_LONG"));
    }
    let user = server
        .store
        .run(move |s| {
            s.update_profile(
                me,
                call.first_name.as_deref().map(str::trim),
                call.last_name.as_deref().map(str::trim),
                call.about.as_deref(),
            )
        })
        .await?;
    ok(user_tl(&user, me))
}

/// Telegram's rule: 5 to 32 characters, letters, digits and underscores, starting with a
/// letter, not ending with an underscore.
pub fn valid_username(name: &str) -> bool {
    let len = name.chars().count();
    (5..=32).contains(&len)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('_')
}

async fn check_username(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::CheckUsername,
) -> RpcResult {
    let me = caller.user()?;
    if !valid_username(&call.username) {
        return Err(RpcError::bad_request("USERNAME_INVALID"));
    }
    let owner = server
        .store
        .run(move |s| s.user_by_username(&call.username))
        .await?;
    ok(owner.is_none_or(|u| u.id == me))
}

async fn update_username(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::UpdateUsername,
) -> RpcResult {
    let me = caller.user()?;
    let name = call.username.trim_start_matches('@').to_owned();
    if !name.is_empty() && !valid_username(&name) {
        return Err(RpcError::bad_request("USERNAME_INVALID"));
    }
    let current = server.store.run(move |s| s.user(me)).await?;
    if current.as_ref().and_then(|u| u.username.as_deref()) == Some(name.as_str())
        || (name.is_empty() && current.as_ref().is_some_and(|u| u.username.is_none()))
    {
        return Err(RpcError::bad_request("USERNAME_NOT_MODIFIED"));
    }
    let user = server
        .store
        .run(move |s| s.set_username(me, (!name.is_empty()).then_some(name.as_str())))
        .await
        .map_err(|e| match e {
            StoreError::Taken { .. } => RpcError::bad_request("USERNAME_OCCUPIED"),
            other => other.into(),
        })?;
    ok(user_tl(&user, me))
}

async fn get_authorizations(
    server: &Arc<Node>,
    caller: Caller,
    _: functions::account::GetAuthorizations,
) -> RpcResult {
    let me = caller.user()?;
    let keys = server.store.run(|s| s.auth_keys()).await?;
    let authorizations = keys
        .into_iter()
        .filter(|k| k.user_id == Some(me))
        .map(|k| {
            types::Authorization {
                current: k.id == caller.key_id,
                hash: if k.id == caller.key_id { 0 } else { k.id },
                device_model: k.client.device_model,
                platform: String::new(),
                system_version: k.client.system_version,
                api_id: k.client.api_id,
                app_name: String::new(),
                app_version: k.client.app_version,
                date_created: k.created as i32,
                date_active: k.created as i32,
                ..Default::default()
            }
            .into()
        })
        .collect();
    ok(types::account::Authorizations {
        authorization_ttl_days: 180,
        authorizations,
    })
}
