//! The project's client (client-sdk) against the reference server binary over loopback:
//! sign-up and sign-in, a chat with pushed updates, catching up exactly once after being
//! away, history and dialogs, a channel, a 100 MiB round trip with 4 parts in flight, a
//! download that resumes, an upload that survives the server being killed and
//! restarted in the middle, and login codes past the per-number limit (`FLOOD_WAIT_X`).

mod common;

use client_sdk::api::{enums, functions};
use client_sdk::{Client, Config, FileLocation, FileSessionStore, PeerKind, SignInError};
use common::{ServerProcess, free_port, scratch_dir, server_key};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

async fn connect(addr: SocketAddr, data: &Path, session: &Path) -> Client {
    let mut config = Config::for_server(
        2,
        addr.to_string(),
        server_key(data),
        Arc::new(FileSessionStore::new(session)),
    );
    config.parts_in_flight = 4;
    Client::connect(config).await.expect("connect")
}

async fn sign_up(client: &Client, phone: &str, name: &str, username: &str) -> i64 {
    let token = client.request_login_code(phone).await.expect("send code");
    assert!(matches!(
        client.sign_in(&token, "00000").await,
        Err(SignInError::InvalidCode)
    ));
    assert!(matches!(
        client.sign_in(&token, "12345").await,
        Err(SignInError::SignUpRequired)
    ));
    let user = client.sign_up(&token, name, "").await.expect("sign up");
    client.set_username(username).await.expect("username");
    match user {
        enums::User::User(u) => u.id,
        other => panic!("{other:?}"),
    }
}

/// The next incoming new message (private or channel) within `wait`: (peer, text, media).
/// The client's own outgoing messages, which arrive as updates too, are skipped.
async fn next_message(
    client: &Client,
    wait: Duration,
) -> Option<(enums::Peer, String, Option<enums::MessageMedia>)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        let update = client.next_update_timeout(left).await?;
        let message = match update {
            enums::Update::NewMessage(u) => u.message,
            enums::Update::NewChannelMessage(u) => u.message,
            _ => continue,
        };
        if let enums::Message::Message(m) = message {
            if !m.out || m.post {
                return Some((m.peer_id, m.message, m.media));
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn two_sdk_clients_chat_and_catch_up_exactly_once() {
    let port = free_port();
    let data = scratch_dir("sdk-chat");
    let _server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    runtime().block_on(async {
        let a = connect(addr, &data, &data.join("a.session")).await;
        let b = connect(addr, &data, &data.join("b.session")).await;
        let a_id = sign_up(&a, "+1 555 0301", "Alice", "alice_sdk").await;
        let b_id = sign_up(&b, "+1 555 0302", "Bob", "bob_sdk").await;

        // A writes B by username; B, online, gets it pushed.
        let to_b = a.resolve_username("@Bob_SDK").await.unwrap();
        assert_eq!((to_b.kind, to_b.id), (PeerKind::User, b_id));
        let sent = a.send_message(&to_b, "hello bob").await.unwrap();
        assert_eq!((sent.text(), sent.outgoing()), ("hello bob", true));
        assert_eq!(sent.chat_id(), Some((PeerKind::User, b_id)));
        assert_eq!(sent.sender_id(), Some((PeerKind::User, a_id)));
        let (peer, text, _) = next_message(&b, Duration::from_secs(10))
            .await
            .expect("pushed");
        assert_eq!(text, "hello bob");
        let to_a = b
            .peer_of(&peer)
            .expect("A's access hash came with the update");
        assert_eq!(to_a.id, a_id);
        // A formatted reply: the sent message has the parsed text and the reply id (its
        // entities are what the server kept: the reference server keeps none yet).
        let reply = client_sdk::InputMessage::markdown("hello **alice**").reply_to(Some(sent.id()));
        let replied = b.send_message(&to_a, reply).await.unwrap();
        assert_eq!(replied.text(), "hello alice");
        assert_eq!(replied.reply_to_message_id(), Some(sent.id()));
        let (_, text, _) = next_message(&a, Duration::from_secs(10))
            .await
            .expect("reply");
        assert_eq!(text, "hello alice");

        // B goes away (its session saved); A writes five more; B comes back and gets
        // exactly those five, in order, once.
        b.disconnect().await.unwrap();
        for i in 1..=5 {
            a.send_message(&to_b, &format!("while away {i}"))
                .await
                .unwrap();
        }
        let b = connect(addr, &data, &data.join("b.session")).await;
        assert!(b.is_authorized());
        let mut got = Vec::new();
        while let Some((_, text, _)) = next_message(&b, Duration::from_secs(3)).await {
            got.push(text);
        }
        let want: Vec<String> = (1..=5).map(|i| format!("while away {i}")).collect();
        assert_eq!(got, want);

        // History, newest first, across pages; dialogs.
        let mut history = Vec::new();
        let mut iter = b.iter_messages(to_a);
        while let Some(m) = iter.next().await.unwrap() {
            if let enums::Message::Message(m) = m {
                history.push(m.message);
            }
        }
        let mut expected: Vec<String> = vec!["hello bob".into(), "hello alice".into()];
        expected.extend(want);
        expected.reverse();
        assert_eq!(history, expected);
        let mut limited = b.iter_messages(to_a).limit(3);
        let mut n = 0;
        while limited.next().await.unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        let mut dialogs = b.iter_dialogs();
        let first = dialogs.next().await.unwrap().expect("a dialog");
        assert_eq!(first.peer.id, a_id);
        assert_eq!(first.name, "Alice");
        assert!(dialogs.next().await.unwrap().is_none());

        // Reading and editing; the other side sees the edit.
        b.read_history(&to_a, 0).await.unwrap();
        let id = a.send_message(&to_b, "typo").await.unwrap().id();
        let _ = next_message(&b, Duration::from_secs(5))
            .await
            .expect("typo");
        a.edit_message(&to_b, id, "fixed").await.unwrap();
        let mut edited = false;
        while let Some(update) = b.next_update_timeout(Duration::from_secs(5)).await {
            if let enums::Update::EditMessage(u) = update {
                if let enums::Message::Message(m) = u.message {
                    assert_eq!(m.message, "fixed");
                    edited = true;
                    break;
                }
            }
        }
        assert!(edited, "the edit reached B");
    });
}

#[test]
fn a_channel_post_reaches_a_member() {
    let port = free_port();
    let data = scratch_dir("sdk-channel");
    let _server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    runtime().block_on(async {
        let a = connect(addr, &data, &data.join("a.session")).await;
        let b = connect(addr, &data, &data.join("b.session")).await;
        sign_up(&a, "+1 555 0311", "Owner", "owner_sdk").await;
        sign_up(&b, "+1 555 0312", "Member", "member_sdk").await;
        let channel = a.create_channel("News", "about", true).await.unwrap();
        a.invoke(&functions::channels::UpdateUsername {
            channel: channel.input_channel().unwrap(),
            username: "news_sdk".into(),
        })
        .await
        .unwrap();
        a.send_message(&channel, "before joining").await.unwrap();
        let found = b.resolve_username("news_sdk").await.unwrap();
        assert_eq!(found.id, channel.id);
        b.join_channel(&found).await.unwrap();
        let post = a.send_message(&channel, "first post").await.unwrap();
        assert_eq!(post.text(), "first post");
        assert_eq!(post.chat_id(), Some((PeerKind::Channel, channel.id)));
        assert_eq!(post.chat().map(|c| c.name()), Some("News".into()));
        let (peer, text, _) = loop {
            let got = next_message(&b, Duration::from_secs(10))
                .await
                .expect("post");
            if got.1 != "before joining" {
                break got;
            }
        };
        assert_eq!(text, "first post");
        assert_eq!(
            peer,
            enums::Peer::Channel(client_sdk::api::types::PeerChannel {
                channel_id: channel.id
            })
        );
        // A member may not post in a broadcast channel.
        let refused = b.send_message(&found, "me too").await.unwrap_err();
        assert!(
            refused.is("CHAT_WRITE_FORBIDDEN") || refused.is("CHAT_ADMIN_REQUIRED"),
            "{refused}"
        );
        let mut history = Vec::new();
        let mut iter = b.iter_messages(found);
        while let Some(enums::Message::Message(m)) = iter.next().await.unwrap() {
            history.push(m.message);
        }
        assert_eq!(history, ["first post", "before joining"]);
    });
}

#[test]
fn login_codes_past_the_limit_are_flood_wait_for_that_number_only() {
    let port = free_port();
    let data = scratch_dir("sdk-flood");
    let _server =
        ServerProcess::start_with(BINARY, port, &data, &["--codes-per-phone-per-hour", "2"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    runtime().block_on(async {
        let client = connect(addr, &data, &data.join("c.session")).await;
        for _ in 0..2 {
            client
                .request_login_code("+1 555 0321")
                .await
                .expect("code");
        }
        // An hour's wait is past the client's flood_sleep_threshold (60 s): returned.
        let error = client.request_login_code("+1 555 0321").await.unwrap_err();
        let Some(rpc) = error.rpc() else {
            panic!("{error}");
        };
        assert_eq!(error.request(), Some("auth.sendCode"));
        assert!(error.is("FLOOD_WAIT_*"), "{error}");
        assert_eq!(
            (rpc.code, rpc.name.as_str()),
            (420, "FLOOD_WAIT"),
            "{rpc:?}"
        );
        assert!(
            rpc.value.is_some_and(|s| (3500..=3600).contains(&s)),
            "{rpc:?}"
        );
        client
            .request_login_code("+1 555 0322")
            .await
            .expect("another number is not limited");
    });
}

fn random_file(path: &Path, size: usize) -> Vec<u8> {
    // A cheap deterministic generator: enough to make every part distinct.
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ size as u64;
    let mut bytes = Vec::with_capacity(size);
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(size);
    std::fs::write(path, &bytes).unwrap();
    Sha256::digest(&bytes).to_vec()
}

fn sha256_file(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

#[test]
fn a_100_mib_file_round_trips_with_four_parts_in_flight_and_downloads_resume() {
    let port = free_port();
    let data = scratch_dir("sdk-files");
    let _server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let source = data.join("source.bin");
    let digest = random_file(&source, 100 << 20);
    runtime().block_on(async {
        let a = connect(addr, &data, &data.join("a.session")).await;
        let b = connect(addr, &data, &data.join("b.session")).await;
        sign_up(&a, "+1 555 0321", "Sender", "sender_sdk").await;
        sign_up(&b, "+1 555 0322", "Receiver", "receiver_sdk").await;
        let to_b = a.resolve_username("receiver_sdk").await.unwrap();
        let calls = AtomicU64::new(0);
        let last = AtomicU64::new(0);
        let progress = |done: u64, total: u64| {
            assert!(done >= last.load(Ordering::Relaxed) && done <= total);
            last.store(done, Ordering::Relaxed);
            calls.fetch_add(1, Ordering::Relaxed);
        };
        let file = a.upload_file(&source, Some(&progress)).await.unwrap();
        assert!(
            matches!(file, enums::InputFile::Big(_)),
            "over 10 MiB: big-file path"
        );
        assert_eq!(last.load(Ordering::Relaxed), 100 << 20);
        assert!(calls.load(Ordering::Relaxed) > 100);
        a.send_file(
            &to_b,
            file,
            "source.bin",
            "application/octet-stream",
            "here",
        )
        .await
        .unwrap();
        let (_, caption, media) = next_message(&b, Duration::from_secs(30))
            .await
            .expect("file");
        assert_eq!(caption, "here");
        let location = FileLocation::of_media(&media.expect("media")).expect("a document");
        assert_eq!(location.size, 100 << 20);
        assert_eq!(location.name.as_deref(), Some("source.bin"));
        let dest = data.join("downloaded.bin");
        let size = b.download_file(&location, &dest, None).await.unwrap();
        assert_eq!(size, 100 << 20);
        assert_eq!(sha256_file(&dest), digest);

        // Cut the download short (as a crash would, mid-chunk) and fetch again: only the
        // rest is downloaded, from the last whole chunk.
        let f = std::fs::OpenOptions::new().write(true).open(&dest).unwrap();
        f.set_len(60 * 1024 * 1024 + 12345).unwrap();
        drop(f);
        let first = AtomicU64::new(u64::MAX);
        let note = |done: u64, _total: u64| {
            let _ = first.compare_exchange(u64::MAX, done, Ordering::Relaxed, Ordering::Relaxed);
        };
        b.download_file(&location, &dest, Some(&note))
            .await
            .unwrap();
        assert_eq!(first.load(Ordering::Relaxed), 60 * 1024 * 1024);
        assert_eq!(sha256_file(&dest), digest);

        // A small file carries its md5 and takes the small-file path.
        let small = data.join("small.bin");
        let small_digest = random_file(&small, 300_000);
        let file = a.upload_file(&small, None).await.unwrap();
        match &file {
            enums::InputFile::InputFile(f) => assert_eq!(f.md5_checksum.len(), 32),
            other => panic!("{other:?}"),
        }
        a.send_file(&to_b, file, "small.bin", "application/octet-stream", "")
            .await
            .unwrap();
        let (_, _, media) = next_message(&b, Duration::from_secs(10))
            .await
            .expect("small");
        let location = FileLocation::of_media(&media.unwrap()).unwrap();
        let dest = data.join("small-downloaded.bin");
        b.download_file(&location, &dest, None).await.unwrap();
        assert_eq!(sha256_file(&dest), small_digest);
    });
}

#[test]
fn an_upload_survives_the_server_being_killed_and_restarted() {
    let port = free_port();
    let data = scratch_dir("sdk-restart");
    let server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let source = data.join("source.bin");
    let digest = random_file(&source, 40 << 20);
    let rt = runtime();
    rt.block_on(async {
        let a = connect(addr, &data, &data.join("a.session")).await;
        let b = connect(addr, &data, &data.join("b.session")).await;
        sign_up(&a, "+1 555 0331", "Up", "up_sdk").await;
        sign_up(&b, "+1 555 0332", "Down", "down_sdk").await;
        let to_b = a.resolve_username("down_sdk").await.unwrap();

        // Kill the server (SIGKILL) once a third of the file is up, then start it again.
        let (killed_tx, killed_rx) = std::sync::mpsc::channel::<()>();
        let halfway = AtomicU64::new(0);
        let progress = move |done: u64, total: u64| {
            if done * 3 >= total && halfway.swap(1, Ordering::Relaxed) == 0 {
                let _ = killed_tx.send(());
            }
        };
        let data2 = data.clone();
        let restarter = std::thread::spawn(move || {
            killed_rx.recv().unwrap();
            server.kill();
            std::thread::sleep(Duration::from_millis(500));
            ServerProcess::start(BINARY, port, &data2)
        });
        let file = a.upload_file(&source, Some(&progress)).await.unwrap();
        let _server = restarter.join().unwrap();
        a.send_file(
            &to_b,
            file,
            "after-restart.bin",
            "application/octet-stream",
            "",
        )
        .await
        .unwrap();
        let (_, _, media) = next_message(&b, Duration::from_secs(30))
            .await
            .expect("file");
        let location = FileLocation::of_media(&media.unwrap()).unwrap();
        let dest = data.join("downloaded.bin");
        b.download_file(&location, &dest, None).await.unwrap();
        assert_eq!(sha256_file(&dest), digest);
    });
}

/// The server loses its store (and with it our key): its -404 makes the client drop the key,
/// make a new one and sign up again, with no restart of the client.
#[test]
fn a_server_that_lost_our_key_gets_a_new_one() {
    let port = free_port();
    let data = scratch_dir("sdk-lost-key");
    let server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let rt = runtime();
    rt.block_on(async {
        let a = connect(addr, &data, &data.join("a.session")).await;
        sign_up(&a, "+1 555 0341", "Lost", "lost_sdk").await;
        assert!(a.is_authorized());
        server.kill();
        for file in ["server.sqlite3", "server.sqlite3-wal", "server.sqlite3-shm"] {
            let _ = std::fs::remove_file(data.join(file));
        }
        let _server = ServerProcess::start(BINARY, port, &data);
        // The first call after the restart may meet the -404 (and fail); then the new key
        // carries every call.
        let mut failed = 0;
        loop {
            match a.invoke(&functions::help::GetConfig {}).await {
                Ok(_) => break,
                Err(e) => {
                    assert!(e.to_string().contains("-404"), "{e}");
                    failed += 1;
                    assert!(failed < 3, "still failing: {e}");
                }
            }
        }
        assert!(!a.is_authorized(), "the account went with the key");
        sign_up(&a, "+1 555 0341", "Found", "found_sdk").await;
        assert!(a.is_authorized());
    });
}

#[test]
fn a_slow_reader_loses_no_update_when_the_queue_overflows() {
    let port = free_port();
    let data = scratch_dir("sdk-overflow");
    let _server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    runtime().block_on(async {
        let a = connect(addr, &data, &data.join("a.session")).await;
        // B keeps at most 2 updates waiting for the application.
        let mut config = Config::for_server(
            2,
            addr.to_string(),
            server_key(&data),
            Arc::new(FileSessionStore::new(data.join("b.session"))),
        );
        config.update_queue = 2;
        let b = Client::connect(config).await.unwrap();
        sign_up(&a, "+1 555 0341", "Fast", "fast_sdk").await;
        sign_up(&b, "+1 555 0342", "Slow", "slow_sdk").await;
        let to_b = a.resolve_username("slow_sdk").await.unwrap();
        // B reads nothing while 40 messages arrive.
        for i in 0..40 {
            a.send_message(&to_b, &format!("n{i}")).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut got = Vec::new();
        while let Some((_, text, _)) = next_message(&b, Duration::from_secs(3)).await {
            got.push(text);
        }
        let want: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        assert_eq!(got, want, "every message once, in order");

        // B's application stops reading with its queue full, then drops the client: the
        // client goes away (its connection closes) instead of waiting forever for a reader.
        for i in 0..10 {
            a.send_message(&to_b, &format!("m{i}")).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(connections_to(port), 2, "A and B connected");
        drop(b);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while connections_to(port) != 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "B's connection stayed open after the client was dropped"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

/// Established TCP connections to loopback `port` (clients' side), from /proc/net/tcp.
fn connections_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let remote = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(2) == Some(&remote.as_str()) && fields.get(3) == Some(&"01")
        })
        .count()
}
