//! Graceful shutdown: SIGTERM in the middle of a burst of sendMessage calls loses no message
//! a client saw answered, no client gets half a frame, and the server exits 0 with its
//! store checkpointed; in process, `gateway::serve_until` answers the call in flight, does
//! not run requests that arrive during the stop unless it answers them, and gives up at its
//! deadline.
//!
//! The process test could not pass with a server killed instead of stopped (SIGKILL, or
//! the default action of SIGTERM): its exit status would not be 0, the log would not say
//! `stopped: drained`, and the SQLite write-ahead log would be left with the burst in it.
//! A server that dropped its connections without writing what was produced first would show
//! as answers missing and, when cut mid-write, as a frame cut short on the client.

mod common;

use common::{CallError, MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::crypto::RsaPublicKey;
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use server_kit::Service;
use server_kit::rpc::{BoxFuture, Caller, Policy, RpcResult};
use server_kit::{Node, NodeBuilder, Options};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tl_runtime::{Identifiable, Serialize};
use tokio::sync::{Notify, Semaphore};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

/// What a clean close looks like to the test client: the end of the stream after whole
/// frames (a close in the middle of one is a different error, see MiniClient::until_closed).
fn clean_close() -> String {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof).to_string()
}

/// Sends sendMessage calls in batches (each batch in flight at once) until the connection
/// ends: the texts the server answered, and the error the rest got.
async fn burst(
    mut client: MiniClient,
    to: enums::InputPeer,
    tag: &'static str,
    batches: Arc<AtomicUsize>,
) -> (Vec<String>, String) {
    const BATCH: usize = 40;
    let mut answered = Vec::new();
    for round in 0..1000 {
        let texts: Vec<String> = (0..BATCH).map(|i| format!("{tag} {round} {i}")).collect();
        let calls: Vec<_> = texts
            .iter()
            .map(|text| {
                let random_id = i64::from_le_bytes(rand_bytes());
                functions::messages::SendMessage::new(to.clone(), text.clone(), random_id)
            })
            .collect();
        let mut ended = None;
        for (text, result) in texts.into_iter().zip(client.invoke_all(&calls).await) {
            match result {
                Ok(_) => answered.push(text),
                Err(CallError::Rpc(e)) => panic!("{tag}: sendMessage answered {e}"),
                Err(CallError::Other(e)) => ended = Some(e),
            }
        }
        if let Some(e) = ended {
            return (answered, e);
        }
        batches.fetch_add(1, Ordering::SeqCst);
    }
    panic!("{tag}: the server never stopped");
}

fn rand_bytes() -> [u8; 8] {
    let mut b = [0u8; 8];
    common::os_rng(&mut b);
    b
}

/// Every text in the history with `peer`, page by page.
async fn history(client: &mut MiniClient, peer: &enums::InputPeer) -> HashSet<String> {
    let mut texts = HashSet::new();
    let mut offset_id = 0;
    loop {
        let page = client
            .invoke(&functions::messages::GetHistory {
                peer: peer.clone(),
                offset_id,
                offset_date: 0,
                add_offset: 0,
                limit: 100,
                max_id: 0,
                min_id: 0,
                hash: 0,
            })
            .await
            .expect("getHistory");
        let messages = match page {
            enums::messages::Messages::Messages(m) => m.messages,
            enums::messages::Messages::Slice(m) => m.messages,
            other => panic!("{other:?}"),
        };
        let mut lowest = None;
        for message in messages {
            if let enums::Message::Message(m) = message {
                lowest = Some(lowest.map_or(m.id, |l: i32| l.min(m.id)));
                texts.insert(m.message);
            }
        }
        match lowest {
            Some(id) => offset_id = id,
            None => return texts,
        }
    }
}

fn peer_of(user: &types::User) -> enums::InputPeer {
    enums::InputPeer::User(types::InputPeerUser {
        user_id: user.id,
        access_hash: user.access_hash.unwrap_or_default(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_loses_no_answered_message() {
    let dir = scratch_dir("shutdown-sigterm");
    let data = dir.join("data");
    let port = free_port();
    let mut server = ServerProcess::start_with(BINARY, port, &data, &["--shutdown-timeout", "30"]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let key = server_key(&data);
    let mut a = MiniClient::connect(addr, &key, Kind::Intermediate)
        .await
        .expect("connect");
    let mut b = MiniClient::connect(addr, &key, Kind::Abridged)
        .await
        .expect("connect");
    let alice = a
        .sign_up("15550177001", "Alice", "Burst")
        .await
        .expect("sign up");
    let bob = b
        .sign_up("15550177002", "Bob", "Burst")
        .await
        .expect("sign up");
    let a_key = a.session().auth_key().clone();
    let batches = Arc::new(AtomicUsize::new(0));
    let a_burst = tokio::spawn(burst(a, peer_of(&bob), "a", batches.clone()));
    let b_burst = tokio::spawn(burst(b, peer_of(&alice), "b", batches.clone()));
    // Both under way: a few batches answered, the next ones in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while batches.load(Ordering::SeqCst) < 6 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -TERM {pid}");

    let (a_answered, a_end) = a_burst.await.expect("a's burst");
    let (b_answered, b_end) = b_burst.await.expect("b's burst");
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    assert_eq!(status.code(), Some(0), "exit status {status}; log:\n{log}");
    for (who, end) in [("a", &a_end), ("b", &b_end)] {
        assert_eq!(
            end,
            &clean_close(),
            "{who}'s connection did not end cleanly"
        );
    }
    for phase in [
        "stopping: no new connections",
        "stopping: every call answered",
        "stopped: drained",
    ] {
        assert!(log.contains(phase), "no {phase:?} in the log:\n{log}");
    }
    assert!(
        log.lines().any(|l| l.ends_with(" exit")),
        "no exit line:\n{log}"
    );
    // The store was checkpointed: nothing left in the write-ahead log.
    let wal = data.join("server.sqlite3-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "{} is not empty", wal.display());
    drop(server);
    for line in log.lines().filter(|l| l.contains("stop")) {
        eprintln!("{line}");
    }

    let port = free_port();
    let server = ServerProcess::start(BINARY, port, &data);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let mut a = MiniClient::resume(addr, a_key, Kind::Intermediate)
        .await
        .expect("reconnect");
    let stored = history(&mut a, &peer_of(&bob)).await;
    let answered: Vec<&String> = a_answered.iter().chain(&b_answered).collect();
    assert!(!answered.is_empty());
    let lost: Vec<&&String> = answered.iter().filter(|t| !stored.contains(**t)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered messages are not stored: {lost:?}",
        lost.len(),
        answered.len()
    );
    eprintln!(
        "{} messages answered, {} stored (the rest never ran)",
        answered.len(),
        stored.len()
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A second signal during the stop exits at once, with status 1. The stop is kept going by a
/// client that never closes its side: the server waits up to `gateway::LINGER` (1 s) for it
/// after its own FIN, and the second signal comes as soon as the log says the stop began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let dir = scratch_dir("shutdown-twice");
    let data = dir.join("data");
    let port = free_port();
    let mut server = ServerProcess::start_with(BINARY, port, &data, &["--shutdown-timeout", "30"]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    // Connected (the key exchange done), then never read from again.
    let idle = MiniClient::connect(addr, &server_key(&data), Kind::Intermediate)
        .await
        .expect("connect");
    let log_path = data.with_extension("log");
    let pid = server.child.id().to_string();
    let signal = || {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM {pid}");
    };
    let log_says =
        |what: &str| std::fs::read_to_string(&log_path).is_ok_and(|log| log.contains(what));
    let deadline = Instant::now() + Duration::from_secs(30);
    signal();
    while !log_says("stopping: no new connections") {
        assert!(Instant::now() < deadline, "the stop did not begin");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    signal();
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert_eq!(status.code(), Some(1), "{status}; log:\n{log}");
    assert!(log.contains("second signal"), "{log}");
    assert!(!log.contains("stopped: drained"), "{log}");
    drop(idle);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// help.getNearestDc that waits for a permit before it answers, counting its calls.
struct Slow {
    started: AtomicUsize,
    began: Notify,
    release: Semaphore,
}

impl Slow {
    fn new() -> Arc<Self> {
        Arc::new(Slow {
            started: AtomicUsize::new(0),
            began: Notify::new(),
            release: Semaphore::new(0),
        })
    }
}

struct SlowService(Arc<Slow>);

impl Service for SlowService {
    fn methods(&self) -> Vec<u32> {
        vec![functions::help::GetNearestDc::CONSTRUCTOR_ID]
    }

    /// Like the built-in `help.getNearestDc`: callable before sign-in.
    fn policy(&self, _method: u32) -> Policy {
        Policy::SIGNED_IN.without_auth()
    }

    fn call<'a>(&'a self, _: &'a Arc<Node>, _: Caller, _: Vec<u8>) -> BoxFuture<'a, RpcResult> {
        Box::pin(async move {
            self.0.started.fetch_add(1, Ordering::SeqCst);
            self.0.began.notify_one();
            if let Ok(permit) = self.0.release.acquire().await {
                permit.forget();
            }
            Ok(types::NearestDc {
                country: "ZZ".into(),
                this_dc: 2,
                nearest_dc: 2,
            }
            .to_bytes())
        })
    }
}

/// A server in this process with the slow service, its listener and its public key.
async fn in_process(
    name: &str,
    slow: &Arc<Slow>,
) -> (Arc<Node>, tokio::net::TcpListener, RsaPublicKey) {
    let dir = scratch_dir(name);
    let rsa = server_kit::keys::load_or_create(&dir).expect("RSA key");
    let store = Arc::new(server_kit::store::SqliteStore::in_memory().expect("store"));
    let files = Arc::new(server_kit::media::DiskStorage::new(dir.join("media")).expect("media"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let public = rsa.public_key().clone();
    let server = server_kit::reference(NodeBuilder::new(Options::new(addr), store, files, rsa))
        .service(Arc::new(SlowService(slow.clone())))
        .build()
        .expect("server");
    (server, listener, public)
}

fn nearest_dc() -> functions::help::GetNearestDc {
    functions::help::GetNearestDc {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_until_answers_the_call_in_flight_then_closes() {
    let slow = Slow::new();
    let (server, listener, public) = in_process("shutdown-in-process", &slow).await;
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server_kit::gateway::serve_until(
        server.clone(),
        listener,
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(20),
    ));
    let mut c = MiniClient::connect(addr, &public, Kind::Intermediate)
        .await
        .expect("connect");
    let mut d = MiniClient::connect(addr, &public, Kind::Abridged)
        .await
        .expect("connect");
    let in_flight = tokio::spawn(async move {
        let answer = c.invoke(&nearest_dc()).await;
        let end = c.until_closed(Duration::from_secs(20)).await;
        (answer, end)
    });
    slow.began.notified().await;
    let _ = stop.send(());
    // Sent during the stop: either not run at all, or run and answered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = tokio::spawn(async move { d.invoke(&nearest_dc()).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    slow.release.add_permits(10);

    let drained = tokio::time::timeout(Duration::from_secs(30), serving)
        .await
        .expect("serve_until returned")
        .expect("serve_until task");
    assert_eq!(drained.connections, 2, "{drained:?}");
    assert_eq!(drained.calls, 1, "{drained:?}");
    assert!(drained.is_complete(), "{drained:?}");
    let (answer, end) = in_flight.await.expect("client task");
    let enums::NearestDc::NearestDc(dc) = answer.expect("the call in flight is answered");
    assert_eq!(dc.country, "ZZ");
    assert_eq!(end.to_string(), clean_close());
    let late = late.await.expect("late client task");
    match slow.started.load(Ordering::SeqCst) {
        1 => match late {
            Err(CallError::Other(e)) => assert_eq!(e, clean_close()),
            other => panic!("a call that did not run: {other:?}"),
        },
        2 => assert!(late.is_ok(), "a call that ran was not answered: {late:?}"),
        n => panic!("{n} calls ran"),
    }
    assert_eq!(server.calls_in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_until_gives_up_at_its_deadline() {
    let slow = Slow::new();
    let (server, listener, public) = in_process("shutdown-deadline", &slow).await;
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server_kit::gateway::serve_until(
        server.clone(),
        listener,
        async {
            let _ = stopped.await;
        },
        Duration::from_millis(300),
    ));
    let mut c = MiniClient::connect(addr, &public, Kind::Intermediate)
        .await
        .expect("connect");
    let in_flight = tokio::spawn(async move { c.invoke(&nearest_dc()).await });
    slow.began.notified().await;
    let _ = stop.send(());
    // The call never finishes: the stop ends at its deadline, without its answer.
    let drained = tokio::time::timeout(Duration::from_secs(30), serving)
        .await
        .expect("serve_until returned at its deadline")
        .expect("serve_until task");
    assert_eq!(drained.calls, 1, "{drained:?}");
    assert_eq!(drained.calls_unanswered, 1, "{drained:?}");
    assert!(!drained.is_complete());
    match in_flight.await.expect("client task") {
        Err(CallError::Other(e)) => assert_eq!(e, clean_close()),
        other => panic!("an unfinished call: {other:?}"),
    }
    slow.release.add_permits(1);
}

/// With other nodes (feature `cluster`): `Bus::flush` returns only once the notices queued
/// before it are published. The publishing node's runtime is dropped right after the flush,
/// taking its publishing task along; a flush that returned early would lose the rest.
#[cfg(feature = "cluster")]
#[test]
fn the_redis_bus_flushes_every_queued_notice() {
    use server_kit::bus::{Bus, ChangeNotice, Event, RedisBus};
    use std::process::{Child, Command, Stdio};

    struct Redis(Child);
    impl Drop for Redis {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    const NOTICES: i64 = 5000;
    let port = free_port();
    let _redis = Redis(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("redis://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listening = {
        let _in = runtime.enter();
        RedisBus::start(&url).expect("bus")
    };
    let mut events = listening.events().expect("events");
    let publishing_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let publishing = {
        let _in = publishing_runtime.enter();
        RedisBus::start(&url).expect("bus")
    };
    // Probes until the listening node hears one: both are connected.
    let heard = |events: &mut tokio::sync::mpsc::Receiver<Event>, wait| {
        runtime.block_on(async { tokio::time::timeout(wait, events.recv()).await.ok() })
    };
    let mut ready = false;
    for _ in 0..100 {
        publishing_runtime.block_on(async {
            publishing.publish(ChangeNotice::Key { key_id: -1 });
            publishing.flush().await;
        });
        if heard(&mut events, Duration::from_millis(100)).is_some() {
            ready = true;
            break;
        }
    }
    assert!(ready, "the nodes never heard each other");
    while heard(&mut events, Duration::from_millis(300)).is_some() {}

    publishing_runtime.block_on(async {
        for user in 0..NOTICES {
            publishing.publish(ChangeNotice::User {
                user,
                pts: 1,
                pts_count: 1,
            });
        }
        publishing.flush().await;
    });
    drop(publishing);
    drop(publishing_runtime);
    let mut users = HashSet::new();
    while let Some(Some(event)) = heard(&mut events, Duration::from_secs(2)) {
        if let Event::Changed(ChangeNotice::User { user, .. }) = event {
            users.insert(user);
        }
    }
    assert_eq!(users.len() as i64, NOTICES);
}
