//! `chat`: a line-based terminal client. Signs in (asking for the login code, and for a
//! first name when the number has no account yet), then reads commands:
//!
//! ```text
//! /dialogs              list your chats, numbered
//! /open @username       open a chat (or `/open 3`, a number from /dialogs) and show its last 20 messages
//! /username NAME        set your own username, so others can `/open @NAME` you
//! /help                 these lines
//! /quit                 leave (the session is kept for the next run)
//! anything else         sent to the open chat
//! ```
//!
//! Incoming messages are printed as they arrive, with the sender's name, from a task reading
//! `client.next_update()` while the main task reads your lines.
//!
//! Against server-kit's reference server:
//!
//! ```text
//! cargo run -p server-kit -- --listen 127.0.0.1:4430 --data /tmp/srv --login-code 12345
//! cargo run -p client-examples --bin chat -- --key /tmp/srv/rsa-public.pem --session alice.session --phone +15550001
//! ```
//!
//! Without `--key` it talks to Telegram itself (give `--api-id` and `--api-hash`).

use clap::Parser;
use client_examples::{
    ConnectArgs, Error, LoginArgs, Names, Terminal, describe_media, display_name, set_username,
};
use client_sdk::api::enums;
use client_sdk::{Client, Dialog, PeerKind, PeerRef};
use std::sync::Arc;

/// A line-based terminal chat client.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which server, and where the session is kept.
    #[command(flatten)]
    connect: ConnectArgs,
    /// How to sign in if the session is not signed in yet.
    #[command(flatten)]
    login: LoginArgs,
}

/// How many messages `/open` shows.
const HISTORY: usize = 20;

/// The chat that lines are sent to.
struct OpenChat {
    /// Who.
    peer: PeerRef,
    /// Their name.
    name: String,
}

/// Connects, signs in, starts printing incoming messages and reads commands.
#[tokio::main]
async fn main() -> Result<(), Error> {
    client_examples::init_logging();
    let args = Args::parse();
    let client = args.connect.connect(Some("chat.session")).await?;
    let mut term = Terminal::default();
    let me = client_examples::sign_in(&client, &args.login, &mut term).await?;
    client.save_session()?;
    let names = Arc::new(Names::default());
    names.learn_users(std::slice::from_ref(&me));
    println!(
        "Signed in as {} (id {}). Type /help for the commands.",
        display_name(&me),
        client.user_id().unwrap_or_default()
    );

    tokio::spawn(print_incoming(client.clone(), names.clone()));

    let mut open: Option<OpenChat> = None;
    let mut listed: Vec<Dialog> = Vec::new();
    while let Some(line) = term.line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (command, arg) = match line.split_once(' ') {
            Some((c, a)) => (c, a.trim()),
            None => (line, ""),
        };
        let result = match command {
            "/quit" => break,
            "/help" => {
                println!(
                    "/dialogs | /open @username | /open N | /username NAME | /quit | text to send"
                );
                Ok(())
            }
            "/dialogs" => list_dialogs(&client, &names, &mut listed).await,
            "/open" => match open_chat(&client, &names, &listed, arg).await {
                Ok(chat) => {
                    open = Some(chat);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            "/username" if !arg.is_empty() => set_username(&client, arg)
                .await
                .map(|()| println!("Your username is now @{}.", arg.trim_start_matches('@'))),
            _ if command.starts_with('/') => {
                println!("Unknown command {command}; /help lists them.");
                Ok(())
            }
            _ => match &open {
                Some(chat) => client
                    .send_message(&chat.peer, line)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("cannot send to {}: {e}", chat.name).into()),
                None => {
                    println!("Open a chat first: /dialogs, then /open N or /open @username.");
                    Ok(())
                }
            },
        };
        if let Err(e) = result {
            println!("error: {e}");
        }
    }
    client.save_session()?;
    println!("Bye.");
    Ok(())
}

/// Prints every incoming message as it arrives: `Name: text` for a private chat,
/// `[Group] Name: text` otherwise.
async fn print_incoming(client: Client, names: Arc<Names>) {
    while let Some(update) = client.next_update().await {
        let message = match update {
            enums::Update::NewMessage(u) => u.message,
            enums::Update::NewChannelMessage(u) => u.message,
            _ => continue,
        };
        let enums::Message::Message(m) = message else {
            continue;
        };
        if m.out {
            continue;
        }
        let sender = m.from_id.as_ref().unwrap_or(&m.peer_id);
        let from = names.of(&client, sender).await;
        let mut text = m.message.clone();
        if let Some(media) = &m.media {
            text = format!("{} {text}", describe_media(media))
                .trim()
                .to_string();
        }
        match &m.peer_id {
            enums::Peer::User(_) => println!("{from}: {text}"),
            chat => println!("[{}] {from}: {text}", names.of(&client, chat).await),
        }
    }
}

/// `/dialogs`: prints the dialog list, numbered for `/open N`.
async fn list_dialogs(
    client: &Client,
    names: &Names,
    listed: &mut Vec<Dialog>,
) -> Result<(), Error> {
    listed.clear();
    let mut dialogs = client.iter_dialogs();
    while let Some(dialog) = dialogs.next().await? {
        names.learn(dialog.peer.kind, dialog.peer.id, dialog.name.clone());
        listed.push(dialog);
    }
    if listed.is_empty() {
        println!("No chats yet: /open @username to start one.");
    }
    for (i, dialog) in listed.iter().enumerate() {
        let last = match &dialog.top_message {
            Some(enums::Message::Message(m)) => m.message.chars().take(40).collect(),
            _ => String::new(),
        };
        let unread = match dialog.unread_count {
            0 => String::new(),
            n => format!(" ({n} unread)"),
        };
        println!("{:>3}. {}{unread}: {last}", i + 1, dialog.name);
    }
    Ok(())
}

/// `/open @username` or `/open N`: finds the chat and prints its last messages, oldest first.
async fn open_chat(
    client: &Client,
    names: &Names,
    listed: &[Dialog],
    arg: &str,
) -> Result<OpenChat, Error> {
    let peer = match arg.parse::<usize>() {
        Ok(n) => match listed.get(n.wrapping_sub(1)) {
            Some(dialog) => dialog.peer,
            None => return Err(format!("no dialog {n}: /dialogs lists them").into()),
        },
        Err(_) if !arg.is_empty() => client.resolve_username(arg).await?,
        Err(_) => return Err("/open @username, or /open N after /dialogs".into()),
    };
    let name = names.of(client, &peer_of_ref(&peer)).await;
    let mut history = Vec::new();
    let mut iter = client.iter_messages(peer).limit(HISTORY);
    while let Some(message) = iter.next().await? {
        history.push(message);
    }
    println!("--- {name} ---");
    for message in history.iter().rev() {
        let enums::Message::Message(m) = message else {
            continue;
        };
        let from = match (&m.from_id, m.out) {
            (_, true) => "me".to_string(),
            (Some(from), false) => names.of(client, from).await,
            (None, false) => names.of(client, &m.peer_id).await,
        };
        let media = m.media.as_ref().map(describe_media).unwrap_or_default();
        println!("{from}: {}", format!("{media} {}", m.message).trim());
    }
    if let Some(last) = history.first() {
        let (id, _) = client_sdk::message_id_date(last);
        if let Err(e) = client.read_history(&peer, id).await {
            println!("(could not mark the chat read: {e})");
        }
    }
    println!("--- you are writing to {name}; /dialogs, /open, /quit ---");
    Ok(OpenChat { peer, name })
}

/// The `Peer` of a `PeerRef` (to look its name up).
fn peer_of_ref(peer: &PeerRef) -> enums::Peer {
    use client_sdk::api::types;
    match peer.kind {
        PeerKind::User => enums::Peer::User(types::PeerUser { user_id: peer.id }),
        PeerKind::Chat => enums::Peer::Chat(types::PeerChat { chat_id: peer.id }),
        PeerKind::Channel => enums::Peer::Channel(types::PeerChannel {
            channel_id: peer.id,
        }),
    }
}
