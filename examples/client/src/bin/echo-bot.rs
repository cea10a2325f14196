//! `echo-bot`: replies to every private message it receives with the same text.
//!
//! Signs in as a bot with `--bot-token` (from @BotFather on Telegram; on the reference server
//! from its `create-bot` command), or as a user with a phone number and code (`--username`
//! then gives the account a name people can find it by).
//!
//! ```text
//! TOKEN=$(cargo run -q -p server-kit -- create-bot --data /tmp/srv echo_bot "Echo Bot")
//! cargo run -p client-examples --bin echo-bot -- --key /tmp/srv/rsa-public.pem \
//!     --session echo.session --bot-token "$TOKEN"
//! cargo run -p client-examples --bin echo-bot -- --key /tmp/srv/rsa-public.pem \
//!     --session echo-user.session --phone +15550009 --username echo_bot
//! ```

use clap::Parser;
use client_examples::{ConnectArgs, Error, LoginArgs, Terminal, display_name, set_username};
use client_sdk::api::enums;

/// Replies to every private message with the same text.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which server, and where the session is kept.
    #[command(flatten)]
    connect: ConnectArgs,
    /// How to sign in if the session is not signed in yet.
    #[command(flatten)]
    login: LoginArgs,
    /// Sign in as a bot with this token instead of a phone number.
    #[arg(long)]
    bot_token: Option<String>,
    /// Set the account's username after signing in.
    #[arg(long)]
    username: Option<String>,
}

/// Connects, signs in, and echoes private messages until stopped.
#[tokio::main]
async fn main() -> Result<(), Error> {
    client_examples::init_logging();
    let args = Args::parse();
    let client = args.connect.connect(Some("echo-bot.session")).await?;
    let me = match &args.bot_token {
        Some(token) if !client.is_authorized() => client.bot_sign_in(token).await?,
        _ => client_examples::sign_in(&client, &args.login, &mut Terminal::default()).await?,
    };
    if let Some(name) = &args.username {
        set_username(&client, name).await?;
    }
    client.save_session()?;
    println!("echo-bot running as {}; Ctrl-C stops it", display_name(&me));

    while let Some(update) = client.next_update().await {
        let enums::Update::NewMessage(update) = update else {
            continue;
        };
        let enums::Message::Message(m) = update.message else {
            continue;
        };
        // Our own replies come back as updates too; groups and media-only messages are
        // left alone.
        if m.out || m.message.is_empty() || !matches!(m.peer_id, enums::Peer::User(_)) {
            continue;
        }
        let Some(peer) = client.peer_of(&m.peer_id) else {
            eprintln!("no access hash for {:?}: cannot reply", m.peer_id);
            continue;
        };
        match client.send_message(&peer, &m.message).await {
            Ok(_) => println!("echoed {:?} to user {}", m.message, peer.id),
            Err(e) => eprintln!("cannot reply to user {}: {e}", peer.id),
        }
    }
    Ok(())
}
