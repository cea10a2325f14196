//! The reference server: `cargo run --release -p server-kit -- [--listen ADDR] [--ws ADDR]
//! [--data DIR]
//! [--store sqlite:PATH|postgres://...] [--login-code CODE] [--push-webhook URL]
//! [--media file:DIR|s3://BUCKET?endpoint=URL] [--bus redis://HOST:PORT] [--metrics ADDR]
//! [--bot-api ADDR] [--web DIR [--web-listen ADDR]] [--fcm-service-account FILE] [--apns-key FILE ...] [--sms log|twilio|http ...]` (s3 and
//! redis with the cargo feature `cluster`, FCM, APNs and SMS with `providers`). `--config
//! FILE` reads the same flags from a TOML file. SIGTERM or SIGINT stops it gracefully within
//! `--shutdown-timeout SECS` (`server_kit::gateway::serve_until`); a second signal exits at
//! once.
//!
//! `server-kit create-bot [--data DIR] [--store ...] [--config FILE] USERNAME "Name"` creates
//! a bot account in the same store and prints its token instead of serving.

use clap::{CommandFactory, Parser};
use server_kit::{NodeBuilder, Options, keys, store::StoreLocation};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// A Telegram-compatible server with embedded storage.
#[derive(Debug, Parser)]
#[command(version, about, args_override_self = true)]
struct Args {
    /// Instead of serving: an administration command.
    #[command(subcommand)]
    command: Option<Command>,
    /// A TOML file of flags (`listen = "0.0.0.0:443"`, `store = "postgres://..."`): keys are
    /// the long flag names; flags on the command line win over the file.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Where to listen: MTProto on TCP, and MTProto over WebSocket (`ws://ADDR/apiws`,
    /// subprotocol `binary`, obfuscated transports) from connections that open with an HTTP
    /// `GET `, as Telegram's own ports serve both.
    #[arg(long, default_value = "127.0.0.1:4430")]
    listen: SocketAddr,
    /// Also listen here for MTProto over WebSocket only (`ws://ADDR/apiws`; may be given
    /// more than once). Plain `ws://`: put a TLS proxy in front for `wss://`.
    #[arg(long, value_name = "ADDR")]
    ws: Vec<SocketAddr>,
    /// A WebSocket client must finish its upgrade request within this many seconds (from
    /// its first byte on --listen, from the connect on --ws), or it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    ws_upgrade_timeout: u64,
    /// Where data lives (database, RSA keys, media).
    #[arg(long, default_value = "./data", global = true)]
    data: PathBuf,
    /// The store: `sqlite:PATH` (default: the SQLite file in --data) or
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE`, shared by several server nodes
    /// (build with the cargo feature `postgres`).
    #[arg(long, value_name = "sqlite:PATH | postgres://...", global = true)]
    store: Option<StoreLocation>,
    /// Development login: every login code is CODE (and no SMS is sent). Without it codes
    /// are random and go to the log through the SMS provider.
    #[arg(long, value_name = "CODE")]
    login_code: Option<String>,
    /// The address given to clients in help.getConfig (default: the listen address).
    #[arg(long)]
    public_addr: Option<SocketAddr>,
    /// The DC id this server calls itself.
    #[arg(long, default_value_t = 2)]
    dc: i32,
    /// Key exchanges allowed per client IP per minute.
    #[arg(long, default_value_t = 600)]
    handshakes_per_minute: u32,
    /// Login codes (auth.sendCode) allowed per phone number per hour, counted across all
    /// nodes (then FLOOD_WAIT_X).
    #[arg(long, default_value_t = 10)]
    codes_per_phone_per_hour: u32,
    /// Calls each signed-in user may make per second on this node in the long run, then
    /// FLOOD_WAIT_X (0, the default: no limit; deploy/node.toml sets 100); file parts do not
    /// count.
    #[arg(long, default_value_t = 0)]
    user_calls_per_second: u32,
    /// Calls a user may make at once after a quiet time, before --user-calls-per-second
    /// applies.
    #[arg(long, default_value_t = 500)]
    user_call_burst: u32,
    /// Open connections allowed per client IP.
    #[arg(long, default_value_t = 1024)]
    connections_per_ip: usize,
    /// A client more than this many updates behind gets updates.differenceTooLong.
    #[arg(long, default_value_t = 10_000)]
    difference_too_long: i32,
    /// Push notifications for offline users go to URL as a JSON POST (http:// only),
    /// retried with backoff (for every device, or those FCM and APNs do not serve). Without
    /// it they go to the log.
    #[arg(long, value_name = "URL")]
    push_webhook: Option<String>,
    /// How log lines are written (to stderr): `text` for people, `json` (one object per
    /// line: timestamp, level, target, fields) for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// On SIGTERM or SIGINT the server stops accepting, finishes the calls in flight and
    /// sends their answers, delivers pending push notifications and bus notices, then exits
    /// 0; this bounds that wait (seconds; closing connections may take one more). A second
    /// signal exits at once.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    shutdown_timeout: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics, with /healthz (the process runs) and
    /// /readyz (the store answers, the bus is connected) beside them. Keep ADDR private,
    /// e.g. 127.0.0.1:9430: the pages are not authenticated.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Serve the HTTP Bot API (core.telegram.org/bots/api) at http://ADDR/bot<token>/<method>,
    /// for bots written with Bot API frameworks (their base URL: http://ADDR/bot). The tokens
    /// are those `create-bot` prints. Plain HTTP: put TLS in front of it for other hosts.
    #[arg(long, value_name = "ADDR")]
    bot_api: Option<SocketAddr>,
    /// Serve a web client's static files from DIR over HTTP on --web-listen, with the
    /// server's RSA public key at /server-key.pem and /config.json telling the page where
    /// MTProto over WebSocket is (the first --ws, else --public-addr or --listen) and the DC
    /// id: e.g. the chat page of examples/web, built into examples/web/dist.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    /// Where --web serves its page (http://ADDR/). Plain HTTP: put TLS in front of it (and
    /// of the WebSocket) for other hosts.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4480")]
    web_listen: SocketAddr,
    #[command(flatten)]
    deploy: server_kit::deploy::DeployArgs,
    #[command(flatten)]
    providers: server_kit::provider_flags::ProviderArgs,
}

/// The `--log-format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Administration commands: they run against the server's store and exit.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Creates a bot account and prints its token, BOT_ID:SECRET, on stdout: the only time it
    /// is shown (the store keeps the SHA-256 of its secret). Sign the bot in with it
    /// (auth.importBotAuthorization, e.g. `echo-bot --bot-token TOKEN`).
    ///
    /// A subcommand of the server rather than a tool of its own: it takes the server's
    /// --data, --store and --config, so the bot lands in exactly the store the server uses
    /// (its SQLite file, or the PostgreSQL database all nodes share), and it may run while
    /// the server runs. On Telegram, @BotFather does this.
    #[command(verbatim_doc_comment)]
    CreateBot {
        /// The bot's username: 5-32 letters, digits and _, starting with a letter, ending in
        /// "bot" (e.g. echo_bot).
        username: String,
        /// The name people see (e.g. "Echo Bot"), 1-64 characters.
        name: String,
    },
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("server-kit: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    if let Some(Command::CreateBot { username, name }) = &args.command {
        return match create_bot(&args, username, name) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    // Calls or deliveries still running past the stop's deadline are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => {
            tracing::info!("exit");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The store the server would use.
fn store_location(args: &Args) -> StoreLocation {
    args.store
        .clone()
        .unwrap_or_else(|| StoreLocation::Sqlite(args.data.join("server.sqlite3")))
}

/// `create-bot`: the token goes to stdout alone (for `TOKEN=$(server-kit create-bot ...)`),
/// the rest to the log on stderr.
fn create_bot(args: &Args, username: &str, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.data)?;
    let location = store_location(args);
    tracing::info!(store = %location, "store");
    let store = location.open()?;
    let (bot, token) = server_kit::services::bots::create_bot(&*store, username, name)?;
    tracing::info!(id = bot.id, username, "bot created");
    println!("{token}");
    Ok(())
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Before anything is recorded.
    let exporter = match args.metrics {
        Some(_) => Some(server_kit::observe::Exporter::install()?),
        None => None,
    };
    let webhook = match &args.push_webhook {
        Some(url) => Some(server_kit::push::WebhookPush::new(url)?),
        None => None,
    };
    std::fs::create_dir_all(&args.data)?;
    let rsa = keys::load_or_create(&args.data)?;
    tracing::info!(
        fingerprint = format!("{:016x}", rsa.public_key().fingerprint() as u64),
        public_key = %args.data.join("rsa-public.pem").display(),
        "RSA key"
    );
    let salt_secret = load_or_create_secret(&args.data.join("salt-secret"))?;
    let location = store_location(&args);
    tracing::info!(store = %location, "store");
    let store = tokio::task::spawn_blocking(move || location.open()).await??;
    let mut options = Options::new(args.public_addr.unwrap_or(args.listen));
    options.dc_id = args.dc;
    options.login_code = args.login_code;
    options.salt_secret = salt_secret;
    options.handshakes_per_minute = args.handshakes_per_minute;
    options.codes_per_phone_per_hour = args.codes_per_phone_per_hour;
    options.user_calls_per_second = args.user_calls_per_second;
    options.user_call_burst = args.user_call_burst;
    options.connections_per_ip = args.connections_per_ip;
    options.websocket_upgrade_timeout = std::time::Duration::from_secs(args.ws_upgrade_timeout);
    options.difference_too_long = args.difference_too_long;
    let files = args.deploy.file_storage(&args.data)?;
    let mut builder = server_kit::reference(NodeBuilder::new(options, store, files, rsa))
        .presence(args.deploy.presence(&args.data)?)
        .shared_store(args.deploy.bus.is_some());
    // The Bot API's long polls hear of changes to bots' boxes on their way to the bus
    // (committed here) and from it (committed by other nodes).
    let bus = args.deploy.bus()?;
    let box_watch = match args.bot_api {
        Some(_) => {
            let watch = Arc::new(server_kit_botapi::BoxWatch::default());
            builder = builder
                .bus(watch.wrap_bus(bus))
                .remote_changes(watch.wrap_remote(Arc::new(server_kit::services::RemotePushes)));
            Some(watch)
        }
        None => {
            builder = builder.bus(bus);
            None
        }
    };
    let fallback: Arc<dyn server_kit::push::PushProvider> = match webhook {
        Some(webhook) => {
            tracing::info!(url = webhook.url(), "push notifications go to the webhook");
            Arc::new(webhook)
        }
        None => Arc::new(server_kit::push::LogPush),
    };
    builder = builder.push(args.providers.push(fallback)?);
    if let Some(sms) = args.providers.sms()? {
        builder = builder.sms(sms);
    }
    let server = builder.build()?;
    // Scheduled messages are sent by whichever node claims them first.
    tokio::spawn(server_kit::services::scheduled_sending::run(server.clone()));
    if let (Some(addr), Some(exporter)) = (args.metrics, exporter) {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(metrics = %listener.local_addr()?, "metrics, /healthz and /readyz");
        tokio::spawn(server_kit::observe::serve(
            listener,
            exporter,
            server.clone(),
        ));
    }
    if let (Some(addr), Some(watch)) = (args.bot_api, box_watch) {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(bot_api = %listener.local_addr()?, "Bot API");
        let offsets = server_kit_botapi::Offsets::load(&args.data.join("bot-api-offsets"))?;
        let webhooks = server_kit_botapi::Webhooks::load(&args.data.join("bot-api-webhooks"))?;
        let api = server_kit_botapi::BotApi::new(server.clone(), watch, offsets, webhooks);
        tokio::spawn(server_kit_botapi::serve(listener, api));
    }
    if let Some(dir) = &args.web {
        // The page's WebSocket: a --ws port if there is one, else the main port (which
        // serves both), as clients are told to reach it.
        let ws = match args.ws.first() {
            Some(ws) => *ws,
            None => args.public_addr.unwrap_or(args.listen),
        };
        let key = std::fs::read(args.data.join("rsa-public.pem"))?;
        let site = server_kit::web::WebSite::new(dir, key, args.dc, ws)?;
        let listener = tokio::net::TcpListener::bind(args.web_listen).await?;
        tracing::info!(web = %listener.local_addr()?, dir = %dir.display(), %ws, "web client");
        tokio::spawn(server_kit::web::serve(listener, Arc::new(site)));
    }
    let stop = stop_signal()?;
    use server_kit::gateway::Accepts;
    let mut listeners = Vec::new();
    for addr in &args.ws {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(ws = %listener.local_addr()?, "serving MTProto over WebSocket at /apiws");
        listeners.push((listener, Accepts::WebSocket));
    }
    // Logged last: "serving" is the sign that every listener is bound.
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "serving");
    listeners.push((listener, Accepts::TcpAndWebSocket));
    let timeout = std::time::Duration::from_secs(args.shutdown_timeout);
    server_kit::gateway::serve_listeners_until(server, listeners, stop, timeout).await;
    Ok(())
}

/// Completes at the first SIGTERM or SIGINT (a graceful stop); a second one exits the
/// process at once, with status 1.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "stopping");
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::warn!(
                signal = name,
                "second signal: exiting without finishing the stop"
            );
            std::process::exit(1);
        });
    })
}

/// The command line, with the flags of `--config FILE` before its own. Clap's own errors
/// (and `--help`) print and exit here.
fn parse_args() -> Result<Args, server_kit::config_file::ConfigFileError> {
    let command = Args::command();
    let longs: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect();
    let args = server_kit::config_file::expand(std::env::args_os().collect(), |name| {
        longs.iter().any(|l| l == name)
    })?;
    Ok(Args::parse_from(args))
}

/// The secret server salts derive from, kept so that salts survive restarts.
fn load_or_create_secret(path: &std::path::Path) -> std::io::Result<[u8; 32]> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(secret);
        }
    }
    let secret = server_kit::state::random_array::<32>();
    std::fs::write(path, secret)?;
    Ok(secret)
}
