//! The Bot API methods over the node: the token names the bot, and the bot calls the MTProto
//! services as its own user ([`Node::dispatch`]), so a message sent here is sent exactly as a
//! bot signed in over MTProto would send it (pts, pushes to the recipient, push
//! notifications).
//!
//! Updates are the bot's own update log: `update_id` is the pts of the log entry, so updates
//! survive restarts with the store, and `offset` confirms every entry below it.

use crate::error::ApiError;
use crate::offsets::Offsets;
use crate::params::Params;
use crate::watch::BoxWatch;
use crate::webhook::Webhooks;
use mtproto_api::enums;
use serde_json::{Map, Value, json};
use server_kit_core::Node;
use server_kit_core::rpc::Caller;
use server_kit_core::state::unix_now;
use server_kit_reference::bot_token::BotToken;
use server_kit_reference::services::callbacks::chat_instance;
use server_kit_store::chats::peer_chat;
use server_kit_store::{Change, LoggedChange, Message, StoreError, User};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tl_runtime::{Deserialize, RemoteCall, Serialize};
use tokio::time::Instant;

/// Updates older than this are not delivered (Telegram keeps them 24 hours).
const UPDATE_LIFETIME_SECS: i32 = 24 * 60 * 60;
/// Log entries read per store call while collecting updates.
const LOG_PAGE: usize = 100;
/// Store calls per `getUpdates` answer at most (entries that are no update are skipped).
const LOG_PAGES: usize = 8;
/// The longest `getUpdates` timeout (seconds), as Telegram's.
pub const MAX_POLL_TIMEOUT: i64 = 50;

/// The update kinds this server delivers (what `allowed_updates` may name of them).
pub const UPDATE_KINDS: [&str; 3] = ["message", "edited_message", "callback_query"];

/// The Bot API over one node.
pub struct BotApi {
    pub(crate) node: Arc<Node>,
    pub(crate) watch: Arc<BoxWatch>,
    /// Per bot: the pts below which every update is confirmed (or was never an update).
    pub(crate) offsets: Offsets,
    /// Per bot: the getUpdates call that runs (a later one ends it with 409).
    polls: Mutex<HashMap<i64, u64>>,
    /// Numbers getUpdates calls.
    next_poll: AtomicU64,
    /// Per bot: the `allowed_updates` of its getUpdates calls (empty: every kind).
    allowed: Mutex<HashMap<i64, Vec<String>>>,
    /// The bots' webhooks.
    pub(crate) webhooks: Webhooks,
    /// Per bot: its webhook's delivery task.
    pub(crate) deliveries: Mutex<HashMap<i64, tokio::task::AbortHandle>>,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi").finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A store failure: logged, and an internal error to the bot.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    tracing::warn!("bot api: store: {e}");
    ApiError::Internal
}

impl BotApi {
    /// The Bot API over `node`, whose box changes `watch` hears (see [`BoxWatch`]), keeping
    /// the bots' confirmed offsets in `offsets` ([`Offsets::load`] for a file, or
    /// `Offsets::default()` for memory only) and their webhooks in `webhooks`
    /// ([`Webhooks::load`], or `Webhooks::default()`). Starts delivering to the webhooks
    /// already set: call it inside a tokio runtime.
    pub fn new(
        node: Arc<Node>,
        watch: Arc<BoxWatch>,
        offsets: Offsets,
        webhooks: Webhooks,
    ) -> Arc<Self> {
        let api = Arc::new(BotApi {
            node,
            watch,
            offsets,
            polls: Mutex::new(HashMap::new()),
            next_poll: AtomicU64::new(0),
            allowed: Mutex::new(HashMap::new()),
            webhooks,
            deliveries: Mutex::new(HashMap::new()),
        });
        for bot in api.webhooks.bots() {
            api.start_delivery(bot);
        }
        api
    }

    /// Answers `method` (any case) for the bot whose token is `token`: the `result`.
    pub async fn call(
        self: &Arc<Self>,
        token: &str,
        method: &str,
        params: Params,
    ) -> Result<Value, ApiError> {
        let bot = self.bot(token).await?;
        let p = &params;
        match method.to_ascii_lowercase().as_str() {
            "getme" => Ok(me_json(&bot)),
            "getupdates" => self.get_updates(&bot, p).await,
            "setwebhook" => self.set_webhook(&bot, p).await,
            "deletewebhook" => self.delete_webhook(&bot, p).await,
            "getwebhookinfo" => self.webhook_info(&bot).await,
            "logout" => {
                // This server keeps no session for a bot beyond its webhook and its poll.
                self.delete_webhook(&bot, &Params::default()).await?;
                self.end_poll(bot.id);
                Ok(Value::Bool(true))
            }
            "close" => {
                self.end_poll(bot.id);
                Ok(Value::Bool(true))
            }
            "sendmessage" => self.send_message(&bot, p).await,
            "editmessagetext" => self.edit_message_text(&bot, p).await,
            "editmessagereplymarkup" => self.edit_message_reply_markup(&bot, p).await,
            "deletemessage" => self.delete_messages(&bot, p, false).await,
            "deletemessages" => self.delete_messages(&bot, p, true).await,
            "answercallbackquery" => self.answer_callback_query(&bot, p).await,
            "sendchataction" => self.send_chat_action(&bot, p).await,
            "getchat" => self.get_chat(&bot, p).await,
            "setmycommands" => self.set_my_commands(&bot, p).await,
            "getmycommands" => self.get_my_commands(&bot, p).await,
            "deletemycommands" => {
                let mut none = params.clone();
                none.set("commands", Value::Array(Vec::new()));
                self.set_my_commands(&bot, &none).await
            }
            _ => Err(ApiError::NotFound("method not found")),
        }
    }

    /// Runs `call` as the bot through the node's services: the answer's bytes.
    pub(crate) async fn dispatch<F: RemoteCall + Serialize>(
        &self,
        bot: &User,
        call: F,
    ) -> Result<Vec<u8>, ApiError> {
        let caller = Caller {
            key_id: 0,
            session_id: 0,
            user_id: Some(bot.id),
            layer: mtproto_api::LAYER,
        };
        self.node
            .dispatch(caller, call.to_bytes())
            .await
            .map_err(|e| ApiError::from_rpc(&e))
    }

    /// The bot whose current token `token` is (as `auth.importBotAuthorization` checks it).
    async fn bot(&self, token: &str) -> Result<User, ApiError> {
        let token: BotToken = token.parse().map_err(|_| ApiError::Unauthorized)?;
        let id = token.bot_id();
        let (hash, user) = self
            .node
            .store
            .run(move |s| Ok((s.bot_secret_hash(id)?, s.user(id)?)))
            .await
            .map_err(store_error)?;
        match (hash, user) {
            (Some(hash), Some(user)) if token.matches(&hash) => Ok(user),
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// `getUpdates`: offset (negative: keep only the last -offset), limit 1..100, timeout
    /// 0..50 s (held until an update arrives).
    async fn get_updates(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        if self.webhooks.get(bot.id).is_some() {
            return Err(ApiError::Conflict(WEBHOOK_CONFLICT));
        }
        let offset = p.int("offset")?.unwrap_or(0);
        let limit = p.int("limit")?.unwrap_or(100).clamp(1, 100) as usize;
        let timeout = p.int("timeout")?.unwrap_or(0).clamp(0, MAX_POLL_TIMEOUT) as u64;
        if let Some(kinds) = p.array("allowed_updates")? {
            let kinds = kinds
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
            lock(&self.allowed).insert(bot.id, kinds);
        }
        let allowed = lock(&self.allowed)
            .get(&bot.id)
            .cloned()
            .unwrap_or_default();
        let from = self.confirm(bot.id, offset).await?;
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let notify = self.watch.watch(bot.id);
        // This call is the bot's poll now: an earlier one still waiting ends with 409.
        let poll = self.next_poll.fetch_add(1, Ordering::Relaxed);
        self.lock_polls().insert(bot.id, poll);
        self.watch.changed(bot.id);
        loop {
            // Listening before reading: a change committed meanwhile still wakes us.
            let changed = notify.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.lock_polls().get(&bot.id) != Some(&poll) {
                return Err(ApiError::Conflict(
                    "terminated by other getUpdates request; make sure that only one bot \
                     instance is running",
                ));
            }
            if self.webhooks.get(bot.id).is_some() {
                return Err(ApiError::Conflict(WEBHOOK_CONFLICT));
            }
            let updates = self.collect(bot.id, from, limit, &allowed).await?;
            if !updates.is_empty() || Instant::now() >= deadline {
                return Ok(Value::Array(updates));
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    fn lock_polls(&self) -> std::sync::MutexGuard<'_, HashMap<i64, u64>> {
        lock(&self.polls)
    }

    /// Ends the bot's running getUpdates (it answers 409).
    pub(crate) fn end_poll(&self, bot: i64) {
        self.lock_polls().remove(&bot);
        self.watch.changed(bot);
    }

    /// Records that the bot confirmed every update below `offset` when positive, or all but
    /// the last `-offset` pending ones when negative (as Telegram); the pts to read the log
    /// from.
    pub(crate) async fn confirm(&self, bot: i64, offset: i64) -> Result<i32, ApiError> {
        let below = if offset > 0 {
            Some(i32::try_from(offset - 1).unwrap_or(i32::MAX))
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            let pending = self
                .collect(bot, self.offsets.get(bot), usize::MAX, &[])
                .await?;
            let dropped = pending.len().saturating_sub(keep);
            dropped
                .checked_sub(1)
                .and_then(|last| pending.get(last)?["update_id"].as_i64())
                .and_then(|id| i32::try_from(id).ok())
        } else {
            None
        };
        if below.is_some_and(|below| self.offsets.raise(bot, below)) {
            self.offsets.save().await;
        }
        Ok(self.offsets.get(bot))
    }

    /// Up to `limit` updates of the bot after pts `from`, of the kinds in `allowed` (empty:
    /// every kind).
    pub(crate) async fn collect(
        &self,
        bot: i64,
        from: i32,
        limit: usize,
        allowed: &[String],
    ) -> Result<Vec<Value>, ApiError> {
        let oldest = unix_now().saturating_sub(UPDATE_LIFETIME_SECS);
        let mut out = Vec::new();
        let mut after = from;
        let mut skippable = from;
        for _ in 0..LOG_PAGES {
            let (entries, messages) = self
                .node
                .store
                .run(move |s| s.changes_since(bot, after, LOG_PAGE))
                .await
                .map_err(store_error)?;
            if entries.is_empty() {
                break;
            }
            let full = entries.len() == LOG_PAGE;
            for entry in entries {
                after = entry.pts;
                let update = if entry.date >= oldest {
                    self.update_object(bot, &entry, &messages, allowed).await?
                } else {
                    None
                };
                match update {
                    Some(update) => {
                        out.push(update);
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                    None if out.is_empty() => skippable = entry.pts,
                    None => {}
                }
            }
            if !full {
                break;
            }
        }
        // Entries that are no update for the bot need not be read again (kept in memory:
        // saved with the next confirmation).
        if skippable > from {
            self.offsets.raise(bot, skippable);
        }
        Ok(out)
    }

    /// The update a log entry is for the bot, if any: `{"update_id", KIND: OBJECT}`.
    async fn update_object(
        &self,
        bot: i64,
        entry: &LoggedChange,
        messages: &[Message],
        allowed: &[String],
    ) -> Result<Option<Value>, ApiError> {
        let wanted = |kind: &str| allowed.is_empty() || allowed.iter().any(|k| k == kind);
        if let Change::BotCallbackQuery { query_id } = entry.change {
            if !wanted("callback_query") {
                return Ok(None);
            }
            let query = self.callback_json(bot, query_id).await?;
            return Ok(query.map(|q| json!({ "update_id": entry.pts, "callback_query": q })));
        }
        match update_kind(entry, messages) {
            Some((kind, message)) if wanted(kind) => {
                let object = self.message_json(bot, message, true).await?;
                Ok(Some(json!({ "update_id": entry.pts, kind: object })))
            }
            _ => Ok(None),
        }
    }

    /// A stored callback query as the Bot API's `CallbackQuery` (`None` if it is gone).
    async fn callback_json(&self, bot: i64, query_id: i64) -> Result<Option<Value>, ApiError> {
        let found = self
            .node
            .store
            .run(move |s| {
                let Some(query) = s.callback_query(query_id)? else {
                    return Ok(None);
                };
                let message = s.messages(bot, &[query.msg_id])?.into_iter().next();
                let user = s.user(query.user)?;
                Ok(Some((query, message, user)))
            })
            .await
            .map_err(store_error)?;
        let Some((query, message, user)) = found else {
            return Ok(None);
        };
        let from = match &user {
            Some(u) => user_json(u),
            None => json!({ "id": query.user, "is_bot": false, "first_name": "" }),
        };
        let mut object = json!({
            "id": query.id.to_string(),
            "from": from,
            "chat_instance": chat_instance(bot, query.user).to_string(),
            "data": String::from_utf8_lossy(&query.data),
        });
        if let Some(message) = message {
            object["message"] = self.message_json(bot, &message, false).await?;
        }
        Ok(Some(object))
    }

    /// A stored message as the Bot API's `Message`, seen by the bot; `reply_to_message` one
    /// level deep when `with_reply`.
    pub(crate) async fn message_json(
        &self,
        bot: i64,
        m: &Message,
        with_reply: bool,
    ) -> Result<Value, ApiError> {
        let chat_id = peer_chat(m.peer);
        let mut ids = vec![m.from_id];
        if chat_id.is_none() {
            ids.push(m.peer);
        }
        let reply_id = m.reply_to.filter(|_| with_reply);
        let (users, chat, replied) = self
            .node
            .store
            .run(move |s| {
                let users = s.users(&ids)?;
                let chat = chat_id.map(|id| s.chat(id)).transpose()?.flatten();
                let replied = match reply_id {
                    Some(id) => s.messages(bot, &[id])?.into_iter().next(),
                    None => None,
                };
                Ok((users, chat, replied))
            })
            .await
            .map_err(store_error)?;
        let user = |id: i64| users.iter().find(|u| u.id == id);
        let chat = match (chat_id, chat) {
            (Some(_), Some(chat)) => json!({ "id": m.peer, "type": "group", "title": chat.title }),
            (Some(_), None) => json!({ "id": m.peer, "type": "group", "title": "" }),
            (None, _) => {
                let mut chat = match user(m.peer) {
                    Some(u) => user_json(u),
                    None => json!({ "id": m.peer, "first_name": "" }),
                };
                if let Value::Object(fields) = &mut chat {
                    fields.remove("is_bot");
                    fields.insert("type".into(), "private".into());
                }
                chat
            }
        };
        let from = match user(m.from_id) {
            Some(u) => user_json(u),
            None => json!({ "id": m.from_id, "is_bot": false, "first_name": "" }),
        };
        let mut object = Map::new();
        object.insert("message_id".into(), m.id.into());
        object.insert("from".into(), from);
        object.insert("chat".into(), chat);
        object.insert("date".into(), m.date.into());
        if let Some(edit_date) = m.edit_date {
            object.insert("edit_date".into(), edit_date.into());
        }
        if !m.text.is_empty() {
            object.insert("text".into(), m.text.clone().into());
            let mut entities: Vec<Value> = stored_entities(m.entities.as_deref())
                .iter()
                .filter_map(crate::formatting::entity_json)
                .collect();
            if let Some(command) = command_entity(&m.text) {
                if !entities
                    .iter()
                    .any(|e| e["type"] == "bot_command" && e["offset"] == 0)
                {
                    entities.insert(0, command);
                }
            }
            if !entities.is_empty() {
                object.insert("entities".into(), Value::Array(entities));
            }
        }
        let keyboard = m
            .reply_markup
            .as_deref()
            .and_then(|bytes| enums::ReplyMarkup::from_bytes(bytes.to_vec()).ok());
        if let Some(keyboard) = keyboard.as_ref().and_then(crate::keyboards::markup_json) {
            object.insert("reply_markup".into(), keyboard);
        }
        if let Some(replied) = replied {
            let replied = Box::pin(self.message_json(bot, &replied, false)).await?;
            object.insert("reply_to_message".into(), replied);
        }
        Ok(Value::Object(object))
    }
}

/// What kind of update a log entry is for the bot, and its message: new and edited messages
/// from others (the bot's own messages and service messages are none).
fn update_kind<'a>(
    entry: &LoggedChange,
    messages: &'a [Message],
) -> Option<(&'static str, &'a Message)> {
    let (kind, id) = match entry.change {
        Change::NewMessage { id } => ("message", id),
        Change::EditMessage { id } => ("edited_message", id),
        _ => return None,
    };
    let message = messages.iter().find(|m| m.id == id)?;
    (!message.out && message.action.is_none()).then_some((kind, message))
}

/// 409 for getUpdates while a webhook is set.
pub(crate) const WEBHOOK_CONFLICT: &str = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

/// A message's stored entities (none if they do not decode).
fn stored_entities(bytes: Option<&[u8]>) -> Vec<enums::MessageEntity> {
    bytes
        .and_then(|b| Vec::<enums::MessageEntity>::from_bytes(b.to_vec()).ok())
        .unwrap_or_default()
}

/// The id of the message sent with `random_id`, from a sendMessage answer.
pub(crate) fn sent_id(answer: &[u8], random_id: i64) -> Option<i32> {
    match enums::Updates::from_bytes(answer.to_vec()).ok()? {
        enums::Updates::Updates(u) => u.updates.iter().find_map(|update| match update {
            enums::Update::MessageID(m) if m.random_id == random_id => Some(m.id),
            _ => None,
        }),
        enums::Updates::UpdateShortSentMessage(m) => Some(m.id),
        _ => None,
    }
}

/// A user as the Bot API's `User`.
pub fn user_json(u: &User) -> Value {
    let mut object = json!({
        "id": u.id,
        "is_bot": u.bot_info_version.is_some(),
        "first_name": u.first_name,
    });
    if !u.last_name.is_empty() {
        object["last_name"] = u.last_name.clone().into();
    }
    if let Some(username) = &u.username {
        object["username"] = username.clone().into();
    }
    object
}

/// `getMe`'s answer: the bot's `User` with the fields only getMe carries.
fn me_json(bot: &User) -> Value {
    let mut me = user_json(bot);
    me["can_join_groups"] = true.into();
    me["can_read_all_group_messages"] = false.into();
    me["supports_inline_queries"] = false.into();
    me["can_connect_to_business"] = false.into();
    me["has_main_web_app"] = false.into();
    me
}

/// The `bot_command` entity of a text that starts with a command (`/start`,
/// `/start@echo_bot args`): Telegram's clients send none, the frameworks need it.
fn command_entity(text: &str) -> Option<Value> {
    let command = text.split(char::is_whitespace).next()?;
    let name = command.strip_prefix('/')?;
    if name.is_empty()
        || !name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let length = command.encode_utf16().count();
    Some(json!({ "offset": 0, "length": length, "type": "bot_command" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_get_an_entity_in_utf16_units() {
        assert_eq!(
            command_entity("/start hello"),
            Some(json!({ "offset": 0, "length": 6, "type": "bot_command" }))
        );
        assert_eq!(command_entity("/start@echo_bot").unwrap()["length"], 15);
        assert_eq!(command_entity("hello /start"), None);
        assert_eq!(command_entity("/ start"), None);
        assert_eq!(command_entity("/"), None);
    }

    #[test]
    fn users_carry_what_the_frameworks_check() {
        let user = User {
            id: 100_005,
            access_hash: 1,
            phone: String::new(),
            first_name: "Echo".into(),
            last_name: String::new(),
            username: Some("echo_bot".into()),
            about: String::new(),
            bot_info_version: Some(1),
            last_seen: 0,
            photo: None,
            status_visibility: server_kit_store::Visibility::Everybody,
        };
        let me = me_json(&user);
        assert_eq!(me["id"], 100_005);
        assert_eq!(me["is_bot"], true);
        assert_eq!(me["first_name"], "Echo");
        assert_eq!(me["username"], "echo_bot");
        assert_eq!(me.get("last_name"), None);
        assert_eq!(me["can_join_groups"], true);
    }
}
