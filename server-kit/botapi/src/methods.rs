//! The Bot API methods on messages, chats and commands, each run as the bot through the
//! MTProto services (`BotApi::dispatch`), so the bot's users see exactly what an MTProto
//! bot's would make: sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage(s),
//! answerCallbackQuery, sendChatAction, getChat, setMyCommands/getMyCommands.

use crate::api::{BotApi, sent_id, store_error, user_json};
use crate::error::ApiError;
use crate::formatting;
use crate::keyboards;
use crate::params::{Params, member_int};
use mtproto_api::{enums, functions, types};
use serde_json::{Value, json};
use server_kit_core::state::random_i64;
use server_kit_store::User;
use server_kit_store::chats::chat_peer;
use tl_runtime::Deserialize;

/// The most ids one deleteMessages takes, as Telegram's.
pub const MAX_DELETE: usize = 100;

impl BotApi {
    /// The text of a call (`text`), formatted by `parse_mode` or `entities`.
    fn formatted(
        &self,
        p: &Params,
        name: &str,
    ) -> Result<(String, Option<Vec<enums::MessageEntity>>), ApiError> {
        let raw = p.string(name)?.ok_or_else(|| ApiError::missing(name))?;
        let (text, entities) = match p.array("entities")? {
            Some(entities) => (raw, formatting::entities_tl(&entities)?),
            None => formatting::parse(&raw, p.string("parse_mode")?.as_deref())?,
        };
        if text.trim().is_empty() {
            return Err(ApiError::BadRequest("message text is empty".into()));
        }
        if !formatting::fits(&text, &entities) {
            return Err(ApiError::BadRequest(
                "can't parse entities: an entity ends after the text".into(),
            ));
        }
        Ok((text, (!entities.is_empty()).then_some(entities)))
    }

    /// The `reply_markup` of a call, as the services take it.
    fn markup(p: &Params) -> Result<Option<enums::ReplyMarkup>, ApiError> {
        p.object("reply_markup")?
            .map(|m| keyboards::markup_tl(&m))
            .transpose()
    }

    /// The bot's message `id`, as the Bot API's `Message` (`what` names it in the error).
    async fn read_message(&self, bot: &User, id: i32, what: &str) -> Result<Value, ApiError> {
        let owner = bot.id;
        let message = self
            .node
            .store
            .run(move |s| s.messages(owner, &[id]))
            .await
            .map_err(store_error)?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::BadRequest(format!("{what} not found")))?;
        self.message_json(bot.id, &message, true).await
    }

    /// `sendMessage`: chat_id (a user id, `@username`, or -chat id of a basic group), text,
    /// parse_mode or entities, reply_parameters / reply_to_message_id, reply_markup. The sent
    /// `Message`.
    pub(crate) async fn send_message(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        let peer = self.input_peer(p).await?;
        let (text, entities) = self.formatted(p, "text")?;
        let reply_to = match p.object("reply_parameters")? {
            Some(reply) => member_int(&reply, "message_id")?,
            None => p.int("reply_to_message_id")?,
        };
        let reply_to = reply_to
            .map(|id| {
                i32::try_from(id)
                    .map_err(|_| ApiError::BadRequest("message to be replied not found".into()))
            })
            .transpose()?;
        let random_id = random_i64();
        let mut call = functions::messages::SendMessage::new(peer, text, random_id);
        call.reply_to = reply_to.map(|id| {
            enums::InputReplyTo::Message(types::InputReplyToMessage {
                reply_to_msg_id: id,
                ..Default::default()
            })
        });
        call.entities = entities;
        call.reply_markup = Self::markup(p)?;
        call.silent = p.flag("disable_notification")?.unwrap_or(false);
        let answer = self.dispatch(bot, call).await?;
        let id = sent_id(&answer, random_id).ok_or_else(|| {
            tracing::warn!(
                bot = bot.id,
                "bot api: sendMessage's answer names no message"
            );
            ApiError::Internal
        })?;
        self.read_message(bot, id, "message").await
    }

    /// The message a call names: chat_id and message_id (inline messages are not served).
    async fn named_message(&self, p: &Params) -> Result<(enums::InputPeer, i32), ApiError> {
        if p.string("inline_message_id")?.is_some() {
            return Err(ApiError::BadRequest(
                "inline messages are not supported".into(),
            ));
        }
        let peer = self.input_peer(p).await?;
        let id = p
            .int("message_id")?
            .ok_or_else(|| ApiError::missing("message_id"))?;
        let id = i32::try_from(id)
            .map_err(|_| ApiError::BadRequest("message to edit not found".into()))?;
        Ok((peer, id))
    }

    /// An edit through `messages.editMessage`; the edited `Message`.
    async fn edit(
        &self,
        bot: &User,
        call: functions::messages::EditMessage,
    ) -> Result<Value, ApiError> {
        let id = call.id;
        self.dispatch(bot, call).await.map_err(|e| match e {
            ApiError::BadRequest(m) if m == "MESSAGE_ID_INVALID" => {
                ApiError::BadRequest("message to edit not found".into())
            }
            other => other,
        })?;
        self.read_message(bot, id, "message to edit").await
    }

    /// `editMessageText`: chat_id, message_id, text, parse_mode or entities, reply_markup
    /// (none: the keyboard is removed, as on Telegram).
    pub(crate) async fn edit_message_text(
        &self,
        bot: &User,
        p: &Params,
    ) -> Result<Value, ApiError> {
        let (peer, id) = self.named_message(p).await?;
        let (text, entities) = self.formatted(p, "text")?;
        let mut call = functions::messages::EditMessage::new(peer, id);
        call.message = Some(text);
        call.entities = entities;
        call.reply_markup = Self::markup(p)?;
        self.edit(bot, call).await
    }

    /// `editMessageReplyMarkup`: chat_id, message_id, reply_markup (none: removed).
    pub(crate) async fn edit_message_reply_markup(
        &self,
        bot: &User,
        p: &Params,
    ) -> Result<Value, ApiError> {
        let (peer, id) = self.named_message(p).await?;
        let mut call = functions::messages::EditMessage::new(peer, id);
        call.reply_markup = Self::markup(p)?;
        self.edit(bot, call).await
    }

    /// `deleteMessage` (chat_id, message_id) or `deleteMessages` (chat_id, message_ids):
    /// the bot's copies and the user's (`revoke`).
    pub(crate) async fn delete_messages(
        &self,
        bot: &User,
        p: &Params,
        many: bool,
    ) -> Result<Value, ApiError> {
        self.input_peer(p).await?;
        let ids: Vec<i32> = if many {
            let ids = p
                .array("message_ids")?
                .ok_or_else(|| ApiError::missing("message_ids"))?;
            if ids.is_empty() || ids.len() > MAX_DELETE {
                return Err(ApiError::BadRequest(
                    "message_ids must name 1 to 100 messages".into(),
                ));
            }
            ids.iter()
                .map(|v| {
                    v.as_i64()
                        .and_then(|id| i32::try_from(id).ok())
                        .ok_or_else(|| ApiError::invalid("message_ids", "must be integers"))
                })
                .collect::<Result<_, _>>()?
        } else {
            let id = p
                .int("message_id")?
                .ok_or_else(|| ApiError::missing("message_id"))?;
            vec![
                i32::try_from(id)
                    .map_err(|_| ApiError::BadRequest("message to delete not found".into()))?,
            ]
        };
        let (owner, wanted) = (bot.id, ids.clone());
        let found = self
            .node
            .store
            .run(move |s| s.messages(owner, &wanted))
            .await
            .map_err(store_error)?;
        if found.is_empty() || (!many && found.len() != ids.len()) {
            return Err(ApiError::BadRequest("message to delete not found".into()));
        }
        let call = functions::messages::DeleteMessages {
            revoke: true,
            id: found.iter().map(|m| m.id).collect(),
        };
        self.dispatch(bot, call).await?;
        Ok(Value::Bool(true))
    }

    /// `answerCallbackQuery`: callback_query_id, text, show_alert, url, cache_time.
    pub(crate) async fn answer_callback_query(
        &self,
        bot: &User,
        p: &Params,
    ) -> Result<Value, ApiError> {
        let too_old = || {
            ApiError::BadRequest(
                "query is too old and response timeout expired or query ID is invalid".into(),
            )
        };
        let id: i64 = p
            .string("callback_query_id")?
            .ok_or_else(|| ApiError::missing("callback_query_id"))?
            .trim()
            .parse()
            .map_err(|_| too_old())?;
        let cache_time = p
            .int("cache_time")?
            .unwrap_or(0)
            .clamp(0, i64::from(i32::MAX));
        let call = functions::messages::SetBotCallbackAnswer {
            alert: p.flag("show_alert")?.unwrap_or(false),
            query_id: id,
            message: p.string("text")?.filter(|t| !t.is_empty()),
            url: p.string("url")?.filter(|u| !u.is_empty()),
            cache_time: cache_time as i32,
        };
        self.dispatch(bot, call).await.map_err(|e| match e {
            ApiError::BadRequest(m) if m == "QUERY_ID_INVALID" => too_old(),
            other => other,
        })?;
        Ok(Value::Bool(true))
    }

    /// `sendChatAction`: chat_id, action (typing, upload_photo, ...).
    pub(crate) async fn send_chat_action(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        let peer = self.input_peer(p).await?;
        let action = p
            .string("action")?
            .ok_or_else(|| ApiError::missing("action"))?;
        let action: enums::SendMessageAction = match action.as_str() {
            "typing" => enums::SendMessageAction::SendMessageTypingAction,
            "upload_photo" => types::SendMessageUploadPhotoAction { progress: 0 }.into(),
            "record_video" => enums::SendMessageAction::SendMessageRecordVideoAction,
            "upload_video" => types::SendMessageUploadVideoAction { progress: 0 }.into(),
            "record_voice" => enums::SendMessageAction::SendMessageRecordAudioAction,
            "upload_voice" => types::SendMessageUploadAudioAction { progress: 0 }.into(),
            "upload_document" => types::SendMessageUploadDocumentAction { progress: 0 }.into(),
            "choose_sticker" => enums::SendMessageAction::SendMessageChooseStickerAction,
            "find_location" => enums::SendMessageAction::SendMessageGeoLocationAction,
            "record_video_note" => enums::SendMessageAction::SendMessageRecordRoundAction,
            "upload_video_note" => types::SendMessageUploadRoundAction { progress: 0 }.into(),
            _ => {
                return Err(ApiError::BadRequest(
                    "wrong parameter action in request".into(),
                ));
            }
        };
        self.dispatch(bot, functions::messages::SetTyping::new(peer, action))
            .await?;
        Ok(Value::Bool(true))
    }

    /// `getChat`: a private chat (the user) or a basic group, as `ChatFullInfo`.
    pub(crate) async fn get_chat(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        // What every ChatFullInfo carries (the frameworks require them).
        let common = |mut chat: Value| {
            chat["accent_color_id"] = 0.into();
            chat["max_reaction_count"] = 11.into();
            chat["accepted_gift_types"] = json!({
                "unlimited_gifts": false,
                "limited_gifts": false,
                "unique_gifts": false,
                "premium_subscription": false,
                "gifts_from_channels": false,
            });
            chat
        };
        match self.input_peer(p).await? {
            enums::InputPeer::Chat(chat) => {
                let (chat_id, me) = (chat.chat_id, bot.id);
                let found = self
                    .node
                    .store
                    .run(move |s| {
                        let members = s.chat_members(chat_id)?;
                        let member = members.iter().any(|m| m.user_id == me);
                        Ok(s.chat(chat_id)?.filter(|_| member))
                    })
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| ApiError::BadRequest("chat not found".into()))?;
                Ok(common(json!({
                    "id": chat_peer(found.id),
                    "type": "group",
                    "title": found.title,
                })))
            }
            enums::InputPeer::User(user) => {
                let id = user.user_id;
                let found = self
                    .node
                    .store
                    .run(move |s| s.user(id))
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| ApiError::BadRequest("chat not found".into()))?;
                let mut chat = user_json(&found);
                if let Value::Object(fields) = &mut chat {
                    fields.remove("is_bot");
                    fields.insert("type".into(), "private".into());
                    if !found.about.is_empty() {
                        fields.insert("bio".into(), found.about.clone().into());
                    }
                }
                Ok(common(chat))
            }
            _ => Err(ApiError::BadRequest("chat not found".into())),
        }
    }

    /// The scope and language of a commands call: the default scope in every language only.
    fn command_scope(p: &Params) -> Result<(enums::BotCommandScope, String), ApiError> {
        if let Some(scope) = p.object("scope")? {
            if scope.get("type").and_then(Value::as_str) != Some("default") {
                return Err(ApiError::BadRequest(
                    "only the default command scope is supported".into(),
                ));
            }
        }
        let language = p.string("language_code")?.unwrap_or_default();
        Ok((enums::BotCommandScope::Default, language))
    }

    /// `setMyCommands`: commands (`[{command, description}]`), scope, language_code.
    pub(crate) async fn set_my_commands(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        let (scope, lang_code) = Self::command_scope(p)?;
        let commands = p
            .array("commands")?
            .ok_or_else(|| ApiError::missing("commands"))?
            .iter()
            .map(|c| {
                let text = |name: &str| c[name].as_str().map(str::to_owned);
                Ok(types::BotCommand {
                    ephemeral: false,
                    command: text("command")
                        .ok_or_else(|| ApiError::invalid("commands", "need a command each"))?,
                    description: text("description")
                        .ok_or_else(|| ApiError::invalid("commands", "need a description each"))?,
                }
                .into())
            })
            .collect::<Result<Vec<enums::BotCommand>, ApiError>>()?;
        let call = functions::bots::SetBotCommands {
            scope,
            lang_code,
            commands,
        };
        self.dispatch(bot, call).await?;
        Ok(Value::Bool(true))
    }

    /// `getMyCommands`: the bot's commands.
    pub(crate) async fn get_my_commands(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        let (scope, lang_code) = Self::command_scope(p)?;
        let answer = self
            .dispatch(bot, functions::bots::GetBotCommands { scope, lang_code })
            .await?;
        let commands = Vec::<enums::BotCommand>::from_bytes(answer).map_err(|e| {
            tracing::warn!("bot api: getBotCommands' answer: {e}");
            ApiError::Internal
        })?;
        Ok(Value::Array(
            commands
                .iter()
                .map(|c| {
                    let enums::BotCommand::BotCommand(c) = c;
                    json!({ "command": c.command, "description": c.description })
                })
                .collect(),
        ))
    }

    /// The chat `chat_id` names, as the services take it.
    pub(crate) async fn input_peer(&self, p: &Params) -> Result<enums::InputPeer, ApiError> {
        let not_found = || ApiError::BadRequest("chat not found".into());
        let user = match p.int("chat_id") {
            Ok(Some(id)) if id < 0 => {
                return Ok(types::InputPeerChat { chat_id: -id }.into());
            }
            Ok(Some(id)) => self
                .node
                .store
                .run(move |s| s.user(id))
                .await
                .map_err(store_error)?,
            Ok(None) => return Err(ApiError::missing("chat_id")),
            Err(_) => {
                let name = p.string("chat_id")?.unwrap_or_default();
                let Some(username) = name.strip_prefix('@').map(str::to_owned) else {
                    return Err(not_found());
                };
                self.node
                    .store
                    .run(move |s| s.user_by_username(&username))
                    .await
                    .map_err(store_error)?
            }
        };
        let user = user.ok_or_else(not_found)?;
        Ok(types::InputPeerUser {
            user_id: user.id,
            access_hash: user.access_hash,
        }
        .into())
    }
}
