//! `download`: downloads the latest document someone sent you, with a progress bar, and
//! prints the speed.
//!
//! With `--from @username` it looks for the newest message with a document in that chat's
//! history (`iter_messages`); without, it waits for the next incoming message with one.
//!
//! ```text
//! cargo run -p client-examples --bin download -- --key /tmp/srv/rsa-public.pem \
//!     --session bob.session --from @alice --out ./downloads
//! ```

use clap::Parser;
use client_examples::{
    ConnectArgs, Error, LoginArgs, Terminal, document_of, human_size, mib_per_s,
};
use client_sdk::api::enums;
use client_sdk::{Client, FileLocation};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Downloads the latest document sent to you.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which server, and where the session is kept.
    #[command(flatten)]
    connect: ConnectArgs,
    /// How to sign in if the session is not signed in yet.
    #[command(flatten)]
    login: LoginArgs,
    /// Look in this chat's history (`@username`) instead of waiting for a new message.
    #[arg(long)]
    from: Option<String>,
    /// The folder to save into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Continue a file of the same name left by an interrupted download, instead of saving
    /// under a new name.
    #[arg(long)]
    resume: bool,
    /// File parts downloaded at once.
    #[arg(long, default_value_t = 4)]
    parts_in_flight: usize,
}

/// Connects, signs in, finds or waits for a document and downloads it.
#[tokio::main]
async fn main() -> Result<(), Error> {
    client_examples::init_logging();
    let args = Args::parse();
    let mut config = args.connect.config(Some("download.session"))?;
    config.parts_in_flight = args.parts_in_flight.max(1);
    let client = Client::connect(config).await?;
    client_examples::sign_in(&client, &args.login, &mut Terminal::default()).await?;

    let (message_id, file) = match &args.from {
        Some(username) => find_in_history(&client, username).await?,
        None => wait_for_document(&client).await?,
    };
    let name = file
        .name
        .as_deref()
        .and_then(safe_file_name)
        .unwrap_or_else(|| format!("document-{message_id}"));
    tokio::fs::create_dir_all(&args.out).await?;
    let dest = if args.resume {
        args.out.join(&name)
    } else {
        unused_path(&args.out, &name)
    };

    let bar = client_examples::transfer_bar(file.size, &format!("downloading {name}"));
    // The first report says how much an earlier, interrupted run already had.
    let resumed_from = AtomicU64::new(u64::MAX);
    let report = |done: u64, _total: u64| {
        let _ = resumed_from.compare_exchange(u64::MAX, done, Ordering::Relaxed, Ordering::Relaxed);
        bar.set_position(done);
    };
    let started = Instant::now();
    let size = client.download_file(&file, &dest, Some(&report)).await?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let fetched = size.saturating_sub(resumed_from.load(Ordering::Relaxed).min(size));
    println!(
        "saved {} ({}) in {:.2} s: {:.1} MiB/s",
        dest.display(),
        human_size(size),
        elapsed.as_secs_f64(),
        mib_per_s(fetched, elapsed)
    );
    client.save_session()?;
    Ok(())
}

/// The newest message with a document in the chat with `username`.
async fn find_in_history(client: &Client, username: &str) -> Result<(i32, FileLocation), Error> {
    let peer = client.resolve_username(username).await?;
    let mut messages = client.iter_messages(peer);
    while let Some(message) = messages.next().await? {
        if let Some((m, file)) = document_of(&message) {
            return Ok((m.id, file));
        }
    }
    Err(format!("no document in the chat with {username}").into())
}

/// The next incoming message with a document.
async fn wait_for_document(client: &Client) -> Result<(i32, FileLocation), Error> {
    println!("Waiting for a message with a document (send one to this account)...");
    while let Some(update) = client.next_update().await {
        let message = match update {
            enums::Update::NewMessage(u) => u.message,
            enums::Update::NewChannelMessage(u) => u.message,
            _ => continue,
        };
        if let Some((m, file)) = document_of(&message) {
            if !m.out {
                return Ok((m.id, file));
            }
        }
    }
    Err("the client stopped before a document arrived".into())
}

/// The sender's file name, if it is a plain name (no folders, not `.` or `..`).
fn safe_file_name(name: &str) -> Option<String> {
    let name = Path::new(name).file_name()?.to_str()?;
    (!name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\']))
        .then(|| name.to_string())
}

/// `dir/name`, or `dir/name.1`, `dir/name.2`, ... if that is taken.
fn unused_path(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.join(name);
    let mut n = 0;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{name}.{n}"));
    }
    path
}
