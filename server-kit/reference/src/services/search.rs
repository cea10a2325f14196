//! Message search: `messages.search` in a private chat (a user, or oneself), in every private
//! chat of the caller (`inputPeerEmpty`), or in a channel the caller may read (a member, or a
//! public channel). The words of `q` each match a word of a message by prefix, in any case
//! (see [`crate::store::search`]); `from_id` (oneself or a user), the filters
//! `inputMessagesFilterEmpty`, `Photos`, `Document` and `Url`, `min_date` / `max_date` and
//! the paging of `messages.getHistory` apply. Other filters (videos, voice notes, mentions,
//! ...) name kinds of message this server does not keep apart: they find nothing, which is
//! not an error. The answer is `messages.messages`, or `messages.messagesSlice` with the count
//! of all matches when they do not fit in the page (`messages.channelMessages` in a channel).

use super::channels::{self, channel_messages_answer};
use super::messages::messages_answer;
use super::{resolve_channel_peer, resolve_peer};
use crate::rpc::{Caller, RpcResult};
use crate::state::Node;
use crate::store::{HistoryQuery, MediaFilter, SearchQuery};
use mtproto_api::{enums, functions};
use std::sync::Arc;

/// The search service.
#[derive(Debug, Clone, Copy)]
pub struct SearchService;

service!(SearchService {
    functions::messages::Search => search,
});

/// The store's filter for a client's, or `None` for a kind of message this server does not
/// tell apart (nothing matches).
pub(crate) fn media_filter(filter: &enums::MessagesFilter) -> Option<MediaFilter> {
    use enums::MessagesFilter as F;
    match filter {
        F::InputMessagesFilterEmpty => Some(MediaFilter::Any),
        F::InputMessagesFilterPhotos => Some(MediaFilter::Photos),
        F::InputMessagesFilterDocument => Some(MediaFilter::Documents),
        F::InputMessagesFilterUrl => Some(MediaFilter::Url),
        _ => None,
    }
}

async fn search(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::Search,
) -> RpcResult {
    let me = caller.user()?;
    let from_id = match &call.from_id {
        Some(from) => Some(resolve_peer(server, me, from).await?.id),
        None => None,
    };
    let filter = media_filter(&call.filter);
    let query = SearchQuery {
        text: call.q,
        from_id,
        filter: filter.unwrap_or_default(),
        min_date: call.min_date,
        max_date: call.max_date,
        page: HistoryQuery {
            offset_id: call.offset_id,
            offset_date: 0,
            add_offset: call.add_offset,
            limit: call.limit,
            max_id: call.max_id,
            min_id: call.min_id,
        },
    };
    if let enums::InputPeer::Channel(peer) = &call.peer {
        let ch = resolve_channel_peer(server, peer).await?;
        let member = channels::readable(server, &ch, me).await?;
        let (posts, count) = match filter {
            Some(_) => {
                let id = ch.id;
                server
                    .store
                    .run(move |s| s.search_channel(id, &query))
                    .await?
            }
            None => (Vec::new(), 0),
        };
        return channel_messages_answer(server, me, &ch, member.as_ref(), posts, count, None).await;
    }
    let peer = match &call.peer {
        enums::InputPeer::Empty => None,
        other => Some(super::groups::box_peer(server, me, other).await?),
    };
    let (messages, count) = match filter {
        Some(_) => {
            server
                .store
                .run(move |s| s.search(me, peer, &query))
                .await?
        }
        None => (Vec::new(), 0),
    };
    messages_answer(server, me, messages, Some(count), None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        use enums::MessagesFilter as F;
        assert_eq!(
            media_filter(&F::InputMessagesFilterEmpty),
            Some(MediaFilter::Any)
        );
        assert_eq!(
            media_filter(&F::InputMessagesFilterPhotos),
            Some(MediaFilter::Photos)
        );
        assert_eq!(
            media_filter(&F::InputMessagesFilterDocument),
            Some(MediaFilter::Documents)
        );
        assert_eq!(
            media_filter(&F::InputMessagesFilterUrl),
            Some(MediaFilter::Url)
        );
        assert_eq!(media_filter(&F::InputMessagesFilterVoice), None);
        assert_eq!(media_filter(&F::InputMessagesFilterMyMentions), None);
    }
}
