//! Push jobs: after a commit, the notifications for recipients who are offline on every node
//! (private messages, channel posts), built from the stored rows and handed to the node's
//! [`Pusher`](crate::push::Pusher).

use crate::push::{ChannelOrigin, Notification, Target, presentation, preview, preview_of};
use crate::state::{Node, unix_now};
use crate::store::channels::{Channel, ChannelMessage};
use crate::store::devices::{Device, NotifyScope};
use crate::store::{Change, Committed, Message, StoreError};
use std::sync::Arc;

/// After a commit: a notification for every new incoming private message whose recipient
/// has no online session (on any node), has registered devices, and has not muted the sender. Returns at
/// once; loading the devices and settings and delivering happen in a background job.
pub fn notify_offline(server: &Arc<Node>, committed: &[Committed]) {
    let offline: Vec<(i64, Message)> = committed
        .iter()
        .filter_map(|c| match (&c.entry.change, &c.message) {
            (Change::NewMessage { .. }, Some(m)) if !m.out && m.from_id != c.user_id => {
                Some((c.user_id, m.clone()))
            }
            _ => None,
        })
        .filter(|(user, _)| !server.is_online(*user))
        .collect();
    if offline.is_empty() {
        return;
    }
    let job_server = server.clone();
    server.push.spawn_job("private message", async move {
        // Offline here; perhaps online on another node.
        let elsewhere = job_server
            .online_anywhere(offline.iter().map(|(user, _)| *user).collect())
            .await;
        for (user, message) in offline {
            if elsewhere.contains(&user) {
                continue;
            }
            if let Err(e) = notify(&job_server, user, message).await {
                tracing::warn!(user_id = user, "push notification: {e}");
            }
        }
    });
}

/// Splits a user's devices into those of a live authorization and those whose
/// authorization was since logged out or reset.
fn live_devices(server: &Node, user: i64, devices: Vec<Device>) -> (Vec<Device>, Vec<Device>) {
    let keys = server.keys_of(user);
    devices.into_iter().partition(|d| keys.contains(&d.key_id))
}

/// Forgets devices of authorizations that are gone.
async fn forget(server: &Node, stale: Vec<Device>) -> Result<(), StoreError> {
    if stale.is_empty() {
        return Ok(());
    }
    server
        .store
        .run(move |s| {
            for d in stale {
                s.unregister_device(d.user_id, d.token_type, &d.token)?;
            }
            Ok(())
        })
        .await
}

fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

async fn notify(server: &Arc<Node>, user: i64, message: Message) -> Result<(), StoreError> {
    let sender_id = message.from_id;
    // A basic group's message follows the group's settings and the groups' default.
    let (scope, default_scope) = match crate::store::chats::peer_chat(message.peer) {
        Some(chat) => (NotifyScope::Chat(chat), NotifyScope::Chats),
        None => (NotifyScope::User(sender_id), NotifyScope::Users),
    };
    let (devices, sender, peer, default) = server
        .store
        .run(move |s| {
            let devices = s.devices(user)?;
            if devices.is_empty() {
                return Ok((devices, None, None, None));
            }
            Ok((
                devices,
                s.user(sender_id)?,
                s.notify_settings(user, scope)?,
                s.notify_settings(user, default_scope)?,
            ))
        })
        .await?;
    if devices.is_empty() {
        return Ok(());
    }
    // Devices registered by an authorization that was since logged out or reset get
    // nothing, and are forgotten.
    let (live, stale) = live_devices(server, user, devices);
    forget(server, stale).await?;
    if live.is_empty() {
        return Ok(());
    }
    let settings = peer.unwrap_or_default().or(&default.unwrap_or_default());
    let Some(shown) = presentation(&settings, unix_now()) else {
        tracing::debug!(user_id = user, sender_id, "push skipped: the chat is muted");
        return Ok(());
    };
    let sender_name = sender
        .map(|u| full_name(&u.first_name, &u.last_name))
        .unwrap_or_default();
    server
        .push
        .send_waiting(Notification {
            user_id: user,
            devices: live.into_iter().map(Target::from).collect(),
            sender_id: Some(sender_id),
            sender_name,
            channel: None,
            message_id: message.id,
            date: message.date,
            preview: if shown.show_preview {
                preview(&message)
            } else {
                String::new()
            },
            silent: shown.silent,
        })
        .await;
    Ok(())
}

/// After a post committed in a broadcast channel or a megagroup: a notification for every
/// member (the author left out) who has a device, no online session, and has not muted the
/// channel. Returns at once: the members are read in one query, and the notifications
/// queued, in a background job; nothing is written per member.
pub fn notify_channel_post(server: &Arc<Node>, channel: &Channel, post: &ChannelMessage) {
    let job_server = server.clone();
    let (channel, post) = (channel.clone(), post.clone());
    server.push.spawn_job("channel post", async move {
        let (channel_id, post_id) = (channel.id, post.id);
        if let Err(e) = notify_channel(&job_server, channel, post).await {
            tracing::warn!(channel_id, post_id, "push notifications for a post: {e}");
        }
    });
}

async fn notify_channel(
    server: &Arc<Node>,
    channel: Channel,
    post: ChannelMessage,
) -> Result<(), StoreError> {
    let (id, broadcast, author) = (channel.id, channel.broadcast, post.from_id);
    let default = NotifyScope::Channel(id).default_of(broadcast);
    let (recipients, author_user) = server
        .store
        .run(move |s| {
            let recipients = s.channel_push_recipients(id, default)?;
            let author = if broadcast || recipients.is_empty() {
                None
            } else {
                s.user(author)?
            };
            Ok((recipients, author))
        })
        .await?;
    let (sender_id, sender_name) = if broadcast {
        (None, channel.title.clone())
    } else {
        (
            Some(author),
            author_user
                .map(|u| full_name(&u.first_name, &u.last_name))
                .unwrap_or_default(),
        )
    };
    let origin = ChannelOrigin {
        id,
        title: channel.title.clone(),
        broadcast,
    };
    let text = preview_of(&post.text, post.media);
    let now = unix_now();
    let online = server
        .online_anywhere(recipients.iter().map(|r| r.user_id).collect())
        .await;
    let (mut sent, mut stale) = (0usize, Vec::new());
    for recipient in recipients {
        let user = recipient.user_id;
        if user == author || online.contains(&user) {
            continue;
        }
        let Some(shown) = presentation(&recipient.effective(), now) else {
            continue;
        };
        let (live, dead) = live_devices(server, user, recipient.devices);
        stale.extend(dead);
        if live.is_empty() {
            continue;
        }
        let queued = server
            .push
            .send_waiting(Notification {
                user_id: user,
                devices: live.into_iter().map(Target::from).collect(),
                sender_id,
                sender_name: sender_name.clone(),
                channel: Some(origin.clone()),
                message_id: post.id,
                date: post.date,
                preview: if shown.show_preview {
                    text.clone()
                } else {
                    String::new()
                },
                silent: shown.silent,
            })
            .await;
        sent += usize::from(queued);
    }
    tracing::debug!(
        channel_id = id,
        post_id = post.id,
        sent,
        "post notifications queued"
    );
    forget(server, stale).await
}
