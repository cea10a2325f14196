//! Load benchmark: N authorised clients over loopback, each sending M messages to the next
//! one while receiving from the previous one. Prints messages/s, p50/p99 send-to-receive
//! latency and the server's memory per connection.
//!
//! `cargo bench -p server-kit --bench load -- [N] [M] [--flood]` (defaults 100 and 20). The
//! server is the release binary (or the one `SERVER_KIT_BIN` names), started on a free port
//! with a scratch data directory.
//!
//! With `--flood` the clients go through their messages twice, the second time while one
//! more user sends sendMessage as fast as it can (batches of 200 in containers): the two
//! rounds' latencies side by side show what a flooding user costs the others, and the
//! flooder's count of `FLOOD_WAIT_X` answers shows the per-user call rate at work.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{MiniClient, ServerProcess, free_port, rss_kib, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tl_runtime::Deserialize;

static START: OnceLock<Instant> = OnceLock::new();

fn since_start() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

async fn sign_up(
    addr: SocketAddr,
    key: &mtproto::crypto::RsaPublicKey,
    i: usize,
) -> (MiniClient, i64, i64) {
    let mut c = MiniClient::connect(addr, key, Kind::Intermediate)
        .await
        .expect("connect");
    let user = c
        .sign_up(&format!("{}", 700_000_000 + i), &format!("user{i}"), "")
        .await
        .expect("sign up");
    (c, user.id, user.access_hash.unwrap_or_default())
}

fn sent_at(update: &[u8]) -> Option<u64> {
    let enums::Updates::Updates(u) = enums::Updates::from_bytes(update.to_vec()).ok()? else {
        return None;
    };
    u.updates.into_iter().find_map(|u| match u {
        enums::Update::NewMessage(m) => match m.message {
            enums::Message::Message(m) if !m.out => m.message.parse().ok(),
            _ => None,
        },
        _ => None,
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

/// A signed-up client, its user id and access hash.
type Client = (MiniClient, i64, i64);

/// Every client sends `m` messages to the next one and receives `m` from the previous one;
/// the clients back, and every message's send-to-receive latency in nanoseconds.
async fn exchange(
    clients: Vec<Client>,
    peers: &[(i64, i64)],
    m: usize,
    round: usize,
) -> (Vec<Client>, Vec<u64>) {
    let n = clients.len();
    since_start();
    let mut tasks = Vec::new();
    for (i, (mut c, id, hash)) in clients.into_iter().enumerate() {
        let (to, to_hash) = peers[(i + 1) % n];
        tasks.push(tokio::spawn(async move {
            let peer: enums::InputPeer = types::InputPeerUser {
                user_id: to,
                access_hash: to_hash,
            }
            .into();
            let mut latencies = Vec::with_capacity(m);
            let mut sent = 0;
            let deadline = Instant::now() + Duration::from_secs(300);
            while (sent < m || latencies.len() < m) && Instant::now() < deadline {
                if sent < m {
                    let text = since_start().to_string();
                    let random_id = ((round * n + i) * m + sent) as i64 + 1;
                    c.invoke(&functions::messages::SendMessage::new(
                        peer.clone(),
                        text,
                        random_id,
                    ))
                    .await
                    .expect("sendMessage");
                    sent += 1;
                } else if c
                    .next_update(Duration::from_secs(5))
                    .await
                    .map(|u| c.updates.push_front(u))
                    .is_none()
                {
                    continue;
                }
                while let Some((arrived, body)) = c.updates.pop_front() {
                    if let Some(at) = sent_at(&body) {
                        let arrived = arrived
                            .duration_since(*START.get().expect("start"))
                            .as_nanos() as u64;
                        latencies.push(arrived.saturating_sub(at));
                    }
                }
            }
            ((c, id, hash), latencies)
        }));
    }
    let mut back = Vec::with_capacity(n);
    let mut latencies = Vec::new();
    for t in tasks {
        let (client, l) = t.await.expect("client task");
        back.push(client);
        latencies.extend(l);
    }
    (back, latencies)
}

/// Sends notes to self as fast as the server answers until `stop`: how many were sent and
/// how many answered `FLOOD_WAIT_X`.
async fn flood_until(mut c: MiniClient, stop: Arc<std::sync::atomic::AtomicBool>) -> (u64, u64) {
    let (mut sent, mut refused, mut next_id) = (0u64, 0u64, 1_000_000_000i64);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let batch: Vec<_> = (0..200)
            .map(|_| {
                next_id += 1;
                functions::messages::SendMessage::new(
                    enums::InputPeer::InputPeerSelf,
                    "flood".into(),
                    next_id,
                )
            })
            .collect();
        for result in c.invoke_all(&batch).await {
            match result {
                Ok(_) => sent += 1,
                Err(common::CallError::Rpc(e)) if e.message.starts_with("FLOOD_WAIT_") => {
                    refused += 1
                }
                Err(e) => panic!("flooder: {e}"),
            }
        }
    }
    (sent, refused)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let m: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(n, m));
}

async fn run(n: usize, m: usize) {
    let dir = scratch_dir("load");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // SERVER_KIT_BIN runs another build of the server (say, the previous commit's) under the
    // same clients, for a side-by-side comparison.
    let binary = std::env::var("SERVER_KIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_server-kit").to_owned());
    let flood = std::env::args().any(|a| a == "--flood");
    // The per-user call rate of deploy/node.toml, which the flooder runs into.
    let mut flags = vec!["--handshakes-per-minute", "10000000"];
    if flood {
        flags.extend(["--user-calls-per-second", "100", "--user-call-burst", "500"]);
    }
    let server = ServerProcess::start_with(&binary, port, &data, &flags);
    let pid = server.child.id();
    let key = server_key(&data);
    let rss_idle = rss_kib(pid);

    // Sign everyone up, 32 key exchanges at a time.
    let setup = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (key, limit) = (key.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            sign_up(addr, &key, i).await
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.expect("sign-up task"));
    }
    let setup_secs = setup.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = rss_kib(pid);
    let peers: Vec<(i64, i64)> = clients.iter().map(|(_, id, hash)| (*id, *hash)).collect();

    let rounds = if flood { 2 } else { 1 };
    let mut flooder = if flood {
        Some(sign_up(addr, &key, n).await.0)
    } else {
        None
    };
    let mut results = Vec::new();
    for round in 0..rounds {
        // Round 1 of a --flood run: one more user floods while the others send.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flooding = (round == 1)
            .then(|| flooder.take())
            .flatten()
            .map(|c| tokio::spawn(flood_until(c, stop.clone())));
        let began = Instant::now();
        let (back, mut latencies) = exchange(clients, &peers, m, round).await;
        clients = back;
        let elapsed = began.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let flood_counts = match flooding {
            Some(task) => Some(task.await.expect("flood task")),
            None => None,
        };
        latencies.sort_unstable();
        results.push((elapsed, latencies, flood_counts));
    }
    println!("clients: {n}, messages per client: {m}");
    println!("sign-up of all clients: {setup_secs:.1} s");
    for (round, (elapsed, latencies, flood_counts)) in results.iter().enumerate() {
        let label = match (rounds, round) {
            (1, _) => String::new(),
            (_, 0) => "without a flooder: ".into(),
            _ => "with a flooder: ".into(),
        };
        println!(
            "{label}messages: {} delivered of {}, {:.0} messages/s",
            latencies.len(),
            n * m,
            latencies.len() as f64 / elapsed
        );
        println!(
            "{label}send-to-receive latency: p50 {:.1} ms, p99 {:.1} ms",
            percentile(latencies, 0.50),
            percentile(latencies, 0.99)
        );
        if let Some((sent, refused)) = flood_counts {
            println!("the flooder: {sent} sent, {refused} answered FLOOD_WAIT_X");
        }
    }
    println!(
        "server memory: {} KiB idle, {} KiB with {n} connections: {:.1} KiB per connection",
        rss_idle,
        rss_connected,
        (rss_connected.saturating_sub(rss_idle)) as f64 / n as f64
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
