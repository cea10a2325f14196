//! Privacy of the status (`account.setPrivacy` / `account.getPrivacy` with
//! `inputPrivacyKeyStatusTimestamp`): everybody, contacts, or nobody sees when a user is online
//! and was last seen; the others see "last seen recently" and get no status pushes. Only the
//! base rule is kept: allow-lists and deny-lists of users or chats are accepted and not
//! applied (the answer shows the base rule alone). Other privacy keys get
//! `PRIVACY_KEY_INVALID`.

use super::ok;
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Node;
use crate::store::{User, Visibility};
use mtproto_api::{enums, functions, types};
use std::collections::HashSet;
use std::sync::Arc;

/// The privacy service.
#[derive(Debug, Clone, Copy)]
pub struct PrivacyService;

service!(PrivacyService {
    functions::account::SetPrivacy => set_privacy,
    functions::account::GetPrivacy => get_privacy,
});

fn check_key(key: &enums::InputPrivacyKey) -> Result<(), RpcError> {
    match key {
        enums::InputPrivacyKey::StatusTimestamp => Ok(()),
        _ => Err(RpcError::bad_request("PRIVACY_KEY_INVALID")),
    }
}

/// The base rule the client's rules give: allow-all wins, then allow-contacts, else nobody.
fn visibility_of(rules: &[enums::InputPrivacyRule]) -> Visibility {
    use enums::InputPrivacyRule as R;
    if rules
        .iter()
        .any(|r| matches!(r, R::InputPrivacyValueAllowAll))
    {
        Visibility::Everybody
    } else if rules
        .iter()
        .any(|r| matches!(r, R::InputPrivacyValueAllowContacts))
    {
        Visibility::Contacts
    } else {
        Visibility::Nobody
    }
}

/// The rules as clients read them back.
fn rules_tl(visibility: Visibility) -> enums::account::PrivacyRules {
    use enums::PrivacyRule as R;
    let rules = match visibility {
        Visibility::Everybody => vec![R::PrivacyValueAllowAll],
        Visibility::Contacts => vec![R::PrivacyValueAllowContacts, R::PrivacyValueDisallowAll],
        Visibility::Nobody => vec![R::PrivacyValueDisallowAll],
    };
    types::account::PrivacyRules {
        rules,
        chats: Vec::new(),
        users: Vec::new(),
    }
    .into()
}

async fn set_privacy(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::SetPrivacy,
) -> RpcResult {
    let me = caller.user()?;
    check_key(&call.key)?;
    let visibility = visibility_of(&call.rules);
    server
        .store
        .run(move |s| s.set_status_visibility(me, visibility))
        .await?;
    ok(rules_tl(visibility))
}

async fn get_privacy(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::GetPrivacy,
) -> RpcResult {
    let me = caller.user()?;
    check_key(&call.key)?;
    let user = server
        .store
        .run(move |s| s.user(me))
        .await?
        .ok_or_else(|| RpcError::unauthorized("AUTH_KEY_UNREGISTERED"))?;
    ok(rules_tl(user.status_visibility))
}

/// The users of `users` whose status `viewer` may not see (one contact-list lookup per user
/// who shows it to contacts only; none otherwise).
pub(crate) async fn hidden_from(
    server: &Arc<Node>,
    viewer: i64,
    users: &[User],
) -> Result<HashSet<i64>, RpcError> {
    let mut hidden = HashSet::new();
    let mut contacts_only = Vec::new();
    for u in users.iter().filter(|u| u.id != viewer) {
        match u.status_visibility {
            Visibility::Everybody => {}
            Visibility::Nobody => {
                hidden.insert(u.id);
            }
            Visibility::Contacts => contacts_only.push(u.id),
        }
    }
    if !contacts_only.is_empty() {
        let not_contacts = server
            .store
            .run(move |s| {
                let mut not = Vec::new();
                for u in contacts_only {
                    if !s.contacts(u)?.contains(&viewer) {
                        not.push(u);
                    }
                }
                Ok(not)
            })
            .await?;
        hidden.extend(not_contacts);
    }
    Ok(hidden)
}
