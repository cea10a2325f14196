//! Channel fan-out benchmark: N members (10,000 by default) connected over loopback; the admin
//! posts P times; prints how long until every member had each post, and the server's memory.
//!
//! `cargo bench -p server-kit --bench fanout -- [N] [P]`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{MiniClient, ServerProcess, free_port, rss_kib, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn sign_up(addr: SocketAddr, key: &mtproto::crypto::RsaPublicKey, i: usize) -> MiniClient {
    let mut c = MiniClient::connect(addr, key, Kind::Abridged)
        .await
        .expect("connect");
    c.sign_up(&format!("{}", 500_000_000 + i), &format!("member{i}"), "")
        .await
        .expect("sign up");
    c
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let posts = args.get(1).copied().unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(n, posts));
}

async fn run(n: usize, posts: usize) {
    let dir = scratch_dir("fanout");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start_with(
        env!("CARGO_BIN_EXE_server-kit"),
        port,
        &data,
        &[
            "--handshakes-per-minute",
            "100000000",
            "--connections-per-ip",
            "1000000",
        ],
    );
    let pid = server.child.id();
    let key = server_key(&data);
    let rss_idle = rss_kib(pid);
    let mut admin = sign_up(addr, &key, 9_999_999).await;
    let created = admin
        .invoke(&functions::channels::CreateChannel {
            broadcast: true,
            title: "Fan-out".into(),
            ..Default::default()
        })
        .await
        .expect("createChannel");
    let enums::Updates::Updates(created) = created else {
        panic!()
    };
    let enums::Chat::Channel(ch) = &created.chats[0] else {
        panic!()
    };
    let channel = types::InputChannel {
        channel_id: ch.id,
        access_hash: ch.access_hash.unwrap_or_default(),
    };
    admin
        .invoke(&functions::channels::UpdateUsername {
            channel: channel.clone().into(),
            username: "fanout_bench".into(),
        })
        .await
        .expect("username");

    // Members sign up and join, 64 at a time; each then waits for the posts.
    let joined = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut tasks = Vec::new();
    for i in 0..n {
        let (key, limit, channel, ready) = (
            key.clone(),
            limit.clone(),
            channel.clone(),
            ready_tx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut c = {
                let _permit = limit.acquire_owned().await.expect("semaphore");
                let mut c = sign_up(addr, &key, i).await;
                c.invoke(&functions::channels::JoinChannel {
                    channel: channel.into(),
                })
                .await
                .expect("join");
                c
            };
            let _ = ready.send(());
            let mut arrivals = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(1800);
            while arrivals.len() < posts && Instant::now() < deadline {
                let waited = Instant::now();
                match c.next_update(Duration::from_secs(60)).await {
                    Some((at, _)) => arrivals.push(at),
                    // A broken connection answers at once: give up on it.
                    None if waited.elapsed() < Duration::from_secs(1) => break,
                    None => {}
                }
            }
            arrivals
        }));
    }
    drop(ready_tx);
    for _ in 0..n {
        ready_rx.recv().await.expect("a member");
    }
    let setup = joined.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = rss_kib(pid);

    let mut post_times = Vec::new();
    for p in 0..posts {
        let at = Instant::now();
        admin
            .invoke(&functions::messages::SendMessage::new(
                types::InputPeerChannel {
                    channel_id: channel.channel_id,
                    access_hash: channel.access_hash,
                }
                .into(),
                format!("post {p}"),
                p as i64 + 1,
            ))
            .await
            .expect("post");
        post_times.push(at);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let rss_after = rss_kib(pid);
    let mut per_post: Vec<Vec<f64>> = vec![Vec::new(); posts];
    let mut missing = 0;
    for t in tasks {
        let arrivals = t.await.expect("member task");
        missing += posts - arrivals.len();
        for (p, at) in arrivals.into_iter().enumerate() {
            per_post[p].push(at.duration_since(post_times[p]).as_secs_f64() * 1000.0);
        }
    }
    println!("members: {n}, posts: {posts}; sign-up and join of all members: {setup:.1} s");
    for (p, mut lat) in per_post.into_iter().enumerate() {
        lat.sort_by(|a, b| a.total_cmp(b));
        let pick = |q: f64| {
            lat.get(((lat.len() as f64 - 1.0) * q) as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "post {p}: reached {} members; p50 {:.0} ms, p99 {:.0} ms, last {:.0} ms",
            lat.len(),
            pick(0.5),
            pick(0.99),
            pick(1.0)
        );
    }
    println!("members that missed a post: {missing}");
    println!(
        "server memory: {rss_idle} KiB idle, {rss_connected} KiB with {n} members connected ({:.1} KiB each), {rss_after} KiB after the posts",
        (rss_connected.saturating_sub(rss_idle)) as f64 / n as f64
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
