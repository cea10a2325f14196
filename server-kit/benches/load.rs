//! Load benchmark: N authorised clients over loopback, each sending M messages to the next
//! one while receiving from the previous one. Prints messages/s, p50/p99 send-to-receive
//! latency and the server's memory per connection.
//!
//! `cargo bench -p server-kit --bench load -- [N] [M]` (defaults 100 and 20). The server is
//! the release binary, started on a free port with a scratch data directory.

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
    let binary = env!("CARGO_BIN_EXE_server-kit");
    let server = ServerProcess::start_with(
        binary,
        port,
        &data,
        &["--handshakes-per-minute", "10000000"],
    );
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

    // Everyone sends m messages to the next client and receives m from the previous one.
    since_start();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (i, (mut c, _, _)) in clients.into_iter().enumerate() {
        let (to, hash) = peers[(i + 1) % n];
        tasks.push(tokio::spawn(async move {
            let peer: enums::InputPeer = types::InputPeerUser {
                user_id: to,
                access_hash: hash,
            }
            .into();
            let mut latencies = Vec::with_capacity(m);
            let mut sent = 0;
            let deadline = Instant::now() + Duration::from_secs(300);
            while (sent < m || latencies.len() < m) && Instant::now() < deadline {
                if sent < m {
                    let text = since_start().to_string();
                    let random_id = (i * m + sent) as i64 + 1;
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
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client task"));
    }
    let elapsed = began.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let delivered = latencies.len();
    println!("clients: {n}, messages per client: {m}");
    println!("sign-up of all clients: {setup_secs:.1} s");
    println!(
        "messages: {delivered} delivered of {}, {:.0} messages/s",
        n * m,
        delivered as f64 / elapsed
    );
    println!(
        "send-to-receive latency: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
    println!(
        "server memory: {} KiB idle, {} KiB with {n} connections: {:.1} KiB per connection",
        rss_idle,
        rss_connected,
        (rss_connected.saturating_sub(rss_idle)) as f64 / n as f64
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
