//! Drives the example binaries against the reference server (server-kit's binary) over
//! loopback: two `chat`s in tmux talking to each other, `echo-bot` answering a client,
//! `upload` then `download` of 5 MiB compared byte for byte, and `custom-types` calling a
//! function generated in build.rs.
//!
//! Needs `tmux` for the chat test. The server binary is `target/debug/server-kit` (built by
//! `cargo test` at the workspace root, where server-kit is a default member); if it is not
//! there the test builds it with `cargo build -p server-kit --bin server-kit`.

use client_sdk::api::enums;
use client_sdk::{Client, Config, FileSessionStore, RsaPublicKey, SignInError};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The `chat` example.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");
/// The `upload` example.
const UPLOAD: &str = env!("CARGO_BIN_EXE_upload");
/// The `download` example.
const DOWNLOAD: &str = env!("CARGO_BIN_EXE_download");
/// The `echo-bot` example.
const ECHO_BOT: &str = env!("CARGO_BIN_EXE_echo-bot");
/// The `custom-types` example.
const CUSTOM_TYPES: &str = env!("CARGO_BIN_EXE_custom-types");

/// How long any one step may take (debug builds, two cores, tests in parallel).
const STEP: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The server

/// `target/debug/server-kit` next to this test's own executable (`target/debug/deps/..`),
/// built first if it is missing.
fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's own path");
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>");
        let binary = dir.join(format!("server-kit{}", std::env::consts::EXE_SUFFIX));
        if !binary.exists() {
            eprintln!(
                "{} is missing: building it (cargo build -p server-kit --bin server-kit)",
                binary.display()
            );
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "server-kit", "--bin", "server-kit"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo");
            assert!(status.success(), "building server-kit failed");
            assert!(binary.exists(), "{} still missing", binary.display());
        }
        binary
    })
}

/// The reference server on a free port with its own data directory; killed when dropped.
struct Server {
    /// The process.
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
    /// Its data directory, where the test keeps its files too.
    data: PathBuf,
}

impl Server {
    /// Starts the server and waits until it listens and has written its key.
    fn start(name: &str) -> Server {
        let data = scratch_dir(name);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = std::fs::File::create(data.with_extension("log")).expect("server log");
        let child = Command::new(server_binary())
            .args(["--listen", &addr.to_string(), "--login-code", "12345"])
            .arg("--data")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start server-kit");
        let server = Server { child, addr, data };
        let deadline = Instant::now() + STEP;
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
            || !server.key_path().exists()
        {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The public key the server wrote.
    fn key_path(&self) -> PathBuf {
        self.data.join("rsa-public.pem")
    }

    /// `--server ADDR --key PEM --session DATA/<session>`, the flags every example takes.
    fn flags(&self, session: &str) -> Vec<String> {
        vec![
            "--server".into(),
            self.addr.to_string(),
            "--key".into(),
            self.key_path().display().to_string(),
            "--session".into(),
            self.data.join(session).display().to_string(),
        ]
    }

    /// A client-sdk client of the test itself, with its session in `DATA/<session>`.
    async fn client(&self, session: &str) -> Client {
        let pem = std::fs::read_to_string(self.key_path()).expect("server key");
        let config = Config::for_server(
            2,
            self.addr.to_string(),
            RsaPublicKey::from_pem(&pem).expect("PEM"),
            Arc::new(FileSessionStore::new(self.data.join(session))),
        );
        Client::connect(config).await.expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An empty directory for one test.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("client-examples-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A tokio runtime for the parts of a test that use client-sdk directly.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Signs a new account up through client-sdk and gives it a username.
async fn sign_up(client: &Client, phone: &str, name: &str, username: &str) {
    let token = client.request_login_code(phone).await.expect("send code");
    match client.sign_in(&token, "12345").await {
        Err(SignInError::SignUpRequired) => {}
        other => panic!("expected SignUpRequired, got {other:?}"),
    }
    client.sign_up(&token, name, "").await.expect("sign up");
    client
        .invoke(&client_sdk::api::functions::account::UpdateUsername {
            username: username.into(),
        })
        .await
        .expect("username");
}

// ---------------------------------------------------------------------------------------
// Processes

/// A child process whose standard output is read line by line in a thread.
struct Running {
    /// The process.
    child: Child,
    /// Its standard output, a line at a time.
    lines: mpsc::Receiver<String>,
    /// The lines received so far.
    seen: Vec<String>,
    /// The binary's name, for messages.
    name: String,
}

impl Running {
    /// Starts `binary` with `args`, writes `stdin` to its standard input and closes it.
    fn spawn(binary: &str, args: &[String], stdin: &str) -> Running {
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("  | {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            name: Path::new(binary)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// Waits for a line of standard output containing `needle`.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "{} never printed {needle:?}; it printed {:#?} (exit: {:?})",
                    self.name,
                    self.seen,
                    self.child.try_wait()
                ),
            }
        }
    }

    /// Waits for the process to exit successfully; returns everything it printed.
    fn wait_success(mut self) -> Vec<String> {
        let deadline = Instant::now() + STEP;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "{} did not finish", self.name);
            std::thread::sleep(Duration::from_millis(100));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        assert!(
            status.success(),
            "{} failed ({status}): {:#?}",
            self.name,
            self.seen
        );
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a binary to the end; panics with its output if it fails.
fn run(binary: &str, args: &[String]) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {binary}: {e}"));
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{binary} {args:?} failed ({status})\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

// ---------------------------------------------------------------------------------------
// tmux

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    /// The socket name (`tmux -L`).
    socket: String,
}

impl Tmux {
    /// A tmux server on a socket of its own (started with the first session).
    fn new(name: &str) -> Tmux {
        let found = Command::new("tmux").arg("-V").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "the chat test drives the chat example in tmux: install it (apt-get install -y tmux)"
        );
        Tmux {
            socket: format!("client-examples-{name}-{}", std::process::id()),
        }
    }

    /// Runs a tmux command on our socket; panics if it fails.
    fn tmux(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts `binary args` in a new detached session `name`; the pane stays after the
    /// program exits, with its exit status.
    fn start(&self, name: &str, binary: &str, args: &[String], log: &Path) {
        let mut line = shell_quote(binary);
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let script = format!(
            "{line} 2>>{}; echo \"[exited $?]\"; sleep 3600",
            shell_quote(&log.display().to_string())
        );
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "200",
            "-y",
            "50",
            "sh",
            "-c",
            &script,
        ]);
    }

    /// Types `text` and Enter into session `name`.
    fn send_line(&self, name: &str, text: &str) {
        self.tmux(&["send-keys", "-t", name, "-l", text]);
        self.tmux(&["send-keys", "-t", name, "Enter"]);
    }

    /// The session's screen and scroll-back, wrapped lines joined.
    fn capture(&self, name: &str) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-2000", "-t", name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the pane shows `needle`.
    fn wait_for(&self, name: &str, needle: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let screen = self.capture(name);
            if screen.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pane {name} never showed {needle:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// `s` quoted for `sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

// ---------------------------------------------------------------------------------------
// The tests

/// Two people sign up in two `chat`s, set usernames, and talk: each line shows up live in
/// the other's terminal with the sender's name; the second finds the first in /dialogs.
#[test]
fn chat_two_users_talk_live_in_tmux() {
    let server = Server::start("chat");
    let tmux = Tmux::new("chat");
    let log = server.data.with_extension("clients.log");
    for (session, phone, name, username) in [
        ("a", "+15550101", "Alice", "alice_chat"),
        ("b", "+15550102", "Bob", "bob_chat"),
    ] {
        let mut args = server.flags(&format!("{session}.session"));
        args.extend(["--phone".into(), phone.into()]);
        tmux.start(session, CHAT, &args, &log);
        tmux.wait_for(session, "Code:");
        tmux.send_line(session, "12345");
        tmux.wait_for(session, "First name:");
        tmux.send_line(session, name);
        tmux.wait_for(session, &format!("Signed in as {name}"));
        tmux.send_line(session, &format!("/username {username}"));
        tmux.wait_for(session, &format!("Your username is now @{username}."));
    }

    // A opens the chat with Bob by username and writes; Bob sees it at once.
    tmux.send_line("a", "/open @bob_chat");
    tmux.wait_for("a", "--- you are writing to Bob");
    tmux.send_line("a", "hello bob, from tmux");
    tmux.wait_for("b", "Alice: hello bob, from tmux");

    // Bob finds Alice in his dialogs, opens it (the history shows her line) and replies.
    tmux.send_line("b", "/dialogs");
    tmux.wait_for("b", "1. Alice");
    tmux.send_line("b", "/open 1");
    tmux.wait_for("b", "--- you are writing to Alice");
    tmux.send_line("b", "hi alice!");
    tmux.wait_for("a", "Bob: hi alice!");

    // Reopening shows both lines in order, as "me" and the other.
    tmux.send_line("a", "/open @bob_chat");
    tmux.wait_for("a", "me: hello bob, from tmux\nBob: hi alice!");

    for session in ["a", "b"] {
        tmux.send_line(session, "/quit");
        tmux.wait_for(session, "[exited 0]");
    }
}

/// `echo-bot` signs up (code and first name on its standard input), takes a username, and
/// answers a client's message with the same text.
#[test]
fn echo_bot_echoes_a_private_message() {
    let server = Server::start("echo");
    let mut args = server.flags("bot.session");
    args.extend([
        "--phone".into(),
        "+15550201".into(),
        "--username".into(),
        "echo_test_bot".into(),
    ]);
    let mut bot = Running::spawn(ECHO_BOT, &args, "12345\nEcho\n");
    bot.wait_for_line("echo-bot running as Echo");

    runtime().block_on(async {
        let user = server.client("user.session").await;
        sign_up(&user, "+15550202", "Carol", "carol_echo").await;
        let to_bot = user.resolve_username("@echo_test_bot").await.unwrap();
        user.send_message(&to_bot, "ping 42").await.unwrap();
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let left = deadline
                .checked_duration_since(tokio::time::Instant::now())
                .expect("no echo came back");
            let Some(update) = user.next_update_timeout(left).await else {
                panic!("no echo came back");
            };
            if let enums::Update::NewMessage(u) = update {
                if let enums::Message::Message(m) = u.message {
                    if !m.out {
                        assert_eq!(m.message, "ping 42");
                        assert_eq!(client_sdk::peer_key(&m.peer_id).1, to_bot.id);
                        break;
                    }
                }
            }
        }
    });
    bot.wait_for_line("echoed \"ping 42\"");
}

/// `upload` sends a 5 MiB file to a user; `download` gets it twice, once waiting for the
/// message and once from the chat's history, byte for byte the same.
#[test]
fn upload_then_download_5_mib() {
    let server = Server::start("files");
    runtime().block_on(async {
        let up = server.client("up.session").await;
        sign_up(&up, "+15550301", "Uploader", "up_files").await;
        up.disconnect().await.unwrap();
        let down = server.client("down.session").await;
        sign_up(&down, "+15550302", "Downloader", "down_files").await;
        down.disconnect().await.unwrap();
    });
    let content: Vec<u8> = (0u32..5 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = server.data.join("five.bin");
    std::fs::write(&file, &content).unwrap();

    // The downloader waits for the document...
    let waited = server.data.join("waited");
    let mut args = server.flags("down.session");
    args.extend(["--out".into(), waited.display().to_string()]);
    let mut download = Running::spawn(DOWNLOAD, &args, "");
    download.wait_for_line("Waiting for a message with a document");

    // ...the uploader sends it...
    let mut args = server.flags("up.session");
    args.extend([file.display().to_string(), "@down_files".into()]);
    let out = run(UPLOAD, &args);
    assert!(out.contains("uploaded five.bin (5.0 MiB) in"), "{out}");
    assert!(out.contains("MiB/s"), "{out}");
    assert!(out.contains("sent to @down_files as message"), "{out}");

    // ...and it arrives.
    let printed = download.wait_success().join("\n");
    assert!(printed.contains("MiB/s"), "{printed}");
    assert!(std::fs::read(waited.join("five.bin")).unwrap() == content);

    // The same document, found in the history of the chat with the uploader.
    let found = server.data.join("found");
    let mut args = server.flags("down.session");
    args.extend([
        "--from".into(),
        "@up_files".into(),
        "--out".into(),
        found.display().to_string(),
    ]);
    let out = run(DOWNLOAD, &args);
    assert!(out.contains("saved") && out.contains("MiB/s"), "{out}");
    assert!(std::fs::read(found.join("five.bin")).unwrap() == content);
}

/// `custom-types` calls `help.getNearestDc`, generated by its build.rs, and prints the
/// server's answer (DC 2).
#[test]
fn custom_types_calls_a_generated_function() {
    let server = Server::start("custom");
    let args: Vec<String> = server.flags("custom.session");
    let out = run(CUSTOM_TYPES, &args);
    assert!(
        out.contains("help.getNearestDc (schema layer 229): this_dc=2 nearest_dc=2"),
        "{out}"
    );
}

/// A bot made with the server's `create-bot` command: a wrong token is refused
/// (ACCESS_TOKEN_INVALID), the right one signs in as a bot (`bot: true`), which gets
/// BOT_METHOD_INVALID for messages.getDialogs; `echo-bot --bot-token` answers "hello", and the
/// user receives the echo pushed.
#[test]
fn echo_bot_signs_in_with_a_bot_token() {
    let server = Server::start("bot-token");
    let output = Command::new(server_binary())
        .args(["create-bot", "--data"])
        .arg(&server.data)
        .args(["token_echo_bot", "Token Echo"])
        .output()
        .expect("run server-kit create-bot");
    assert!(output.status.success(), "create-bot failed: {output:?}");
    let token = String::from_utf8(output.stdout).expect("UTF-8 token");
    let token = token.trim().to_owned();
    let (id, secret) = token.split_once(':').expect("BOT_ID:SECRET");
    assert!(id.parse::<i64>().is_ok() && secret.len() == 35, "{token}");

    runtime().block_on(async {
        let wrong = server.client("wrong.session").await;
        let error = wrong
            .bot_sign_in(&format!("{id}:{}", "A".repeat(35)))
            .await
            .expect_err("a wrong token signs in");
        assert!(
            error.to_string().contains("ACCESS_TOKEN_INVALID"),
            "{error}"
        );
        let bot = server.client("bot-check.session").await;
        match bot.bot_sign_in(&token).await.expect("bot sign-in") {
            enums::User::User(u) => {
                assert!(u.bot && u.is_self, "{u:?}");
                assert_eq!(u.username.as_deref(), Some("token_echo_bot"));
            }
            other => panic!("{other:?}"),
        }
        let error = bot
            .invoke(&client_sdk::api::functions::messages::GetDialogs {
                exclude_pinned: false,
                folder_id: None,
                offset_date: 0,
                offset_id: 0,
                offset_peer: enums::InputPeer::Empty,
                limit: 10,
                hash: 0,
            })
            .await
            .expect_err("a bot lists dialogs");
        assert!(error.to_string().contains("BOT_METHOD_INVALID"), "{error}");
    });

    let mut args = server.flags("echo-bot.session");
    args.extend(["--bot-token".into(), token.clone()]);
    let mut bot = Running::spawn(ECHO_BOT, &args, "");
    bot.wait_for_line("echo-bot running as Token Echo");

    runtime().block_on(async {
        let user = server.client("user.session").await;
        sign_up(&user, "+15550402", "Dana", "dana_echo").await;
        let to_bot = user.resolve_username("@token_echo_bot").await.unwrap();
        user.send_message(&to_bot, "hello").await.unwrap();
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let left = deadline
                .checked_duration_since(tokio::time::Instant::now())
                .expect("no echo came back");
            let Some(update) = user.next_update_timeout(left).await else {
                panic!("no echo came back");
            };
            if let enums::Update::NewMessage(u) = update {
                if let enums::Message::Message(m) = u.message {
                    if !m.out {
                        assert_eq!(m.message, "hello");
                        assert_eq!(client_sdk::peer_key(&m.peer_id).1, to_bot.id);
                        break;
                    }
                }
            }
        }
    });
    bot.wait_for_line("echoed \"hello\"");
}
