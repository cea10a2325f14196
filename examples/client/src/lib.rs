//! What the client examples in `src/bin/` share: the flags that say which server to talk to
//! and where the session lives, signing in at the terminal, display names of peers, and
//! progress bars with the transfer speed.
//!
//! Each example is a small program built on [`client_sdk`]; read them in this order:
//! `custom-types` (connect and call), `echo-bot` (sign in, updates), `upload` and `download`
//! (files), `chat` (all of it).

use client_sdk::api::{enums, functions, types};
use client_sdk::{
    Client, Config, FileSessionStore, MemorySessionStore, PasswordError, PeerKind, SignInError,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines, Stdin};

/// The error type of the examples: anything, with its message.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Which server to connect to and how (flattened into each example's flags).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Your own server's `host:port` (used together with `--key`).
    #[arg(long, default_value = "127.0.0.1:4430")]
    pub server: String,
    /// Your own server's RSA public key (PEM), e.g. server-kit's `DATA/rsa-public.pem`.
    /// Without it the example talks to Telegram's production servers with Telegram's key
    /// (and then needs `--api-id` and `--api-hash`).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Where the session (auth key, signed-in user, update state, peers) is kept between
    /// runs.
    #[arg(long, value_name = "PATH")]
    pub session: Option<PathBuf>,
    /// The app's api_id from my.telegram.org.
    #[arg(long)]
    pub api_id: Option<i32>,
    /// The app's api_hash from my.telegram.org.
    #[arg(long)]
    pub api_hash: Option<String>,
}

impl ConnectArgs {
    /// The client configuration these flags describe. The session is kept in `--session`,
    /// else in `default_session`, else only in memory.
    pub fn config(&self, default_session: Option<&str>) -> Result<Config, Error> {
        let session: Arc<dyn client_sdk::SessionStore> = match self
            .session
            .clone()
            .or_else(|| default_session.map(PathBuf::from))
        {
            Some(path) => Arc::new(FileSessionStore::new(path)),
            None => Arc::new(MemorySessionStore::default()),
        };
        let mut config = match &self.key {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the server key {}: {e}", path.display()))?;
                let key = client_sdk::RsaPublicKey::from_pem(&pem)
                    .map_err(|e| format!("{}: not an RSA public key: {e:?}", path.display()))?;
                Config::for_server(2, self.server.clone(), key, session)
            }
            None => {
                if self.api_id.is_none() || self.api_hash.is_none() {
                    return Err("Telegram's servers need --api-id and --api-hash \
                                (from my.telegram.org); for your own server pass --key"
                        .into());
                }
                Config {
                    session,
                    ..Config::default()
                }
            }
        };
        if let Some(id) = self.api_id {
            config.init.api_id = id;
        }
        if let Some(hash) = &self.api_hash {
            config.api_hash = hash.clone();
        }
        Ok(config)
    }

    /// Connects with [`config`](Self::config).
    pub async fn connect(&self, default_session: Option<&str>) -> Result<Client, Error> {
        Ok(Client::connect(self.config(default_session)?).await?)
    }
}

/// How to sign in when the session is not signed in yet. Whatever is missing is asked for
/// on standard input.
#[derive(Debug, Clone, clap::Args)]
pub struct LoginArgs {
    /// The phone number to sign in with.
    #[arg(long)]
    pub phone: Option<String>,
    /// The login code (asked for when absent).
    #[arg(long)]
    pub code: Option<String>,
    /// The first name for a new account (asked for when the number has none and this is
    /// absent).
    #[arg(long)]
    pub first_name: Option<String>,
}

/// Standard input, a line at a time, with prompts.
pub struct Terminal {
    /// The lines of standard input.
    lines: Lines<BufReader<Stdin>>,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal {
            lines: BufReader::new(tokio::io::stdin()).lines(),
        }
    }
}

impl Terminal {
    /// The next line (without its newline); `None` at the end of the input.
    pub async fn line(&mut self) -> std::io::Result<Option<String>> {
        self.lines.next_line().await
    }

    /// Prints `prompt` and reads the answer, trimmed. The end of the input is an error.
    pub async fn ask(&mut self, prompt: &str) -> Result<String, Error> {
        let mut out = tokio::io::stdout();
        out.write_all(prompt.as_bytes()).await?;
        out.flush().await?;
        match self.line().await? {
            Some(line) => Ok(line.trim().to_string()),
            None => Err(format!("standard input ended while asking for {prompt:?}").into()),
        }
    }
}

/// Signs in unless the session already is: sends a code to the phone number, asks for it,
/// and creates the account if the number has none. Returns the signed-in user.
pub async fn sign_in(
    client: &Client,
    login: &LoginArgs,
    term: &mut Terminal,
) -> Result<enums::User, Error> {
    if client.is_authorized() {
        return Ok(client.get_me().await?);
    }
    let phone = match &login.phone {
        Some(phone) => phone.clone(),
        None => term.ask("Phone number: ").await?,
    };
    let token = client.request_login_code(&phone).await?;
    let mut given = login.code.clone();
    loop {
        let code = match given.take() {
            Some(code) => code,
            None => term.ask("Code: ").await?,
        };
        match client.sign_in(&token, &code).await {
            Ok(user) => return Ok(user),
            Err(SignInError::InvalidCode) if login.code.is_none() => {
                println!("That code is not right, try again.");
            }
            Err(SignInError::SignUpRequired) => {
                println!("{phone} has no account yet: signing up.");
                let first_name = match &login.first_name {
                    Some(name) => name.clone(),
                    None => term.ask("First name: ").await?,
                };
                return Ok(client.sign_up(&token, &first_name, "").await?);
            }
            Err(SignInError::PasswordRequired(token)) => {
                let prompt = match token.hint() {
                    Some(hint) => format!("Cloud password (hint: {hint}): "),
                    None => "Cloud password: ".to_string(),
                };
                loop {
                    let password = term.ask(&prompt).await?;
                    match client.check_password(&token, &password).await {
                        Ok(user) => return Ok(user),
                        Err(PasswordError::Wrong) => println!("That password is not right."),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sets the signed-in account's username (`account.updateUsername`), so others can find it
/// with `@name`.
pub async fn set_username(client: &Client, name: &str) -> Result<(), Error> {
    let user = client
        .invoke(&functions::account::UpdateUsername {
            username: name.trim_start_matches('@').to_string(),
        })
        .await?;
    client.cache_peers(&[user], &[]);
    Ok(())
}

/// A user's name as people see it: first and last name, else `@username`, else the id.
pub fn display_name(user: &enums::User) -> String {
    match user {
        enums::User::User(u) => {
            let name = [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            match (&u.username, name.is_empty()) {
                (_, false) => name,
                (Some(username), true) => format!("@{username}"),
                (None, true) => format!("user {}", u.id),
            }
        }
        enums::User::Empty(u) => format!("user {}", u.id),
    }
}

/// Display names of the users and chats met so far, fetched from the server the first time
/// one is needed. The client keeps access hashes but not names, so an application keeps
/// those itself. Shareable between tasks.
#[derive(Default)]
pub struct Names {
    /// Names by peer kind and id.
    known: Mutex<HashMap<(PeerKind, i64), String>>,
}

impl Names {
    /// Remembers a name.
    pub fn learn(&self, kind: PeerKind, id: i64, name: String) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.insert((kind, id), name);
    }

    /// Remembers the names of these users.
    pub fn learn_users(&self, users: &[enums::User]) {
        for user in users {
            let id = match user {
                enums::User::User(u) => u.id,
                enums::User::Empty(u) => u.id,
            };
            self.learn(PeerKind::User, id, display_name(user));
        }
    }

    /// The name of a peer, asking the server if it is not known yet (`users.getUsers` or
    /// `channels.getChannels`).
    pub async fn of(&self, client: &Client, peer: &enums::Peer) -> String {
        let (kind, id) = client_sdk::peer_key(peer);
        if let Some(name) = self.cached(kind, id) {
            return name;
        }
        let fetched = match kind {
            PeerKind::User => self.fetch_user(client, id).await,
            // Basic groups come with their title in dialogs (see `learn`).
            PeerKind::Chat => None,
            PeerKind::Channel => match client.peer(kind, id).and_then(|p| p.input_channel()) {
                Some(channel) => client
                    .invoke(&functions::channels::GetChannels { id: vec![channel] })
                    .await
                    .ok()
                    .and_then(|chats| chat_title(chats, id)),
                None => None,
            },
        };
        let name = fetched.unwrap_or_else(|| format!("{kind:?} {id}").to_lowercase());
        self.learn(kind, id, name.clone());
        name
    }

    /// A name met before.
    fn cached(&self, kind: PeerKind, id: i64) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.get(&(kind, id)).cloned()
    }

    /// Fetches a user (whose access hash the client has) and remembers its name.
    async fn fetch_user(&self, client: &Client, id: i64) -> Option<String> {
        let input = client.peer(PeerKind::User, id)?.input_user()?;
        let users = client
            .invoke(&functions::users::GetUsers { id: vec![input] })
            .await
            .ok()?;
        client.cache_peers(&users, &[]);
        self.learn_users(&users);
        self.cached(PeerKind::User, id)
    }
}

/// The title of chat `id` in a `messages.chats` answer.
fn chat_title(chats: enums::messages::Chats, id: i64) -> Option<String> {
    let list = match chats {
        enums::messages::Chats::Chats(c) => c.chats,
        enums::messages::Chats::Slice(c) => c.chats,
    };
    list.into_iter().find_map(|chat| match chat {
        enums::Chat::Chat(c) if c.id == id => Some(c.title),
        enums::Chat::Channel(c) if c.id == id => Some(c.title),
        enums::Chat::Forbidden(c) if c.id == id => Some(c.title),
        enums::Chat::ChannelForbidden(c) if c.id == id => Some(c.title),
        _ => None,
    })
}

/// A one-line description of a message's media, e.g. `[document report.pdf, 1.2 MiB]`.
pub fn describe_media(media: &enums::MessageMedia) -> String {
    match client_sdk::FileLocation::of_media(media) {
        Some(file) => match (media, file.name) {
            (enums::MessageMedia::Photo(_), _) => format!("[photo, {}]", human_size(file.size)),
            (_, Some(name)) => format!("[document {name}, {}]", human_size(file.size)),
            (_, None) => format!("[document, {}]", human_size(file.size)),
        },
        None => "[media]".to_string(),
    }
}

/// A document message's media, if it has a document (not a photo or anything else).
pub fn document_of(
    message: &enums::Message,
) -> Option<(&types::Message, client_sdk::FileLocation)> {
    let enums::Message::Message(m) = message else {
        return None;
    };
    match m.media.as_ref()? {
        media @ enums::MessageMedia::Document(_) => {
            Some((m, client_sdk::FileLocation::of_media(media)?))
        }
        _ => None,
    }
}

/// `bytes` as KiB / MiB / GiB.
pub fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// Mebibytes per second for `bytes` moved in `elapsed`.
pub fn mib_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64().max(1e-9)
}

/// A progress bar for a transfer of `len` bytes, drawn on standard error (and not at all
/// when that is not a terminal).
pub fn transfer_bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(label.to_string());
    bar
}

/// Logs from client-sdk on standard error: warnings by default, more with `RUST_LOG`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The helpers that need no server.
#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes and speeds print in binary units.
    #[test]
    fn sizes_and_speeds_read_well() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        let speed = mib_per_s(10 * 1024 * 1024, Duration::from_secs(2));
        assert!((speed - 5.0).abs() < 1e-9);
    }

    /// A user shows by name, else by username, else by id.
    #[test]
    fn names_prefer_the_real_name_then_the_username() {
        let mut user = types::User {
            id: 7,
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            username: Some("ada".into()),
            ..Default::default()
        };
        assert_eq!(
            display_name(&enums::User::User(user.clone())),
            "Ada Lovelace"
        );
        user.first_name = None;
        user.last_name = None;
        assert_eq!(display_name(&enums::User::User(user.clone())), "@ada");
        user.username = None;
        assert_eq!(display_name(&enums::User::User(user)), "user 7");
    }
}
