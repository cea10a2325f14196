//! TCP next to WebSocket, one server, one run: N client-sdk clients on the obfuscated
//! intermediate transport over TCP, then N more on the same transport in WebSocket messages
//! (`ws://…/apiws` on the same port), each sending M messages to the next client of its group
//! while receiving from the previous one. Prints, per carrier, messages/s, p50/p99
//! send-to-receive latency and the server's memory per connection (its resident size after
//! the group signed up, less before; every group stays connected, after an unreported
//! warm-up group).
//!
//! `cargo bench -p server-kit --bench websocket -- [N] [M]` (defaults 50 and 40). The server
//! is the release binary (or the one `SERVER_KIT_BIN` names), on a free port with a scratch
//! data directory.

#[path = "../tests/common/mod.rs"]
mod common;

use client_sdk::api::enums;
use client_sdk::{Client, Config, MemorySessionStore, PeerRef, Transport};
use common::{ServerProcess, free_port, rss_kib, scratch_dir, server_key};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

static START: OnceLock<Instant> = OnceLock::new();

fn since_start() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1e6
}

/// Connects and signs up user `i` of group `group` on `transport`.
async fn sign_up(
    addr: String,
    data: &Path,
    transport: Transport,
    group: usize,
    i: usize,
) -> Client {
    let mut config = Config::for_server(
        2,
        addr,
        server_key(data),
        Arc::new(MemorySessionStore::default()),
    );
    config.transport = transport;
    let client = Client::connect(config).await.expect("connect");
    let phone = format!("{}", 710_000_000 + group * 100_000 + i);
    let token = client.request_login_code(&phone).await.expect("send code");
    let _ = client.sign_in(&token, "12345").await;
    client
        .sign_up(&token, &format!("u{group}_{i}"), "")
        .await
        .expect("sign up");
    client
        .set_username(&format!("bench{group}u{i}"))
        .await
        .expect("username");
    client
}

/// What one carrier did.
struct Outcome {
    name: &'static str,
    delivered: usize,
    expected: usize,
    secs: f64,
    latencies: Vec<u64>,
    kib_per_connection: f64,
    /// Kept connected until the end, so that each group's memory is measured on top of the
    /// ones before.
    clients: Vec<Client>,
}

/// The server under test.
struct Target {
    addr: String,
    data: std::path::PathBuf,
    pid: u32,
}

/// Signs up `n` clients on `transport`, then each sends `m` messages to the next and
/// receives `m` from the previous.
async fn run_group(
    target: &Target,
    (name, transport): (&'static str, Transport),
    group: usize,
    n: usize,
    m: usize,
) -> Outcome {
    let (addr, data) = (&target.addr, &target.data);
    let rss_before = rss_kib(target.pid);
    let mut tasks = Vec::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    for i in 0..n {
        let (addr, data, limit) = (addr.to_owned(), data.to_owned(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            sign_up(addr, &data, transport, group, i).await
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.expect("sign-up task"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(target.pid);
    let mut peers: Vec<PeerRef> = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let next = format!("bench{group}u{}", (i + 1) % n);
        peers.push(c.resolve_username(&next).await.expect("resolve"));
    }
    since_start();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (c, peer) in clients.iter().cloned().zip(peers) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(m);
            for _ in 0..m {
                c.send_message(&peer, &since_start().to_string())
                    .await
                    .expect("send");
            }
            let deadline = Instant::now() + Duration::from_secs(120);
            while latencies.len() < m && Instant::now() < deadline {
                let Some(update) = c.next_update_timeout(Duration::from_secs(5)).await else {
                    continue;
                };
                if let enums::Update::NewMessage(u) = update {
                    if let enums::Message::Message(msg) = u.message {
                        if let (false, Ok(at)) = (msg.out, msg.message.parse::<u64>()) {
                            latencies.push(since_start().saturating_sub(at));
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client task"));
    }
    let secs = began.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Outcome {
        name,
        delivered: latencies.len(),
        expected: n * m,
        secs,
        latencies,
        kib_per_connection: rss_after.saturating_sub(rss_before) as f64 / n as f64,
        clients,
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(50);
    let m: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(n, m));
}

async fn run(n: usize, m: usize) {
    let dir = scratch_dir("ws-bench");
    let data = dir.join("data");
    let port = free_port();
    let binary = std::env::var("SERVER_KIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_server-kit").to_owned());
    let server = ServerProcess::start_with(
        &binary,
        port,
        &data,
        &["--handshakes-per-minute", "10000000"],
    );
    let target = Target {
        addr: format!("127.0.0.1:{port}"),
        data,
        pid: server.child.id(),
    };
    // A first group warms the server up (its store, its allocator) and is not reported: the
    // memory of the first connections would count the server's own growth.
    let mut outcomes = Vec::new();
    for (group, carrier) in [
        ("warm-up (TCP)", Transport::ObfuscatedIntermediate),
        ("TCP", Transport::ObfuscatedIntermediate),
        ("WebSocket", Transport::WebSocketIntermediate),
    ]
    .into_iter()
    .enumerate()
    {
        outcomes.push(run_group(&target, carrier, group, n, m).await);
    }
    println!(
        "clients: {n} per carrier, messages per client: {m} (client-sdk, obfuscated intermediate)"
    );
    println!("| carrier | delivered | messages/s | p50 ms | p99 ms | server KiB per connection |");
    println!("|---|---|---|---|---|---|");
    for o in &outcomes[1..] {
        println!(
            "| {} | {}/{} | {:.0} | {:.1} | {:.1} | {:.1} |",
            o.name,
            o.delivered,
            o.expected,
            o.delivered as f64 / o.secs,
            percentile(&o.latencies, 0.50),
            percentile(&o.latencies, 0.99),
            o.kib_per_connection
        );
    }
    for c in outcomes.into_iter().flat_map(|o| o.clients) {
        let _ = c.disconnect().await;
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
