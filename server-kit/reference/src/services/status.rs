//! Online status: who is online follows their connections (a user with a live connection to
//! any node is online); when the last one closes, the time is kept as their last seen.
//! `account.updateStatus` lets a client say it went offline (or is back) while connected.
//! Each change is pushed as `updateUserStatus` to the users who watch it: those with the
//! user as a contact or a private chat with them ([`Store::status_watchers`]), on this node.
//!
//! [`Store::status_watchers`]: crate::store::Store::status_watchers

use super::{bool_true, push_short};
use crate::rpc::{Caller, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::{User, Visibility};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// How long an online status lasts unless renewed (`userStatusOnline.expires`); clients
/// renew it by staying connected or calling `account.updateStatus`.
pub const ONLINE_FOR_SECONDS: i32 = 300;

/// The status service.
#[derive(Debug, Clone, Copy)]
pub struct StatusService;

service!(StatusService {
    functions::account::UpdateStatus => update_status,
});

async fn update_status(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::UpdateStatus,
) -> RpcResult {
    let me = caller.user()?;
    let now = unix_now();
    server.store.run(move |s| s.set_last_seen(me, now)).await?;
    let status = if call.offline {
        offline(now)
    } else {
        online(now)
    };
    tell_watchers(server, me, status).await;
    bool_true()
}

/// `userStatusOnline` from `now`.
pub(crate) fn online(now: i32) -> enums::UserStatus {
    types::UserStatusOnline {
        expires: now + ONLINE_FOR_SECONDS,
    }
    .into()
}

/// `userStatusOffline` seen last at `when`.
fn offline(when: i32) -> enums::UserStatus {
    types::UserStatusOffline { was_online: when }.into()
}

/// A user's status when not connected: offline since their last seen time, or "recently"
/// when none was ever recorded.
pub(crate) fn at_rest(user: &User) -> enums::UserStatus {
    if user.last_seen > 0 {
        offline(user.last_seen)
    } else {
        types::UserStatusRecently::default().into()
    }
}

/// Pushes `user`'s new status to the watchers connected to this node.
async fn tell_watchers(server: &Arc<Node>, user: i64, status: enums::UserStatus) {
    let found = server
        .store
        .run(move |s| {
            let watchers = s.status_watchers(user)?;
            let (visibility, contacts) = match s.user(user)?.map(|u| u.status_visibility) {
                Some(Visibility::Contacts) => (Visibility::Contacts, s.contacts(user)?),
                other => (other.unwrap_or_default(), Vec::new()),
            };
            Ok((watchers, visibility, contacts))
        })
        .await;
    let (watchers, visibility, contacts) = match found {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("status watchers of {user}: {e}");
            return;
        }
    };
    // Those the user hides their status from hear nothing.
    let watchers: Vec<i64> = match visibility {
        Visibility::Everybody => watchers,
        Visibility::Contacts => watchers
            .into_iter()
            .filter(|w| contacts.contains(w))
            .collect(),
        Visibility::Nobody => Vec::new(),
    };
    let update: enums::Update = types::UpdateUserStatus {
        user_id: user,
        status,
    }
    .into();
    for watcher in watchers.into_iter().filter(|w| server.is_online(*w)) {
        push_short(server, watcher, update.clone());
    }
}

/// Users came online on this node or left it: their watchers hear it, and a user who left
/// every node is recorded as last seen now. Register it with
/// [`NodeBuilder::presence_changes`](crate::state::NodeBuilder::presence_changes).
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusPushes;

impl crate::state::PresenceChanges for StatusPushes {
    fn changed<'a>(
        &'a self,
        server: &'a Arc<Node>,
        came: Vec<i64>,
        left: Vec<i64>,
    ) -> crate::rpc::BoxFuture<'a, ()> {
        Box::pin(async move {
            let now = unix_now();
            for user in came {
                tell_watchers(server, user, online(now)).await;
            }
            // Still connected to another node: not offline.
            let elsewhere = server.online_anywhere(left.clone()).await;
            for user in left.into_iter().filter(|u| !elsewhere.contains(u)) {
                if let Err(e) = server.store.run(move |s| s.set_last_seen(user, now)).await {
                    tracing::warn!("last seen of {user}: {e}");
                }
                tell_watchers(server, user, offline(now)).await;
            }
        })
    }
}
