//! Callback buttons: a user presses one (`messages.getBotCallbackAnswer`), the bot is told
//! (`updateBotCallbackQuery`; a Bot API bot gets a `callback_query`), answers
//! (`messages.setBotCallbackAnswer`), and the user's call returns that answer, or
//! `BOT_RESPONSE_TIMEOUT` after [`ANSWER_WAIT`].
//!
//! The query is stored with an entry in the bot's box (`store::callbacks`), so the bot's
//! node, whichever it is, hears of it through the bus like of a message; the answer is
//! stored on the query, and the node the user waits on reads it from the store, so the two
//! may be on different nodes. Private chats with the bot only (a group's buttons are
//! `PEER_ID_INVALID` for now).

use super::markup::{callback_data, is_bot, markup_tl};
use super::{bool_true, box_peer_tl, ok, push_committed, updates_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_i64, unix_now};
use crate::store::{CallbackAnswer, CallbackQuery, Committed};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use std::time::Duration;

/// How long a user's press waits for the bot's answer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(6);
/// How often the waiting press looks for the answer in the store.
const ANSWER_POLL: Duration = Duration::from_millis(100);
/// The longest answer text, as Telegram's.
pub const MAX_ANSWER_LENGTH: usize = 200;

/// The callback button service.
#[derive(Debug, Clone, Copy)]
pub struct CallbacksService;

service!(CallbacksService {
    functions::messages::GetBotCallbackAnswer => get_bot_callback_answer,
    functions::messages::SetBotCallbackAnswer => set_bot_callback_answer,
});

/// The `chat_instance` of the chat between `bot` and `user`: the same for every query of
/// that chat, different between chats.
pub fn chat_instance(bot: i64, user: i64) -> i64 {
    (bot.rotate_left(17) ^ user.rotate_left(41) ^ 0x5bd1_e995) & i64::MAX
}

async fn get_bot_callback_answer(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetBotCallbackAnswer,
) -> RpcResult {
    let me = caller.user()?;
    if call.game {
        return Err(RpcError::bad_request("DATA_INVALID"));
    }
    let bot = match &call.peer {
        enums::InputPeer::User(_) | enums::InputPeer::UserFromMessage(_) => {
            super::resolve_peer(server, me, &call.peer).await?
        }
        _ => return Err(RpcError::bad_request("PEER_ID_INVALID")),
    };
    if bot.bot_info_version.is_none() {
        return Err(RpcError::bad_request("BOT_INVALID"));
    }
    let (bot_id, msg_id) = (bot.id, call.msg_id);
    let (message, bot_copy) = server
        .store
        .run(move |s| {
            let message = s.messages(me, &[msg_id])?.into_iter().next();
            Ok((message, s.peer_copy(me, msg_id)?))
        })
        .await?;
    let message = message
        .filter(|m| m.peer == bot_id && m.from_id == bot_id)
        .ok_or_else(|| RpcError::bad_request("MESSAGE_ID_INVALID"))?;
    let data = call.data.map(|d| d.to_vec()).unwrap_or_default();
    let pressable = markup_tl(message.reply_markup.as_deref())
        .is_some_and(|markup| callback_data(&markup).contains(&&data[..]));
    if !pressable {
        return Err(RpcError::bad_request("DATA_INVALID"));
    }
    let bot_copy = bot_copy.ok_or_else(|| RpcError::bad_request("MESSAGE_ID_INVALID"))?;
    let query = CallbackQuery {
        id: random_i64(),
        bot: bot_id,
        user: me,
        msg_id: bot_copy,
        peer: me,
        data,
        date: unix_now(),
        answer: None,
    };
    let id = query.id;
    let committed = server
        .store
        .run(move |s| s.add_callback_query(&query))
        .await?;
    push_committed(server, &caller, &[committed]).await;
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        let found = server.store.run(move |s| s.callback_query(id)).await?;
        if let Some(answer) = found.and_then(|q| q.answer) {
            return ok(answer_tl(answer));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RpcError::bad_request("BOT_RESPONSE_TIMEOUT"));
        }
        tokio::time::sleep(ANSWER_POLL).await;
    }
}

/// A stored answer as the user's call returns it.
fn answer_tl(answer: CallbackAnswer) -> enums::messages::BotCallbackAnswer {
    types::messages::BotCallbackAnswer {
        alert: answer.alert,
        has_url: !answer.url.is_empty(),
        native_ui: false,
        message: (!answer.message.is_empty()).then_some(answer.message),
        url: (!answer.url.is_empty()).then_some(answer.url),
        cache_time: answer.cache_time,
    }
    .into()
}

async fn set_bot_callback_answer(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SetBotCallbackAnswer,
) -> RpcResult {
    let me = caller.user()?;
    if !is_bot(server, me).await? {
        return Err(RpcError::bad_request("USER_BOT_REQUIRED"));
    }
    let message = call.message.unwrap_or_default();
    if message.chars().count() > MAX_ANSWER_LENGTH {
        return Err(RpcError::bad_request("MESSAGE_TOO_LONG"));
    }
    let answer = CallbackAnswer {
        message,
        alert: call.alert,
        url: call.url.unwrap_or_default(),
        cache_time: call.cache_time.max(0),
    };
    let id = call.query_id;
    let answered = server
        .store
        .run(move |s| s.answer_callback_query(id, me, &answer))
        .await?;
    if !answered {
        return Err(RpcError::bad_request("QUERY_ID_INVALID"));
    }
    bool_true()
}

/// The `Updates` that tell a bot's sessions of a callback query logged in its box, `None`
/// if the query is gone. Not a pts update (see `update_tl`): the bot's clients find their
/// pts one behind at their next update and catch up with getDifference, which skips it.
pub(crate) async fn query_updates(server: &Arc<Node>, c: &Committed) -> Option<enums::Updates> {
    let crate::store::Change::BotCallbackQuery { query_id } = c.entry.change else {
        return None;
    };
    let query = server
        .store
        .run(move |s| s.callback_query(query_id))
        .await
        .ok()??;
    let update = types::UpdateBotCallbackQuery {
        query_id: query.id,
        user_id: query.user,
        peer: box_peer_tl(query.peer),
        msg_id: query.msg_id,
        chat_instance: chat_instance(query.bot, query.user),
        data: Some(query.data.into()),
        game_short_name: None,
    };
    updates_tl(server, c.user_id, vec![update.into()], vec![query.user])
        .await
        .ok()
}
