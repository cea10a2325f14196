//! `upload`: uploads a file with a progress bar, prints the speed, and sends it to a user as
//! a document.
//!
//! ```text
//! cargo run -p client-examples --bin upload -- --key /tmp/srv/rsa-public.pem \
//!     --session alice.session ./report.pdf @bob
//! ```
//!
//! Files over 10 MiB take the big-file path; `--parts-in-flight` parts are sent at once.

use clap::Parser;
use client_examples::{ConnectArgs, Error, LoginArgs, Terminal, human_size, mib_per_s};
use std::path::PathBuf;
use std::time::Instant;

/// Uploads a file and sends it to a user.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which server, and where the session is kept.
    #[command(flatten)]
    connect: ConnectArgs,
    /// How to sign in if the session is not signed in yet.
    #[command(flatten)]
    login: LoginArgs,
    /// File parts uploaded at once.
    #[arg(long, default_value_t = 4)]
    parts_in_flight: usize,
    /// The MIME type to send the file with.
    #[arg(long, default_value = "application/octet-stream")]
    mime_type: String,
    /// A caption to send with it.
    #[arg(long, default_value = "")]
    caption: String,
    /// The file to upload.
    file: PathBuf,
    /// Who gets it: `@username`.
    to: String,
}

/// Connects, signs in, uploads with a progress bar and sends the file.
#[tokio::main]
async fn main() -> Result<(), Error> {
    client_examples::init_logging();
    let args = Args::parse();
    let mut config = args.connect.config(Some("upload.session"))?;
    config.parts_in_flight = args.parts_in_flight.max(1);
    let client = client_sdk::Client::connect(config).await?;
    client_examples::sign_in(&client, &args.login, &mut Terminal::default()).await?;
    let to = client.resolve_username(&args.to).await?;

    let size = tokio::fs::metadata(&args.file).await?.len();
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let bar = client_examples::transfer_bar(size, &format!("uploading {name}"));
    let started = Instant::now();
    let report = |done: u64, _total: u64| bar.set_position(done);
    let file = client.upload_file(&args.file, Some(&report)).await?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    println!(
        "uploaded {name} ({}) in {:.2} s: {:.1} MiB/s",
        human_size(size),
        elapsed.as_secs_f64(),
        mib_per_s(size, elapsed)
    );

    let id = client
        .send_file(&to, file, &name, &args.mime_type, &args.caption)
        .await?;
    println!("sent to {} as message {id}", args.to);
    client.save_session()?;
    Ok(())
}
