//! Two server nodes (feature `cluster`): they share one store, a Redis bus (`redis-server` on
//! a free loopback port) and S3 media (`moto_server` on a free loopback port, bucket made
//! here). The store is PostgreSQL when built with feature `postgres` too and
//! `TEST_POSTGRES_URL` is set (a new database made for the run and dropped after it; see
//! `.ci/postgres.sh`), else one SQLite file (WAL works across processes on one machine).
//! Telethon 1.45 (`tests/telethon/two_nodes.py`) is user A on node 1 and user B on node 2:
//!
//! - they chat with pushed updates both ways (the other node's pushes come through the bus),
//!   and again after Redis is restarted under them;
//! - A's broadcast channel posts (and a deletion) made through node 1 reach B on node 2;
//! - reactions are told across nodes: A's in their private chat to B, B's to A's channel post;
//! - a secret chat across nodes: the request, the acceptance, encrypted messages both ways
//!   (each from the other node's qts box), typing, a read receipt and the discard, all pushed
//!   through the bus;
//! - a bot's button pressed by B on node 2 reaches the bot on node 1 (bus), and the bot's
//!   answer reaches B's waiting `click()` (shared store);
//! - a key works on either node: made on one and signed in through the other, signed out
//!   through one and at once refused by the other;
//! - a 12 MiB file uploaded through node 1 (24 client parts, re-chunked into 5 MiB S3 parts)
//!   is downloaded through node 2 byte-exact;
//! - node 2 is killed (SIGKILL) and restarted while A keeps sending; B, reconnecting, gets
//!   every message exactly once, and its history holds each once;
//! - presence is shared: while B is connected to node 2, A's message through node 1 makes
//!   no push notification; once B has left, the next one does (the nodes' webhook);
//! - the login-code limit per phone number is counted across nodes: codes asked
//!   alternately through both, the one past the limit is `FLOOD_WAIT_X`.
//!
//! The nodes share one config file (`--config`, TOML) and differ in `--listen`/`--data`.
//!
//! Needs `redis-server` (Debian: `apt-get install redis-server`), `moto_server`
//! (`pip install 'moto[server]'`) and Telethon (`pip install telethon==1.45.0`) on PATH;
//! without them the test fails, naming the install command. Redis and moto are started by
//! the test and stopped by their PIDs (also when it fails).
#![cfg(feature = "cluster")]

mod common;

use common::{free_port, scratch_dir};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/two_nodes.py");
const BUCKET: &str = "media";

/// A child process killed (by its PID) and reaped when dropped.
struct Service {
    name: &'static str,
    child: Child,
}

impl Service {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
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

fn spawn(name: &'static str, command: &mut Command, install: &str, log: &Path) -> Service {
    let log = std::fs::File::create(log).expect("log file");
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({e}): `{install}`"));
    Service { name, child }
}

fn start_redis(dir: &Path, port: u16) -> Service {
    let mut redis = spawn(
        "redis-server",
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir),
        "apt-get install redis-server",
        &dir.join("redis.log"),
    );
    wait_listening(port, redis.name, &mut redis.child);
    redis
}

fn start_moto(dir: &Path, port: u16) -> Service {
    let mut moto = spawn(
        "moto_server",
        Command::new("moto_server").args(["-H", "127.0.0.1", "-p", &port.to_string()]),
        "pip install 'moto[server]'",
        &dir.join("moto.log"),
    );
    wait_listening(port, moto.name, &mut moto.child);
    // The bucket (moto takes unsigned requests).
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("moto");
    write!(
        stream,
        "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("create bucket");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "creating the bucket: {answer}"
    );
    moto
}

/// One node's command line: the flags every node shares come from one config file, the
/// node's own (`--listen`, `--data`) from the command line.
struct Node {
    binary: PathBuf,
    port: u16,
    data: PathBuf,
    config: PathBuf,
}

/// Login codes per phone number per hour in this test (the default is 10).
const CODES_PER_HOUR: u32 = 4;

/// The config file the nodes share (TOML, keys are the long flag names).
fn write_config(path: &Path, store: &str, redis: u16, moto: u16, hook: u16) {
    let text = format!(
        "# shared by both nodes\nstore = \"{store}\"\nbus = \"redis://127.0.0.1:{redis}\"\n\
         media = \"s3://{BUCKET}?endpoint=http://127.0.0.1:{moto}\"\nlogin-code = \"12345\"\n\
         push-webhook = \"http://127.0.0.1:{hook}/push\"\n\
         codes-per-phone-per-hour = {CODES_PER_HOUR}\nlisten = \"127.0.0.1:1\"\n"
    );
    std::fs::write(path, text).expect("config file");
}

impl Node {
    fn start(&self) -> Service {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data.with_extension("log"))
            .expect("node log");
        let child = Command::new(&self.binary)
            .arg("--config")
            .arg(&self.config)
            // Wins over the file's placeholder `listen`.
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--data")
            .arg(&self.data)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "server_kit=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a node");
        let mut node = Service {
            name: "server-kit",
            child,
        };
        wait_listening(self.port, "a server node", &mut node.child);
        node
    }
}

fn python(dir: &Path, args: &[String]) -> Command {
    let mut command = Command::new("python3");
    command.arg(SCRIPT).arg(dir).args(args);
    command
}

fn step(dir: &Path, args: &[String]) {
    let output = python(dir, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): `pip install telethon==1.45.0`"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'telethon'"),
        "Telethon is missing: `pip install telethon==1.45.0`"
    );
    assert!(
        output.status.success() && stdout.trim_end().ends_with(&format!("{} ok", args[0])),
        "step {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nlogs in {}",
        dir.display()
    );
    eprint!("{stdout}");
}

/// Reads lines until one equals `want` (or starts with it); panics at EOF.
fn read_until(lines: &mut std::io::Lines<BufReader<ChildStdout>>, want: &str, what: &str) {
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if line.starts_with(want) {
            return;
        }
    }
    panic!("{what} ended before printing {want:?}");
}

/// Bytes that do not compress or repeat (xorshift).
fn test_file(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The store both nodes use.
struct SharedStore {
    location: String,
    #[cfg(feature = "postgres")]
    database: Option<(String, String)>,
}

impl SharedStore {
    #[cfg(not(feature = "postgres"))]
    fn new(dir: &Path) -> Self {
        SharedStore {
            location: format!("sqlite:{}", dir.join("shared.sqlite3").display()),
        }
    }

    /// A new database on the server at TEST_POSTGRES_URL, if set.
    #[cfg(feature = "postgres")]
    fn new(dir: &Path) -> Self {
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
            return SharedStore {
                location: format!("sqlite:{}", dir.join("shared.sqlite3").display()),
                database: None,
            };
        };
        let name = format!(
            "two_nodes_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("PostgreSQL at TEST_POSTGRES_URL={url}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let (base, query) = url.split_once('?').unwrap_or((&url, ""));
        let (server, _) = base
            .rsplit_once('/')
            .expect("a database in TEST_POSTGRES_URL");
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        SharedStore {
            location: format!("{server}/{name}{query}"),
            database: Some((url.clone(), name)),
        }
    }
}

#[cfg(feature = "postgres")]
impl Drop for SharedStore {
    fn drop(&mut self) {
        if let Some((url, name)) = &self.database {
            if let Ok(mut admin) = postgres::Client::connect(url, postgres::NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

#[test]
fn two_nodes_share_store_bus_and_media() {
    let dir = scratch_dir("two-nodes");
    let (redis_port, moto_port) = (free_port(), free_port());
    let mut redis = start_redis(&dir, redis_port);
    let _moto = start_moto(&dir, moto_port);
    let store = SharedStore::new(&dir);
    eprintln!("store: {}", store.location);
    // A copy of the binary: a build without the feature elsewhere in a shared target
    // directory must not swap it between a kill and a restart.
    let binary = dir.join("server-kit");
    std::fs::copy(env!("CARGO_BIN_EXE_server-kit"), &binary).expect("copy the binary");
    let config = dir.join("cluster.toml");
    let hook_port = free_port();
    write_config(&config, &store.location, redis_port, moto_port, hook_port);
    let node = |n: u8| Node {
        binary: binary.clone(),
        port: free_port(),
        data: dir.join(format!("node{n}")),
        config: config.clone(),
    };
    let (one, two) = (node(1), node(2));
    let node1 = one.start();
    // The nodes share the RSA key (clients trust one) and the salt secret.
    std::fs::create_dir_all(&two.data).expect("node 2 data");
    for file in ["rsa-private.pem", "rsa-public.pem", "salt-secret"] {
        std::fs::copy(one.data.join(file), two.data.join(file)).expect("copy key files");
    }
    std::fs::copy(one.data.join("rsa-public.pem"), dir.join("rsa-public.pem")).expect("key");
    let mut node2 = two.start();
    let (p1, p2) = (one.port.to_string(), two.port.to_string());

    step(&dir, &["signup".into(), p1.clone(), p2.clone()]);
    step(&dir, &["chat".into(), p1.clone(), p2.clone(), "a".into()]);
    // Redis restarts: both nodes reconnect (with backoff) and pushes flow again.
    redis.kill();
    std::thread::sleep(Duration::from_millis(500));
    redis = start_redis(&dir, redis_port);
    step(&dir, &["chat".into(), p1.clone(), p2.clone(), "b".into()]);
    step(&dir, &["channel".into(), p1.clone(), p2.clone()]);
    step(&dir, &["reactions".into(), p1.clone(), p2.clone()]);
    step(&dir, &["secret".into(), p1.clone(), p2.clone()]);
    let created = Command::new(&binary)
        .arg("create-bot")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&one.data)
        .args(["nodes_bot", "Nodes"])
        .output()
        .expect("create-bot");
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    step(&dir, &["buttons".into(), p1.clone(), p2.clone(), token]);
    step(&dir, &["roam".into(), p1.clone(), p2.clone()]);
    let file = dir.join("file.bin");
    std::fs::write(&file, test_file(12 << 20)).expect("test file");
    step(
        &dir,
        &[
            "file".into(),
            p1.clone(),
            p2.clone(),
            file.display().to_string(),
        ],
    );

    // Node 2 dies (kill -9) and comes back while A keeps sending to B.
    const COUNT: usize = 30;
    let mut receiver = python(&dir, &["receive".into(), p2.clone(), COUNT.to_string()])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("receive.err")).expect("log"))
        .spawn()
        .expect("python3");
    let mut received = BufReader::new(receiver.stdout.take().expect("stdout")).lines();
    read_until(&mut received, "ready", "the receiver");
    let mut sender = python(&dir, &["send".into(), p1.clone(), COUNT.to_string()])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("send.err")).expect("log"))
        .spawn()
        .expect("python3");
    let mut sent = BufReader::new(sender.stdout.take().expect("stdout")).lines();
    read_until(&mut sent, "sent 8", "the sender");
    node2.kill();
    read_until(&mut sent, "sent 12", "the sender");
    node2 = two.start();
    read_until(&mut sent, "send ok", "the sender");
    assert!(sender.wait().expect("sender").success());
    let rest: Vec<String> = received.map_while(Result::ok).collect();
    let status = receiver.wait().expect("receiver");
    assert!(
        status.success() && rest.last().is_some_and(|l| l == "receive ok"),
        "the receiver failed: {rest:?}\nstderr: {}\nlogs in {}",
        std::fs::read_to_string(dir.join("receive.err")).unwrap_or_default(),
        dir.display()
    );
    eprintln!("B got: {}", rest.first().map_or("", String::as_str));
    step(
        &dir,
        &[
            "presence".into(),
            p1.clone(),
            p2.clone(),
            hook_port.to_string(),
        ],
    );
    step(
        &dir,
        &[
            "flood".into(),
            p1.clone(),
            p2.clone(),
            CODES_PER_HOUR.to_string(),
        ],
    );
    // The 12 MiB file went to S3 as three multipart parts (5 + 5 + 2 MiB), not 24.
    let requests = std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default();
    assert!(
        requests.contains("partNumber=3") && !requests.contains("partNumber=4"),
        "multipart parts in the moto log:\n{}",
        requests
            .lines()
            .filter(|l| l.contains("partNumber"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    drop((node1, node2, redis));
    let _ = std::fs::remove_dir_all(&dir);
}
