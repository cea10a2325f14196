//! What a channel looks like to a user and whether they may read it: the `channel` TL view
//! and the membership check every channel call and the reactions share.

use crate::rpc::RpcError;
use crate::state::Node;
use crate::store::channels::{Channel, Member, Role};
use mtproto_api::{enums, types};
use std::sync::Arc;

/// Every admin right (what creators and admins of this server's channels hold).
pub(crate) fn all_rights() -> enums::ChatAdminRights {
    types::ChatAdminRights {
        change_info: true,
        post_messages: true,
        edit_messages: true,
        delete_messages: true,
        ban_users: true,
        invite_users: true,
        pin_messages: true,
        add_admins: true,
        ..Default::default()
    }
    .into()
}

/// A channel as a member (or a visitor, `member` = `None`) sees it.
pub(crate) fn channel_tl(ch: &Channel, member: Option<&Member>) -> enums::Chat {
    let role = member.map(|m| m.role);
    let mut c = types::Channel::new(ch.id, ch.title.clone(), enums::ChatPhoto::Empty, ch.date);
    c.creator = role == Some(Role::Creator);
    c.left = member.is_none();
    c.broadcast = ch.broadcast;
    c.megagroup = ch.megagroup;
    c.access_hash = Some(ch.access_hash);
    c.username = ch.username.clone();
    c.participants_count = Some(ch.members);
    if role >= Some(Role::Admin) {
        c.admin_rights = Some(all_rights());
    }
    c.into()
}

pub(crate) async fn membership(
    server: &Arc<Node>,
    channel: i64,
    user: i64,
) -> Result<Option<Member>, RpcError> {
    Ok(server.store.run(move |s| s.member(channel, user)).await?)
}

/// Reading needs membership unless the channel is public.
pub(crate) async fn readable(
    server: &Arc<Node>,
    ch: &Channel,
    user: i64,
) -> Result<Option<Member>, RpcError> {
    let member = membership(server, ch.id, user).await?;
    if member.is_none() && ch.username.is_none() {
        return Err(RpcError::bad_request("CHANNEL_PRIVATE"));
    }
    Ok(member)
}
