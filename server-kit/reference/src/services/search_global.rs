//! `messages.searchGlobal`: the words of `q` in every chat of the caller at once — their
//! private chats and basic groups (their own box) and the channels and megagroups they are a
//! member of — newest first, with `users_only`, `groups_only`, `broadcasts_only`, the filters
//! and dates of `messages.search`. Pages follow Telegram's: the answer's `next_rate` (the last
//! message's date), given back as `offset_rate` with the last message's peer and id, starts
//! the next page strictly after that message. An empty `q` with no filter finds nothing (the
//! search needs something to look for).

use super::channels::{channel_tl, post_tl};
use super::messages::channel_key;
use super::search::media_filter;
use super::{media_of, media_of_refs, message_tl, ok, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Node;
use crate::store::channels::{Channel, ChannelMessage, Member};
use crate::store::chats::peer_chat;
use crate::store::{HistoryQuery, MediaFilter, Message, SearchQuery};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The global search service.
#[derive(Debug, Clone, Copy)]
pub struct SearchGlobalService;

service!(SearchGlobalService {
    functions::messages::SearchGlobal => search_global,
});

/// One match, from the caller's box or a channel.
enum Found {
    /// A message of a private chat or a basic group.
    Own(Message),
    /// A channel post (the channel is the index into the caller's channels).
    Post(usize, ChannelMessage),
}

/// Where a match stands in the newest-first order: date, peer, id (ids of different chats
/// may meet within one second; the peer decides between them).
type Key = (i32, i64, i32);

impl Found {
    fn key(&self, channels: &[(Channel, Member)]) -> Key {
        match self {
            Found::Own(m) => (m.date, m.peer, m.id),
            Found::Post(at, p) => (p.date, channel_key(channels[*at].0.id), p.id),
        }
    }
}

/// Which chats the search covers.
#[derive(Debug, Clone, Copy)]
struct Scope {
    users: bool,
    groups: bool,
    broadcasts: bool,
}

impl Scope {
    fn of(call: &functions::messages::SearchGlobal) -> Self {
        if !(call.users_only || call.groups_only || call.broadcasts_only) {
            return Scope {
                users: true,
                groups: true,
                broadcasts: true,
            };
        }
        Scope {
            users: call.users_only,
            groups: call.groups_only,
            broadcasts: call.broadcasts_only,
        }
    }

    fn keeps_box_peer(self, peer: i64) -> bool {
        if peer_chat(peer).is_some() {
            self.groups
        } else {
            self.users
        }
    }

    fn keeps_channel(self, channel: &Channel) -> bool {
        if channel.broadcast {
            self.broadcasts
        } else {
            self.groups
        }
    }
}

/// The order key of the offset a page starts after (`None`: the first page).
fn offset_key(call: &functions::messages::SearchGlobal) -> Option<Key> {
    if call.offset_rate <= 0 {
        return None;
    }
    let peer = match &call.offset_peer {
        enums::InputPeer::User(p) => p.user_id,
        enums::InputPeer::UserFromMessage(p) => p.user_id,
        enums::InputPeer::Chat(p) => crate::store::chats::chat_peer(p.chat_id),
        enums::InputPeer::Channel(p) => channel_key(p.channel_id),
        enums::InputPeer::ChannelFromMessage(p) => channel_key(p.channel_id),
        _ => i64::MAX,
    };
    Some((call.offset_rate, peer, call.offset_id))
}

async fn search_global(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SearchGlobal,
) -> RpcResult {
    let me = caller.user()?;
    let scope = Scope::of(&call);
    let Some(filter) = media_filter(&call.filter) else {
        return answer(server, me, Vec::new(), &[], 0, 0).await;
    };
    if call.q.trim().is_empty() && filter == MediaFilter::Any {
        return Err(RpcError::bad_request("SEARCH_QUERY_EMPTY"));
    }
    let limit = call.limit.clamp(1, HistoryQuery::MAX_LIMIT);
    let offset = offset_key(&call);
    // Each source gives its newest matches up to the offset's second (that second included:
    // the key decides within it), as many as one page can hold.
    let max_date = match offset {
        Some((date, ..)) if call.max_date <= 0 || date < call.max_date => date.saturating_add(1),
        _ => call.max_date,
    };
    let query = SearchQuery {
        text: call.q.clone(),
        from_id: None,
        filter,
        min_date: call.min_date,
        max_date,
        page: HistoryQuery {
            limit: HistoryQuery::MAX_LIMIT,
            ..HistoryQuery::default()
        },
    };
    let (found, channels, count) = server
        .store
        .run(move |s| {
            let mut found = Vec::new();
            let mut count = 0;
            if scope.users || scope.groups {
                let (messages, total) = s.search(me, None, &query)?;
                count += total;
                found.extend(
                    messages
                        .into_iter()
                        .filter(|m| scope.keeps_box_peer(m.peer))
                        .map(Found::Own),
                );
            }
            let channels: Vec<(Channel, Member)> = s
                .channels_of(me)?
                .into_iter()
                .filter(|(ch, _)| scope.keeps_channel(ch))
                .collect();
            for (at, (ch, _)) in channels.iter().enumerate() {
                let (posts, total) = s.search_channel(ch.id, &query)?;
                count += total;
                found.extend(posts.into_iter().map(|p| Found::Post(at, p)));
            }
            Ok((found, channels, count))
        })
        .await?;
    let mut found: Vec<(Key, Found)> = found
        .into_iter()
        .map(|f| (f.key(&channels), f))
        .filter(|(key, _)| offset.is_none_or(|o| *key < o))
        .collect();
    found.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    found.truncate(limit as usize);
    let next_rate = if found.len() == limit as usize {
        found.last().map_or(0, |(key, _)| key.0)
    } else {
        0
    };
    let found = found.into_iter().map(|(_, f)| f).collect();
    answer(server, me, found, &channels, count, next_rate).await
}

/// `messages.messagesSlice` with the page, in order, and the users and chats it names.
async fn answer(
    server: &Arc<Node>,
    me: i64,
    found: Vec<Found>,
    channels: &[(Channel, Member)],
    count: i32,
    next_rate: i32,
) -> RpcResult {
    let own: Vec<&Message> = found
        .iter()
        .filter_map(|f| match f {
            Found::Own(m) => Some(m),
            Found::Post(..) => None,
        })
        .collect();
    let media = media_of(server, own.iter().copied()).await?;
    let posts_media = media_of_refs(
        server,
        found.iter().filter_map(|f| match f {
            Found::Post(_, p) => p.media,
            Found::Own(_) => None,
        }),
    )
    .await?;
    let mut users = vec![me];
    let mut group_chats = Vec::new();
    let mut seen_channels = Vec::new();
    let messages = found
        .iter()
        .map(|f| match f {
            Found::Own(m) => {
                users.extend([m.from_id, m.peer]);
                group_chats.extend(peer_chat(m.peer));
                message_tl(m, &media)
            }
            Found::Post(at, p) => {
                users.push(p.from_id);
                if !seen_channels.contains(at) {
                    seen_channels.push(*at);
                }
                post_tl(p, &channels[*at].0, me, &posts_media)
            }
        })
        .collect();
    let mut chats = super::groups::chats_tl(server, me, group_chats).await?;
    chats.extend(
        seen_channels
            .into_iter()
            .map(|at| channel_tl(&channels[at].0, Some(&channels[at].1))),
    );
    let users = users_tl(server, me, users).await?;
    ok(enums::messages::Messages::Slice(
        types::messages::MessagesSlice {
            inexact: false,
            count,
            next_rate: (next_rate > 0).then_some(next_rate),
            offset_id_offset: None,
            search_flood: None,
            messages,
            topics: Vec::new(),
            chats,
            users,
        },
    ))
}
