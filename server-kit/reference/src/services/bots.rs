//! Bot accounts: creating one ([`create_bot`], what the binary's `create-bot` command runs),
//! signing in with its token (`auth.importBotAuthorization`), and the methods bots may not
//! call ([`USER_ONLY`]).
//!
//! A signed-in bot is otherwise an account like any other: private messages sent to it reach
//! it as pushed updates, and it answers with `messages.sendMessage`.

use crate::bot_token::BotToken;
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_i64};
use crate::store::{BotCommand, Store, StoreError, User};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Identifiable;

/// The sign-in of bots.
#[derive(Debug, Clone, Copy)]
pub struct BotService;

service!(BotService {
    functions::auth::ImportBotAuthorization => import_bot_authorization,
    functions::bots::SetBotCommands => set_bot_commands,
    functions::bots::GetBotCommands => get_bot_commands,
});

/// The most commands a bot may have, as Telegram's.
pub const MAX_COMMANDS: usize = 100;

/// A command list as `bots.setBotCommands` takes it, checked as Telegram checks it: 1 to 32
/// lowercase letters, digits and `_` (a leading `/` dropped), a description of 1 to 256
/// characters, at most [`MAX_COMMANDS`].
pub fn checked_commands(commands: &[enums::BotCommand]) -> Result<Vec<BotCommand>, RpcError> {
    if commands.len() > MAX_COMMANDS {
        return Err(RpcError::bad_request("BOT_COMMANDS_TOO_MUCH"));
    }
    commands
        .iter()
        .map(|c| {
            let enums::BotCommand::BotCommand(c) = c;
            let command = c.command.strip_prefix('/').unwrap_or(&c.command);
            let valid = (1..=32).contains(&command.len())
                && command
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !valid {
                return Err(RpcError::bad_request("BOT_COMMAND_INVALID"));
            }
            let description = c.description.trim();
            if description.is_empty() || description.chars().count() > 256 {
                return Err(RpcError::bad_request("BOT_COMMAND_DESCRIPTION_INVALID"));
            }
            Ok(BotCommand {
                command: command.to_owned(),
                description: description.to_owned(),
            })
        })
        .collect()
}

/// Only the default scope in every language: other scopes and languages are refused rather
/// than stored as if they were it.
fn check_scope(scope: &enums::BotCommandScope, lang_code: &str) -> Result<(), RpcError> {
    if !matches!(scope, enums::BotCommandScope::Default) || !lang_code.is_empty() {
        return Err(RpcError::bad_request("BOT_COMMAND_SCOPE_UNSUPPORTED"));
    }
    Ok(())
}

/// A bot's own call: `USER_BOT_REQUIRED` for a person.
async fn bot_caller(server: &Arc<Node>, caller: &Caller) -> Result<i64, RpcError> {
    let me = caller.user()?;
    if !super::markup::is_bot(server, me).await? {
        return Err(RpcError::bad_request("USER_BOT_REQUIRED"));
    }
    Ok(me)
}

async fn set_bot_commands(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::bots::SetBotCommands,
) -> RpcResult {
    let me = bot_caller(server, &caller).await?;
    check_scope(&call.scope, &call.lang_code)?;
    let commands = checked_commands(&call.commands)?;
    server
        .store
        .run(move |s| s.set_bot_commands(me, &commands))
        .await?;
    super::bool_true()
}

async fn get_bot_commands(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::bots::GetBotCommands,
) -> RpcResult {
    let me = bot_caller(server, &caller).await?;
    check_scope(&call.scope, &call.lang_code)?;
    let commands = server.store.run(move |s| s.bot_commands(me)).await?;
    super::ok(commands_tl(&commands))
}

/// Stored commands as TL.
pub(crate) fn commands_tl(commands: &[BotCommand]) -> Vec<enums::BotCommand> {
    commands
        .iter()
        .map(|c| {
            types::BotCommand {
                ephemeral: false,
                command: c.command.clone(),
                description: c.description.clone(),
            }
            .into()
        })
        .collect()
}

/// What `users.getFullUser` shows of a bot: its about text and commands.
pub(crate) async fn bot_info(
    server: &Arc<Node>,
    bot: &User,
) -> Result<Option<enums::BotInfo>, RpcError> {
    if bot.bot_info_version.is_none() {
        return Ok(None);
    }
    let id = bot.id;
    let commands = server.store.run(move |s| s.bot_commands(id)).await?;
    Ok(Some(
        types::BotInfo {
            user_id: Some(bot.id),
            description: Some(bot.about.clone()),
            commands: Some(commands_tl(&commands)),
            ..Default::default()
        }
        .into(),
    ))
}

/// Methods a bot may not call: it gets `400 BOT_METHOD_INVALID`, as on Telegram, whose
/// documentation marks them "Only users can use this method". A bot has no dialog list,
/// history or contacts of its own to browse (it learns of messages through updates), its
/// username is set by its owner (here: the operator), and it has no cloud password. Kept
/// to the methods this server implements.
pub const USER_ONLY: [(u32, &str); 26] = [
    (
        functions::messages::GetDialogs::CONSTRUCTOR_ID,
        "messages.getDialogs",
    ),
    (
        functions::messages::GetPeerDialogs::CONSTRUCTOR_ID,
        "messages.getPeerDialogs",
    ),
    (
        functions::messages::GetHistory::CONSTRUCTOR_ID,
        "messages.getHistory",
    ),
    (
        functions::contacts::GetContacts::CONSTRUCTOR_ID,
        "contacts.getContacts",
    ),
    (
        functions::contacts::ImportContacts::CONSTRUCTOR_ID,
        "contacts.importContacts",
    ),
    (
        functions::contacts::DeleteContacts::CONSTRUCTOR_ID,
        "contacts.deleteContacts",
    ),
    (functions::contacts::Block::CONSTRUCTOR_ID, "contacts.block"),
    (
        functions::contacts::Unblock::CONSTRUCTOR_ID,
        "contacts.unblock",
    ),
    (
        functions::contacts::GetBlocked::CONSTRUCTOR_ID,
        "contacts.getBlocked",
    ),
    (
        functions::contacts::Search::CONSTRUCTOR_ID,
        "contacts.search",
    ),
    (
        functions::contacts::GetStatuses::CONSTRUCTOR_ID,
        "contacts.getStatuses",
    ),
    (
        functions::account::UpdateUsername::CONSTRUCTOR_ID,
        "account.updateUsername",
    ),
    (
        functions::account::GetPassword::CONSTRUCTOR_ID,
        "account.getPassword",
    ),
    (
        functions::account::UpdatePasswordSettings::CONSTRUCTOR_ID,
        "account.updatePasswordSettings",
    ),
    (
        functions::messages::CreateChat::CONSTRUCTOR_ID,
        "messages.createChat",
    ),
    (
        functions::messages::Search::CONSTRUCTOR_ID,
        "messages.search",
    ),
    (
        functions::messages::SearchGlobal::CONSTRUCTOR_ID,
        "messages.searchGlobal",
    ),
    (
        functions::messages::GetScheduledHistory::CONSTRUCTOR_ID,
        "messages.getScheduledHistory",
    ),
    (
        functions::messages::GetScheduledMessages::CONSTRUCTOR_ID,
        "messages.getScheduledMessages",
    ),
    (
        functions::messages::DeleteScheduledMessages::CONSTRUCTOR_ID,
        "messages.deleteScheduledMessages",
    ),
    (
        functions::messages::SendScheduledMessages::CONSTRUCTOR_ID,
        "messages.sendScheduledMessages",
    ),
    (
        functions::messages::ToggleDialogPin::CONSTRUCTOR_ID,
        "messages.toggleDialogPin",
    ),
    (
        functions::messages::ReorderPinnedDialogs::CONSTRUCTOR_ID,
        "messages.reorderPinnedDialogs",
    ),
    (
        functions::messages::GetPinnedDialogs::CONSTRUCTOR_ID,
        "messages.getPinnedDialogs",
    ),
    // Secret chats: a bot can neither start one nor be asked into one (requestEncryption
    // refuses a bot peer), so it has no secret chat for the other methods to name.
    (
        functions::messages::GetDhConfig::CONSTRUCTOR_ID,
        "messages.getDhConfig",
    ),
    (
        functions::messages::RequestEncryption::CONSTRUCTOR_ID,
        "messages.requestEncryption",
    ),
];

/// A bot that cannot be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateBotError {
    /// Not a username Telegram accepts for a bot: 5 to 32 letters, digits and `_`, starting
    /// with a letter, ending in `bot` (any case).
    #[error(
        "`{0}` is not a bot username: 5-32 letters, digits and _, starting with a letter, \
         ending in \"bot\" (e.g. echo_bot)"
    )]
    BadUsername(String),
    /// An empty name, or one longer than 64 characters.
    #[error("the bot's name must be 1 to 64 characters")]
    BadName,
    /// Someone (a user or a bot) has the username.
    #[error("the username `{0}` is taken")]
    UsernameTaken(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(StoreError),
}

/// Whether `name` is a username a bot may have.
pub fn valid_bot_username(name: &str) -> bool {
    super::account::valid_username(name) && name.to_ascii_lowercase().ends_with("bot")
}

/// Creates a bot account with `username` and display name `name`: returns it and its token
/// (the only time the token exists in full: the store keeps the hash of its secret).
pub fn create_bot(
    store: &dyn Store,
    username: &str,
    name: &str,
) -> Result<(User, BotToken), CreateBotError> {
    if !valid_bot_username(username) {
        return Err(CreateBotError::BadUsername(username.to_owned()));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(CreateBotError::BadName);
    }
    let (token_for, hash) = BotToken::generate_secret();
    let user = store
        .create_bot(username, name, random_i64(), &hash)
        .map_err(|e| match e {
            StoreError::Taken { .. } => CreateBotError::UsernameTaken(username.to_owned()),
            other => CreateBotError::Store(other),
        })?;
    let token = token_for(user.id);
    Ok((user, token))
}

/// `auth.importBotAuthorization`: `api_id` and `api_hash` are not checked (as for people's
/// sign-ins); a token that is not a bot's current one is `400 ACCESS_TOKEN_INVALID`.
async fn import_bot_authorization(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::auth::ImportBotAuthorization,
) -> RpcResult {
    let invalid = || RpcError::bad_request("ACCESS_TOKEN_INVALID");
    let token: BotToken = call.bot_auth_token.parse().map_err(|_| invalid())?;
    let id = token.bot_id();
    let stored = server.store.run(move |s| s.bot_secret_hash(id)).await?;
    if !stored.is_some_and(|hash| token.matches(&hash)) {
        tracing::info!(bot = id, "a wrong bot token");
        return Err(invalid());
    }
    let user = server
        .store
        .run(move |s| s.user(id))
        .await?
        .ok_or_else(invalid)?;
    server.bind_user(caller.key_id, Some(user.id)).await?;
    tracing::info!(bot = user.id, "bot signed in");
    super::authorization(&user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BotStore;
    use server_kit_sqlite::SqliteStore;

    #[test]
    fn bot_usernames_end_in_bot() {
        for good in ["echo_bot", "EchoBot", "abcdBOT"] {
            assert!(valid_bot_username(good), "{good}");
        }
        for bad in [
            "echo",
            "bot",
            "_echobot",
            "echo bot",
            "1echobot",
            "echo_bot_",
        ] {
            assert!(!valid_bot_username(bad), "{bad}");
        }
    }

    #[test]
    fn created_bots_sign_in_with_their_token_only() {
        let store = SqliteStore::in_memory().unwrap();
        let (bot, token) = create_bot(&store, "echo_bot", " Echo ").unwrap();
        assert_eq!(bot.first_name, "Echo");
        assert_eq!(token.bot_id(), bot.id);
        let hash = store.bot_secret_hash(bot.id).unwrap().unwrap();
        assert!(token.matches(&hash));
        assert!(matches!(
            create_bot(&store, "Echo_Bot", "Other"),
            Err(CreateBotError::UsernameTaken(_))
        ));
        assert!(matches!(
            create_bot(&store, "echo", "Other"),
            Err(CreateBotError::BadUsername(_))
        ));
        assert!(matches!(
            create_bot(&store, "other_bot", "  "),
            Err(CreateBotError::BadName)
        ));
    }
}
