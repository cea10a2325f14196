//! MTProto over WebSocket (`ws://HOST:PORT/apiws`, subprotocol `binary`, obfuscated
//! transports inside) against the real server binary, on its TCP port (told apart by the
//! first bytes) and on a `--ws` port of its own:
//!
//! - client-sdk over WebSocket signs up and chats with client-sdk over TCP, both ways, with
//!   pushed updates; a third user on the `--ws` port writes too.
//! - GramJS (npm `telegram@2.26.22`) with `networkSocket: PromisedWebSockets` (the browser
//!   transport, in Node) signs up and chats with a Telethon user on TCP, and moves a 1.5 MiB
//!   file both ways (`tests/gramjs/ws_chat.js`, `tests/gramjs/telethon_peer.py`).
//! - Bad input (a text message, an oversized frame, garbage after the upgrade, a slow
//!   upgrade, a plain transport inside WebSocket, a request that is no upgrade) closes only
//!   that connection while a client beside it goes on; pings are answered; WebSocket
//!   connections count toward the per-IP connection limit.
//!
//! GramJS needs Node.js with `npm ci --prefix server-kit/tests/gramjs` and Telethon
//! (`.ci/test.sh --setup-only` makes both).

mod common;

use client_sdk::api::enums;
use client_sdk::{Client, Config, MemorySessionStore, PeerKind, Transport};
use common::{ServerProcess, free_port, scratch_dir, server_key};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");
const SETUP: &str = "run `.ci/test.sh --setup-only` from the workspace root";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: String, data: &Path, transport: Transport) -> Client {
    let mut config = Config::for_server(
        2,
        addr,
        server_key(data),
        Arc::new(MemorySessionStore::default()),
    );
    config.transport = transport;
    Client::connect(config).await.expect("connect")
}

async fn sign_up(client: &Client, phone: &str, name: &str, username: &str) -> i64 {
    let token = client.request_login_code(phone).await.expect("send code");
    assert!(matches!(
        client.sign_in(&token, "12345").await,
        Err(client_sdk::SignInError::SignUpRequired)
    ));
    let user = client.sign_up(&token, name, "").await.expect("sign up");
    client.set_username(username).await.expect("username");
    match user {
        enums::User::User(u) => u.id,
        other => panic!("{other:?}"),
    }
}

/// The next incoming message's (sender id, text) within `wait`.
async fn next_message(client: &Client, wait: Duration) -> Option<(i64, String)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        let update = client.next_update_timeout(left).await?;
        let message = match update {
            enums::Update::NewMessage(u) => u.message,
            _ => continue,
        };
        if let enums::Message::Message(m) = message {
            if !m.out {
                let from = match m.from_id.unwrap_or(m.peer_id) {
                    enums::Peer::User(u) => u.user_id,
                    other => panic!("a private message from {other:?}"),
                };
                return Some((from, m.message));
            }
        }
    }
}

#[test]
fn sdk_over_websocket_chats_with_sdk_over_tcp() {
    let (port, ws_port) = (free_port(), free_port());
    let data = scratch_dir("ws-sdk");
    let _server = ServerProcess::start_with(
        BINARY,
        port,
        &data,
        &["--ws", &format!("127.0.0.1:{ws_port}")],
    );
    let tcp_addr = format!("127.0.0.1:{port}");
    runtime().block_on(async {
        // A: WebSocket on the TCP port (sniffed); B: TCP; C: WebSocket on the --ws port, with
        // its address given as a URL.
        let a = connect(tcp_addr.clone(), &data, Transport::WebSocketIntermediate).await;
        let b = connect(tcp_addr.clone(), &data, Transport::Intermediate).await;
        let c = connect(
            format!("ws://127.0.0.1:{ws_port}/apiws"),
            &data,
            Transport::WebSocketPadded,
        )
        .await;
        let a_id = sign_up(&a, "+1 555 0401", "Web", "web_a").await;
        let b_id = sign_up(&b, "+1 555 0402", "Tcp", "tcp_b").await;
        let c_id = sign_up(&c, "+1 555 0403", "Web", "web_c").await;

        let to_b = a.resolve_username("tcp_b").await.unwrap();
        assert_eq!((to_b.kind, to_b.id), (PeerKind::User, b_id));
        let sent = a.send_message(&to_b, "hello over websocket").await.unwrap();
        assert_eq!(sent.text(), "hello over websocket");
        assert_eq!(
            next_message(&b, Duration::from_secs(10)).await,
            Some((a_id, "hello over websocket".into()))
        );
        let to_a = b.resolve_username("web_a").await.unwrap();
        b.send_message(&to_a, "hello over tcp").await.unwrap();
        assert_eq!(
            next_message(&a, Duration::from_secs(10)).await,
            Some((b_id, "hello over tcp".into()))
        );
        let to_a = c.resolve_username("web_a").await.unwrap();
        c.send_message(&to_a, "from the ws port").await.unwrap();
        assert_eq!(
            next_message(&a, Duration::from_secs(10)).await,
            Some((c_id, "from the ws port".into()))
        );
        // Longer answers: a history page of 4 KiB messages.
        let b_to_a = b.resolve_username("web_a").await.unwrap();
        let long = "w".repeat(4000);
        for _ in 0..20 {
            b.send_message(&b_to_a, &long).await.unwrap();
        }
        let mut n = 0;
        let mut history = a.iter_messages(to_b);
        while let Some(m) = history.next().await.unwrap() {
            if let enums::Message::Message(m) = m {
                n += usize::from(m.message == long);
            }
        }
        assert_eq!(n, 20);
    });
}

#[test]
fn gramjs_over_websocket_chats_with_telethon() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let gramjs = tests.join("gramjs");
    assert!(
        gramjs.join("node_modules/telegram/package.json").exists(),
        "GramJS is not installed: {SETUP}"
    );
    let port = free_port();
    let data = scratch_dir("ws-gramjs");
    let work = data.with_extension("work");
    std::fs::create_dir_all(&work).unwrap();
    let _server = ServerProcess::start(BINARY, port, &data);
    let port_arg = port.to_string();
    let spawn = |program: &str, script: &Path, out: &str| {
        let file = std::fs::File::create(work.join(out)).unwrap();
        Command::new(program)
            .arg(script)
            .args([port_arg.as_str()])
            .arg(&data)
            .arg(&work)
            .current_dir(&gramjs)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {SETUP}"))
    };
    // GramJS dials ws://127.0.0.1:PORT/apiws: the server's one port, sniffed.
    let gram = spawn("node", &gramjs.join("ws_chat.js"), "gramjs.out");
    let tele = spawn("python3", &gramjs.join("telethon_peer.py"), "telethon.out");
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut results = Vec::new();
    for (name, mut child, out, done) in [
        ("GramJS", gram, "gramjs.out", "gramjs ws ok"),
        ("Telethon", tele, "telethon.out", "telethon ok"),
    ] {
        let ok = loop {
            match child.try_wait().unwrap() {
                Some(status) => break status.success(),
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
            }
        };
        let text = std::fs::read_to_string(work.join(out)).unwrap_or_default();
        results.push((name, ok && text.contains(done), text));
    }
    assert!(
        results.iter().all(|(_, ok, _)| *ok),
        "{}\nserver log: {}",
        results
            .iter()
            .map(|(name, ok, text)| format!(
                "--- {name}: {}\n{text}",
                if *ok { "ok" } else { "FAILED" }
            ))
            .collect::<String>(),
        data.with_extension("log").display()
    );
}

/// A raw WebSocket client for hostile input: the upgrade and frames written by hand.
struct RawWs {
    stream: TcpStream,
}

impl RawWs {
    /// Connects and sends `request` as it is.
    fn send_request(addr: SocketAddr, request: &str) -> RawWs {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        RawWs { stream }
    }

    /// The HTTP answer's head (up to the blank line), or what came before the server closed.
    fn response_head(&mut self) -> String {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match self.stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    /// Connects and upgrades on `path`, asserting the 101 with `binary` echoed.
    fn upgrade(addr: SocketAddr, path: &str) -> RawWs {
        let mut ws = RawWs::send_request(addr, &upgrade_request(path));
        let head = ws.response_head();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-protocol: binary"),
            "{head}"
        );
        ws
    }

    /// Sends one masked frame with `opcode` and `payload` (its length as it is).
    fn frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        self.frame_claiming(opcode, payload.len() as u64, payload)
    }

    /// Sends a masked frame header claiming `len` bytes, then `payload`.
    fn frame_claiming(&mut self, opcode: u8, len: u64, payload: &[u8]) -> std::io::Result<()> {
        let mut frame = vec![0x80 | opcode];
        if len < 126 {
            frame.push(0x80 | len as u8);
        } else if len <= 0xffff {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&len.to_be_bytes());
        }
        let mask = [0x12, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame)
    }

    /// Whether the server closed the connection (end of stream or reset) within `wait`,
    /// reading away what it sends meanwhile; the bytes read are returned too.
    fn closed_within(&mut self, wait: Duration) -> (bool, Vec<u8>) {
        let deadline = Instant::now() + wait;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (false, got);
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => return (true, got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return (false, got);
                }
                Err(_) => return (true, got),
            }
        }
    }
}

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: binary\r\n\r\n"
    )
}

const TEXT: u8 = 0x1;
const BINARY_FRAME: u8 = 0x2;
const PING: u8 = 0x9;

#[test]
fn bad_websocket_input_is_closed_and_others_go_on() {
    let (port, ws_port) = (free_port(), free_port());
    let data = scratch_dir("ws-bad");
    let _server = ServerProcess::start_with(
        BINARY,
        port,
        &data,
        &[
            "--ws",
            &format!("127.0.0.1:{ws_port}"),
            "--ws-upgrade-timeout",
            "2",
        ],
    );
    let main = SocketAddr::from(([127, 0, 0, 1], port));
    let ws_only = SocketAddr::from(([127, 0, 0, 1], ws_port));
    let rt = runtime();
    // A client on WebSocket that must not notice anything.
    let good = rt.block_on(async {
        let good = connect(main.to_string(), &data, Transport::WebSocketAbridged).await;
        sign_up(&good, "+1 555 0411", "Good", "good_ws").await;
        good
    });
    let round_trip = |what: &str| {
        rt.block_on(async {
            let me = good.resolve_username("good_ws").await;
            assert!(me.is_ok(), "the good client after {what}: {me:?}");
        })
    };

    // Every kind of bad input at once, on both ports.
    let slow_started = Instant::now();
    let mut slow = RawWs::send_request(main, "GET /apiws HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    let mut slow_ws_port = RawWs::send_request(ws_only, "GET /api");
    let mut silent = RawWs {
        stream: TcpStream::connect(ws_only).unwrap(),
    };

    let mut text = RawWs::upgrade(main, "/apiws");
    text.frame(TEXT, b"hello").unwrap();
    let mut oversized = RawWs::upgrade(ws_only, "/apiws_test");
    // A frame claiming 3 MiB, past the 2 MiB frame limit: refused from its header.
    let _ = oversized.frame_claiming(BINARY_FRAME, 3 << 20, &[0u8; 1024]);
    let mut garbage = RawWs::upgrade(main, "/apiws");
    garbage
        .stream
        .write_all(b"\x0f\x00 this is no websocket frame at all")
        .unwrap();
    let mut plain = RawWs::upgrade(main, "/apiws");
    // The plain intermediate prologue and a frame: WebSocket takes obfuscated ones only.
    let mut frame = vec![0xee; 4];
    frame.extend_from_slice(&40u32.to_le_bytes());
    frame.extend_from_slice(&[0u8; 40]);
    plain.frame(BINARY_FRAME, &frame).unwrap();
    let mut not_found = RawWs::send_request(main, &upgrade_request("/api"));
    let mut no_upgrade = RawWs::send_request(ws_only, "POST /apiws HTTP/1.1\r\n\r\nnonsense");
    let mut unmasked = RawWs::upgrade(ws_only, "/apiws");
    unmasked
        .stream
        .write_all(&[0x82, 0x02, 0xef, 0xef])
        .unwrap();

    // Pings are answered with the same payload, and the connection stays.
    let mut pinged = RawWs::upgrade(main, "/apiws");
    pinged.frame(PING, b"are you there").unwrap();
    let (closed, pong) = pinged.closed_within(Duration::from_millis(500));
    assert!(!closed, "a ping closed the connection");
    assert_eq!(pong.first(), Some(&0x8a), "a pong frame: {pong:02x?}");
    assert_eq!(&pong[2..], b"are you there");

    // The slow upgrades are not closed before their time.
    for ws in [&mut slow, &mut slow_ws_port, &mut silent] {
        assert!(!ws.closed_within(Duration::from_millis(300)).0);
    }
    assert!(slow_started.elapsed() < Duration::from_millis(1900));

    for (what, ws) in [
        ("a text message", &mut text),
        ("an oversized frame", &mut oversized),
        ("garbage after the upgrade", &mut garbage),
        ("a plain transport over WebSocket", &mut plain),
        ("an unmasked client frame", &mut unmasked),
    ] {
        let (closed, _) = ws.closed_within(Duration::from_secs(5));
        assert!(closed, "{what}: still open");
        round_trip(what);
    }
    let head = not_found.response_head();
    assert!(
        head.starts_with("HTTP/1.1 404"),
        "an upgrade of /api: {head}"
    );
    assert!(not_found.closed_within(Duration::from_secs(5)).0);
    let (closed, answer) = no_upgrade.closed_within(Duration::from_secs(5));
    assert!(closed, "a POST on the --ws port: still open");
    assert!(!answer.starts_with(b"HTTP/1.1 101"));

    // The slow upgrades are closed at the 2 s timeout.
    for (what, ws) in [
        ("a slow upgrade", &mut slow),
        ("a slow upgrade on --ws", &mut slow_ws_port),
    ] {
        let (closed, _) = ws.closed_within(Duration::from_secs(8));
        assert!(closed, "{what}: still open");
        let took = slow_started.elapsed();
        assert!(
            took >= Duration::from_millis(1900),
            "{what}: closed after {took:?}"
        );
    }
    assert!(
        silent.closed_within(Duration::from_secs(5)).0,
        "a silent --ws connection"
    );
    round_trip("the slow upgrades");

    // A pinged connection is still good for MTProto: the connection beside it never broke.
    let (closed, _) = pinged.closed_within(Duration::from_millis(100));
    assert!(!closed);
}

#[test]
fn websocket_connections_count_toward_the_per_ip_limit() {
    let port = free_port();
    let data = scratch_dir("ws-limit");
    let _server = ServerProcess::start_with(BINARY, port, &data, &["--connections-per-ip", "2"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let first = RawWs::upgrade(addr, "/apiws");
    let second = RawWs::upgrade(addr, "/apiws");
    let mut third = RawWs::send_request(addr, &upgrade_request("/apiws"));
    let (closed, answer) = third.closed_within(Duration::from_secs(5));
    assert!(
        closed && answer.is_empty(),
        "a third connection: {answer:?}"
    );
    drop((first, second));
    // Once they are gone, there is room again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = RawWs::send_request(addr, &upgrade_request("/apiws"));
        if again.response_head().starts_with("HTTP/1.1 101") {
            break;
        }
        assert!(Instant::now() < deadline, "no room after the others closed");
        std::thread::sleep(Duration::from_millis(100));
    }
}
