//! The HTTP Bot API frontend (core.telegram.org/bots/api) of the server-kit reference server:
//! bots written for Telegram's Bot API, with python-telegram-bot, aiogram, grammY or telegraf,
//! run against this server by changing only their base URL.
//!
//! It is a frontend over the same node as the MTProto gateway: a call names the bot by its
//! token (the one `server-kit create-bot` printed) and runs as the bot's user through the
//! reference services ([`api`]); updates are the bot's update log, `update_id` being the pts,
//! and long polls wake when the bot's box changes ([`watch`], which hears the node's bus).
//!
//! ```no_run
//! # async fn run(builder: server_kit_core::NodeBuilder, bus: std::sync::Arc<dyn server_kit_core::bus::Bus>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use server_kit_botapi::{BotApi, BoxWatch, Offsets, Webhooks};
//! use std::sync::Arc;
//! let watch = Arc::new(BoxWatch::default());
//! let node = builder.bus(watch.wrap_bus(bus)).build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! let api = BotApi::new(node, watch, Offsets::default(), Webhooks::default());
//! tokio::spawn(server_kit_botapi::serve(listener, api));
//! # Ok(()) }
//! ```
//!
//! Served: getMe, getUpdates (long polling, `allowed_updates`), setWebhook / deleteWebhook /
//! getWebhookInfo (delivery in [`delivery`], settings in [`webhook`]), logOut, close,
//! sendMessage (parse_mode, entities, reply_parameters, reply_markup: [`keyboards`],
//! [`formatting`]), editMessageText, editMessageReplyMarkup, deleteMessage(s),
//! answerCallbackQuery, sendChatAction, getChat, setMyCommands / getMyCommands /
//! deleteMyCommands ([`methods`]). Updates: message, edited_message, callback_query.
//! Confirmed offsets ([`Offsets`]) and webhooks ([`Webhooks`]) are kept in files.

pub mod api;
pub mod delivery;
pub mod error;
pub mod formatting;
pub mod http;
pub mod keyboards;
pub mod methods;
pub mod offsets;
pub mod params;
pub mod watch;
pub mod webhook;

pub use api::BotApi;
pub use error::ApiError;
pub use http::serve;
pub use offsets::Offsets;
pub use watch::BoxWatch;
pub use webhook::Webhooks;
