//! One node on SQLite next to two nodes on PostgreSQL + Redis, in the same run: N authorised
//! clients over loopback, each sending M messages to the next one while receiving from the
//! previous one (the load benchmark's traffic), measured twice:
//!
//! - (a) all N clients on one node with the default SQLite store;
//! - (b) the N clients alternating over two nodes (N/2 each) that share a PostgreSQL store
//!   and a Redis bus (media on each node's local disk): client i is on node 1 + i % 2 and
//!   sends to client i + 1, so every message goes from one node to the other and its pushed
//!   update comes through the bus.
//!
//! Prints, side by side, messages/s, p50/p99 latency from send to the pushed update received,
//! and each node's memory (RSS).
//!
//! `cargo bench -p server-kit --features cluster,postgres --bench cluster_load -- [N] [M]`
//! (defaults 1000 and 10; N is rounded up to an even number). Everything runs on loopback
//! on free ports and is stopped by PID, also when the benchmark fails: the server binary
//! (a copy of this build's), `redis-server` (Debian: `apt-get install redis-server`), and
//! PostgreSQL — the server at `TEST_POSTGRES_URL` if set (a new database made for the run and
//! dropped after it), else a throwaway one started and stopped with `.ci/postgres.sh`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{MiniClient, ServerProcess, free_port, rss_kib, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tl_runtime::Deserialize;

static START: OnceLock<Instant> = OnceLock::new();

fn since_start() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

const POSTGRES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/postgres.sh");

/// A line of /proc/PID/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
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

/// The send time carried in an incoming message's text.
fn sent_at(update: &[u8]) -> Option<u64> {
    let updates = match enums::Updates::from_bytes(update.to_vec()).ok()? {
        enums::Updates::Updates(u) => u.updates,
        enums::Updates::Combined(u) => u.updates,
        enums::Updates::UpdateShort(u) => vec![u.update],
        enums::Updates::UpdateShortMessage(m) if !m.out => return m.message.parse().ok(),
        _ => return None,
    };
    updates.into_iter().find_map(|u| match u {
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

/// A node's memory at the points the benchmark looks at, in KiB.
#[derive(Default, Clone, Copy)]
struct Memory {
    idle: u64,
    connected: u64,
    after: u64,
    peak: u64,
}

/// What one scenario measured.
struct Outcome {
    setup_secs: f64,
    delivered: usize,
    messages_per_sec: f64,
    p50: f64,
    p99: f64,
    /// The sendMessage answer (the commit), p50 and p99 in ms.
    answer: (f64, f64),
    nodes: Vec<Memory>,
}

/// Signs up n clients, client i on `addrs[i % addrs.len()]`, then runs the traffic: each
/// client sends m messages to client i + 1 and receives m from client i - 1.
async fn measure(
    addrs: Vec<SocketAddr>,
    key: mtproto::crypto::RsaPublicKey,
    pids: Vec<u32>,
    n: usize,
    m: usize,
) -> Outcome {
    let mut nodes: Vec<Memory> = pids
        .iter()
        .map(|&pid| Memory {
            idle: rss_kib(pid),
            ..Memory::default()
        })
        .collect();

    // Sign everyone up, 32 key exchanges at a time.
    let setup = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (key, limit, addr) = (key.clone(), limit.clone(), addrs[i % addrs.len()]);
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
    for (memory, &pid) in nodes.iter_mut().zip(&pids) {
        memory.connected = rss_kib(pid);
    }
    let peers: Vec<(i64, i64)> = clients.iter().map(|(_, id, hash)| (*id, *hash)).collect();

    since_start();
    let began = Instant::now();
    let deadline = began + Duration::from_secs(300);
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
            let mut answers = Vec::with_capacity(m);
            let mut last = None;
            let mut sent = 0;
            while (sent < m || latencies.len() < m) && Instant::now() < deadline {
                if sent < m {
                    let text = since_start().to_string();
                    let random_id = (i * m + sent) as i64 + 1;
                    let asked = Instant::now();
                    c.invoke(&functions::messages::SendMessage::new(
                        peer.clone(),
                        text,
                        random_id,
                    ))
                    .await
                    .expect("sendMessage");
                    answers.push(asked.elapsed().as_nanos() as u64);
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
                        let since = arrived
                            .duration_since(*START.get().expect("start"))
                            .as_nanos() as u64;
                        latencies.push(since.saturating_sub(at));
                        last = last.max(Some(arrived));
                    }
                }
            }
            // Keep the connection open until every client is done (a closed session would
            // turn the rest of its messages into offline pushes).
            (latencies, answers, last, c)
        }));
    }
    let mut latencies = Vec::new();
    let mut answers = Vec::new();
    let mut last = None;
    let mut connections = Vec::new();
    for t in tasks {
        let (l, a, at, c) = t.await.expect("client task");
        latencies.extend(l);
        answers.extend(a);
        last = last.max(at);
        connections.push(c);
    }
    // Throughput up to the last update delivered (the same as up to the end of the traffic
    // when everything arrives; a lost update does not count its 300 s wait).
    let elapsed = last
        .map_or(began.elapsed(), |at: Instant| at.duration_since(began))
        .as_secs_f64();
    for (memory, &pid) in nodes.iter_mut().zip(&pids) {
        memory.after = rss_kib(pid);
        memory.peak = status_kib(pid, "VmHWM:");
    }
    drop(connections);
    latencies.sort_unstable();
    answers.sort_unstable();
    Outcome {
        setup_secs,
        delivered: latencies.len(),
        messages_per_sec: latencies.len() as f64 / elapsed.max(1e-9),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        answer: (percentile(&answers, 0.50), percentile(&answers, 0.99)),
        nodes,
    }
}

/// A child process killed (by its PID) and reaped when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_redis(dir: &Path, port: u16) -> Service {
    let log = std::fs::File::create(dir.join("redis.log")).expect("redis log");
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("redis log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): `apt-get install redis-server`")
        });
    let mut redis = Service(child);
    wait_listening(port, "redis-server", &mut redis.0);
    redis
}

/// A throwaway PostgreSQL started with .ci/postgres.sh on a free port, stopped (by the PID
/// the script recorded) when dropped.
struct ScriptPostgres {
    port: u16,
}

impl ScriptPostgres {
    fn start() -> (Self, String) {
        let port = free_port();
        let output = Command::new("bash")
            .arg(POSTGRES_SCRIPT)
            .arg("start")
            .env("PG_CI_PORT", port.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run .ci/postgres.sh");
        let postgres = ScriptPostgres { port };
        assert!(
            output.status.success(),
            ".ci/postgres.sh start failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprint!("{}", String::from_utf8_lossy(&output.stdout));
        (
            postgres,
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        )
    }
}

impl Drop for ScriptPostgres {
    fn drop(&mut self) {
        if let Ok(output) = Command::new("bash")
            .arg(POSTGRES_SCRIPT)
            .arg("stop")
            .env("PG_CI_PORT", self.port.to_string())
            .stdin(Stdio::null())
            .output()
        {
            eprint!("{}", String::from_utf8_lossy(&output.stdout));
        }
    }
}

/// A database made for the run on the server at `admin` (a URL with a database), dropped
/// when dropped.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin: &str) -> Self {
        let name = format!(
            "cluster_load_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        let mut client = postgres::Client::connect(admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the benchmark database");
        let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
        let (server, _) = base.rsplit_once('/').expect("a database in the URL");
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Database {
            admin: admin.to_owned(),
            url: format!("{server}/{name}{query}"),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Flags every node gets: no handshake or per-IP limits (all clients come from 127.0.0.1).
const UNLIMITED: [&str; 4] = [
    "--handshakes-per-minute",
    "10000000",
    "--connections-per-ip",
    "10000000",
];

/// (a): one node, default SQLite store, no bus.
fn one_node(
    binary: &str,
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    n: usize,
    m: usize,
) -> Outcome {
    let data = dir.join("single");
    let port = free_port();
    let node = ServerProcess::start_with(binary, port, &data, &UNLIMITED);
    let key = server_key(&data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let outcome = runtime.block_on(measure(vec![addr], key, vec![node.child.id()], n, m));
    node.kill();
    outcome
}

/// (b): two nodes sharing PostgreSQL and a Redis bus. Also returns Redis's memory after the
/// traffic (KiB).
fn two_nodes(
    binary: &str,
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
    n: usize,
    m: usize,
) -> (Outcome, u64, String) {
    let redis_port = free_port();
    let redis = start_redis(dir, redis_port);
    let (script, admin) = match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let (script, url) = ScriptPostgres::start();
            (Some(script), url)
        }
    };
    let database = Database::create(&admin);
    let store = if script.is_some() {
        format!(
            "PostgreSQL (.ci/postgres.sh, port {})",
            script.as_ref().map_or(0, |s| s.port)
        )
    } else {
        "PostgreSQL (TEST_POSTGRES_URL)".to_owned()
    };
    let bus = format!("redis://127.0.0.1:{redis_port}");
    let node_data: Vec<PathBuf> = (1..=2).map(|k| dir.join(format!("node{k}"))).collect();
    let ports = [free_port(), free_port()];
    let start = |k: usize| {
        let media = format!("file:{}", node_data[k].join("media").display());
        let mut flags: Vec<&str> = UNLIMITED.to_vec();
        flags.extend(["--store", &database.url, "--bus", &bus, "--media", &media]);
        ServerProcess::start_with(binary, ports[k], &node_data[k], &flags)
    };
    let node1 = start(0);
    // The nodes share the RSA key (clients trust one) and the salt secret.
    std::fs::create_dir_all(&node_data[1]).expect("node 2 data");
    for file in ["rsa-private.pem", "rsa-public.pem", "salt-secret"] {
        std::fs::copy(node_data[0].join(file), node_data[1].join(file)).expect("copy key files");
    }
    let node2 = start(1);
    let key = server_key(&node_data[0]);
    let addrs = ports
        .iter()
        .map(|&p| SocketAddr::from(([127, 0, 0, 1], p)))
        .collect();
    let pids = vec![node1.child.id(), node2.child.id()];
    let outcome = runtime.block_on(measure(addrs, key, pids, n, m));
    let redis_rss = rss_kib(redis.0.id());
    // Nodes first, then the database, PostgreSQL and Redis (also in this order on a panic).
    node1.kill();
    node2.kill();
    drop(database);
    drop(script);
    drop(redis);
    (outcome, redis_rss, store)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let asked: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let m: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    // An even number: client i's next one is on the other node, also from the last to the first.
    let n = asked.max(2).next_multiple_of(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = scratch_dir("cluster-load");
    // A copy of the binary: a build with other features in a shared target directory must
    // not replace it during the run.
    let binary = dir.join("server-kit");
    std::fs::copy(env!("CARGO_BIN_EXE_server-kit"), &binary).expect("copy the binary");
    let binary = binary.to_str().expect("a UTF-8 path").to_owned();

    eprintln!("(a) one node, SQLite: {n} clients");
    let single = one_node(&binary, &dir, &runtime, n, m);
    eprintln!(
        "(b) two nodes, PostgreSQL + Redis: {} + {} clients",
        n / 2,
        n / 2
    );
    let (cluster, redis_rss, store) = two_nodes(&binary, &dir, &runtime, n, m);

    println!("clients: {n}, messages per client: {m} (each to the next client)");
    if n != asked {
        println!("(asked for {asked} clients: rounded up to an even number)");
    }
    println!(
        "(b) store: {store}, bus: Redis pub/sub, media: local disk per node; every message crosses nodes"
    );
    let row = |what: &str, a: String, b: String| println!("{what:<34} {a:<26} {b}");
    row(
        "",
        "(a) 1 node, SQLite".into(),
        "(b) 2 nodes, PostgreSQL + Redis".into(),
    );
    row(
        "clients per node",
        n.to_string(),
        format!("{} + {}", n / 2, n / 2),
    );
    row(
        "sign-up of all clients",
        format!("{:.1} s", single.setup_secs),
        format!("{:.1} s", cluster.setup_secs),
    );
    row(
        "messages delivered",
        format!("{} of {}", single.delivered, n * m),
        format!("{} of {}", cluster.delivered, n * m),
    );
    row(
        "messages/s",
        format!("{:.0}", single.messages_per_sec),
        format!("{:.0}", cluster.messages_per_sec),
    );
    row(
        "latency send→update p50",
        format!("{:.1} ms", single.p50),
        format!("{:.1} ms", cluster.p50),
    );
    row(
        "latency send→update p99",
        format!("{:.1} ms", single.p99),
        format!("{:.1} ms", cluster.p99),
    );
    row(
        "sendMessage answer p50 / p99",
        format!("{:.1} / {:.1} ms", single.answer.0, single.answer.1),
        format!("{:.1} / {:.1} ms", cluster.answer.0, cluster.answer.1),
    );
    let memory = |f: fn(&Memory) -> u64| {
        (
            mib(f(&single.nodes[0])),
            cluster
                .nodes
                .iter()
                .map(|m| mib(f(m)))
                .collect::<Vec<_>>()
                .join(" + "),
        )
    };
    let (a, b) = memory(|m| m.idle);
    row("server RSS idle", a, b);
    let (a, b) = memory(|m| m.connected);
    row("server RSS, clients connected", a, b);
    let (a, b) = memory(|m| m.after);
    row("server RSS after the messages", a, b);
    let (a, b) = memory(|m| m.peak);
    row("server peak RSS (VmHWM)", a, b);
    let per_connection =
        |m: &Memory, clients: usize| m.connected.saturating_sub(m.idle) as f64 / clients as f64;
    row(
        "KiB per connection",
        format!("{:.1}", per_connection(&single.nodes[0], n)),
        cluster
            .nodes
            .iter()
            .map(|m| format!("{:.1}", per_connection(m, n / 2)))
            .collect::<Vec<_>>()
            .join(" + "),
    );
    row("Redis RSS after the messages", "-".into(), mib(redis_rss));
    let _ = std::fs::remove_dir_all(&dir);
}
