//! The tests' client: mtproto's sans-IO [`ClientConnection`] driven over a tokio socket (key
//! exchange, then typed calls and pushed updates), and the server process the end-to-end
//! tests and benchmarks start.
#![allow(dead_code)]

use bytes::BytesMut;
use mtproto::client::{ClientConnection, ClientConnectionConfig, ClientConnectionEvent, StoredKey};
use mtproto::crypto::RsaPublicKey;
use mtproto::handshake::ClientConfig;
use mtproto::session::{ClientEvent, ClientSession, RequestId, RpcError};
use mtproto::transport::{Codec, Kind};
use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tl_runtime::{Deserialize, RemoteCall};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Randomness for the client.
pub fn os_rng(buf: &mut [u8]) {
    getrandom::fill(buf).expect("OS randomness");
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with an RPC error.
    Rpc(RpcError),
    /// The connection failed or the answer did not decode.
    Other(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Rpc(e) => write!(f, "{e}"),
            CallError::Other(e) => f.write_str(e),
        }
    }
}

/// The server's public key from its data directory.
pub fn server_key(data: &Path) -> RsaPublicKey {
    let pem = std::fs::read_to_string(data.join("rsa-public.pem")).expect("rsa-public.pem");
    RsaPublicKey::from_pem(&pem).expect("server key")
}

/// One connection with its session.
pub struct MiniClient {
    stream: TcpStream,
    conn: ClientConnection,
    done: HashMap<RequestId, Result<Vec<u8>, RpcError>>,
    /// Updates received, with when they arrived.
    pub updates: VecDeque<(Instant, Vec<u8>)>,
    /// Sessions the server said it created.
    pub new_sessions: usize,
}

impl MiniClient {
    /// Asks a login code for `phone` and signs up as `first_name last_name` with the
    /// development code the test servers use (`12345`). The new account's user.
    pub async fn sign_up(
        &mut self,
        phone: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<mtproto_api::types::User, CallError> {
        let hash = self.send_code(phone).await?;
        self.sign_up_with_code(phone, &hash, "12345", first_name, last_name)
            .await
    }

    /// auth.sendCode for `phone`: the `phone_code_hash`.
    pub async fn send_code(&mut self, phone: &str) -> Result<String, CallError> {
        use mtproto_api::{enums, functions, types};
        let enums::auth::SentCode::SentCode(sent) = self
            .invoke(&functions::auth::SendCode {
                phone_number: phone.into(),
                api_id: 1,
                api_hash: "x".into(),
                settings: types::CodeSettings::default().into(),
            })
            .await?
        else {
            return Err(CallError::Other("sendCode: not a code".into()));
        };
        Ok(sent.phone_code_hash)
    }

    /// Signs in to the unknown number `phone` with `code` (the server answers that an
    /// account is needed), then signs up as `first_name last_name`. The new account's user.
    pub async fn sign_up_with_code(
        &mut self,
        phone: &str,
        hash: &str,
        code: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<mtproto_api::types::User, CallError> {
        use mtproto_api::{enums, functions, types};
        match self
            .invoke(&functions::auth::SignIn {
                phone_number: phone.into(),
                phone_code_hash: hash.into(),
                phone_code: Some(code.into()),
                email_verification: None,
            })
            .await?
        {
            enums::auth::Authorization::SignUpRequired(_) => {}
            other => return Err(CallError::Other(format!("signIn: {other:?}"))),
        }
        match self
            .invoke(&functions::auth::SignUp {
                no_joined_notifications: false,
                phone_number: phone.into(),
                phone_code_hash: hash.into(),
                first_name: first_name.into(),
                last_name: last_name.into(),
            })
            .await?
        {
            enums::auth::Authorization::Authorization(types::auth::Authorization {
                user: enums::User::User(user),
                ..
            }) => Ok(user),
            other => Err(CallError::Other(format!("signUp: {other:?}"))),
        }
    }

    /// Connects, runs the key exchange, and starts a session.
    pub async fn connect(
        addr: SocketAddr,
        key: &RsaPublicKey,
        kind: Kind,
    ) -> std::io::Result<Self> {
        let config = ClientConnectionConfig::new(ClientConfig {
            keys: vec![key.clone()],
            dc: Some(2),
            temp_expires_in: None,
            legacy_rsa: false,
        });
        let mut client = Self::open(addr, config, None, kind).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.conn.session().is_none() {
            if Instant::now() > deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no key within 30 s",
                ));
            }
            client.pump(Duration::from_millis(250)).await?;
        }
        Ok(client)
    }

    /// A new connection for a key made earlier (a client that restarts keeps its key).
    pub async fn resume(
        addr: SocketAddr,
        key: mtproto::crypto::AuthKey,
        kind: Kind,
    ) -> std::io::Result<Self> {
        let config = ClientConnectionConfig::new(ClientConfig {
            keys: Vec::new(),
            dc: Some(2),
            temp_expires_in: None,
            legacy_rsa: false,
        });
        // Salt 0, as Telethon and GramJS start: the server answers bad_server_salt.
        let stored = StoredKey {
            key,
            salt: 0,
            time_offset: 0,
        };
        Self::open(addr, config, Some(stored), kind).await
    }

    async fn open(
        addr: SocketAddr,
        config: ClientConnectionConfig,
        key: Option<StoredKey>,
        kind: Kind,
    ) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut session_id = [0u8; 8];
        os_rng(&mut session_id);
        let mut conn = ClientConnection::new(config, key, i64::from_le_bytes(session_id));
        conn.connect(now(), Codec::client(kind), &mut os_rng);
        let mut client = MiniClient {
            stream,
            conn,
            done: HashMap::new(),
            updates: VecDeque::new(),
            new_sessions: 0,
        };
        client.flush().await?;
        Ok(client)
    }

    /// Writes bytes as they are, without framing.
    pub async fn send_raw_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Frames `payload` as it is and sends it (for hostile-input tests).
    pub async fn send_raw_frame(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.conn.queue_frame(payload, &mut os_rng);
        self.flush().await
    }

    /// The session (for tests that look at its key or craft packets).
    pub fn session(&mut self) -> &mut ClientSession {
        self.conn.session_mut().expect("connected with a key")
    }

    /// Queues `body` as a call and gives the encrypted packet that carries it, unsent (for
    /// tests that damage or replay it with [`send_raw_frame`](Self::send_raw_frame)).
    pub fn encrypted_call(&mut self, body: Vec<u8>) -> Vec<u8> {
        self.conn.invoke(body);
        self.session()
            .poll_transmit(now(), &mut os_rng)
            .expect("a packet")
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        let mut out = BytesMut::new();
        if self.conn.poll_transmit(now(), &mut os_rng, &mut out) {
            self.stream.write_all(&out).await?;
        }
        Ok(())
    }

    /// Handles the connection's events; an error when it has to close.
    fn drain_events(&mut self, arrived: Instant) -> std::io::Result<()> {
        while let Some(event) = self.conn.poll_event() {
            match event {
                ClientConnectionEvent::Session(ClientEvent::Result { request, body }) => {
                    self.done.insert(request, Ok(body));
                }
                ClientConnectionEvent::Session(ClientEvent::Error { request, error }) => {
                    self.done.insert(request, Err(error));
                }
                ClientConnectionEvent::Session(ClientEvent::Update { body }) => {
                    self.updates.push_back((arrived, body));
                }
                ClientConnectionEvent::Session(ClientEvent::NewSession { .. }) => {
                    self.new_sessions += 1;
                }
                ClientConnectionEvent::Closed(error) => {
                    return Err(std::io::Error::other(error));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads and handles what arrives within `wait`; `Ok(false)` on timeout. The server
    /// closing the connection after whole frames is an
    /// [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) error; in the middle of one, an
    /// [`InvalidData`](std::io::ErrorKind::InvalidData) error saying so.
    async fn pump(&mut self, wait: Duration) -> std::io::Result<bool> {
        let mut buf = [0u8; 16 * 1024];
        let read = match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => {
                self.conn.handle_timeout(now());
                self.drain_events(Instant::now())?;
                self.flush().await?;
                return Ok(false);
            }
        };
        if read == 0 {
            let partial = self.conn.partial_frame_len();
            self.conn.connection_lost();
            if partial > 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("closed in the middle of a frame ({partial} bytes of it)"),
                ));
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let arrived = Instant::now();
        self.conn.handle(now(), &buf[..read], &mut os_rng);
        self.drain_events(arrived)?;
        if self.conn.poll_timeout().is_some_and(|t| t <= now()) {
            self.conn.handle_timeout(now());
            self.drain_events(arrived)?;
        }
        self.flush().await?;
        Ok(true)
    }

    /// Sends a call and waits for its answer (updates that arrive meanwhile are kept).
    pub async fn invoke<R: RemoteCall>(&mut self, request: &R) -> Result<R::Return, CallError> {
        let id = self.conn.invoke(request.to_bytes());
        self.flush()
            .await
            .map_err(|e| CallError::Other(e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(result) = self.done.remove(&id) {
                let body = result.map_err(CallError::Rpc)?;
                return R::Return::from_bytes(body)
                    .map_err(|e| CallError::Other(format!("answer does not decode: {e}")));
            }
            if Instant::now() > deadline {
                return Err(CallError::Other("no answer in 30 s".into()));
            }
            self.pump(Duration::from_millis(250))
                .await
                .map_err(|e| CallError::Other(e.to_string()))?;
        }
    }

    /// Sends several calls at once (they travel in containers) and waits for every answer.
    pub async fn invoke_all<R: RemoteCall>(
        &mut self,
        requests: &[R],
    ) -> Vec<Result<R::Return, CallError>> {
        let ids: Vec<RequestId> = requests
            .iter()
            .map(|r| self.conn.invoke(r.to_bytes()))
            .collect();
        if let Err(e) = self.flush().await {
            return ids
                .iter()
                .map(|_| Err(CallError::Other(e.to_string())))
                .collect();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        // Answers that arrived before the connection failed stand; the others get its error.
        let mut missing = "no answer".to_owned();
        while ids.iter().any(|id| !self.done.contains_key(id)) {
            if Instant::now() > deadline {
                break;
            }
            if let Err(e) = self.pump(Duration::from_millis(250)).await {
                missing = e.to_string();
                break;
            }
        }
        ids.iter()
            .map(|id| match self.done.remove(id) {
                Some(Ok(body)) => R::Return::from_bytes(body)
                    .map_err(|e| CallError::Other(format!("answer does not decode: {e}"))),
                Some(Err(e)) => Err(CallError::Rpc(e)),
                None => Err(CallError::Other(missing.clone())),
            })
            .collect()
    }

    /// Handles what arrives until the connection ends, and says how: an
    /// [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) error is a clean close after
    /// whole frames.
    pub async fn until_closed(&mut self, wait: Duration) -> std::io::Error {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Err(e) = self.pump(Duration::from_millis(250)).await {
                return e;
            }
        }
        std::io::Error::new(std::io::ErrorKind::TimedOut, "still open")
    }

    /// Waits up to `wait` for the next pushed update.
    pub async fn next_update(&mut self, wait: Duration) -> Option<(Instant, Vec<u8>)> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(update) = self.updates.pop_front() {
                return Some(update);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if self
                .pump(left.min(Duration::from_millis(250)))
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// Whether the server closed the connection (reads until EOF or `wait`).
    pub async fn closed_by_server(&mut self, wait: Duration) -> bool {
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + wait;
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            match tokio::time::timeout(left, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// The server process; killed when dropped.
pub struct ServerProcess {
    /// The process.
    pub child: Child,
}

impl ServerProcess {
    /// Starts `binary` on `port` with `data` and the development login code `12345`,
    /// waiting until it listens.
    pub fn start(binary: &str, port: u16, data: &Path) -> Self {
        Self::start_with(binary, port, data, &[])
    }

    /// Like [`start`](Self::start) with extra flags.
    pub fn start_with(binary: &str, port: u16, data: &Path, extra: &[&str]) -> Self {
        let mut args = vec!["--login-code", "12345"];
        args.extend_from_slice(extra);
        Self::start_exactly(binary, port, data, &args)
    }

    /// Starts `binary` on `port` with `data` and only the flags `extra` (no development login
    /// code: codes are random and go out through the SMS provider), waiting until it listens.
    pub fn start_exactly(binary: &str, port: u16, data: &Path, extra: &[&str]) -> Self {
        // The log is appended to across restarts: only what this start writes counts.
        let log_path = data.with_extension("log");
        let logged_before = std::fs::metadata(&log_path).map_or(0, |m| m.len() as usize);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("server log");
        let child = Command::new(binary)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(data)
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "server_kit=debug".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the server");
        let mut server = ServerProcess { child };
        // Its own word that it listens: the log line after the bind. (A connect attempt is
        // no proof: to a free port in the ephemeral range it can, rarely, connect to itself.)
        let deadline = Instant::now() + Duration::from_secs(60);
        let listening = || {
            std::fs::read(&log_path).is_ok_and(|log| {
                let new = String::from_utf8_lossy(log.get(logged_before..).unwrap_or_default());
                new.lines()
                    .any(|l| l.contains("serving") && l.contains(&format!("127.0.0.1:{port}")))
            })
        };
        while !listening() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited before listening on {port}: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the server did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Kills it (SIGKILL) and waits.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on, and never the same one twice in this process: tests run in
/// parallel threads, and the OS may hand the same free port to two of them in a row (one
/// test's client then talks to the other test's server).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if given.insert(port) {
            return port;
        }
    }
}

/// An empty directory for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    // A counter, not a clock: parallel tests asking for the same name at once must not get
    // (and empty) one directory.
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("server-kit-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The resident memory of process `pid` in KiB (0 if unknown).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The pip command that installs the Telethon the end-to-end scripts use.
pub const TELETHON_INSTALL: &str = "pip install telethon==1.45.0";

/// Runs one phase of a Telethon script (`tests/telethon/NAME.py PORT DATA STATE PHASE`) and
/// panics with its output (and where the server log is) unless it succeeds and ends with
/// "PHASE ok"; returns what it printed.
pub fn run_telethon_phase(
    script: &str,
    port: u16,
    data: &Path,
    state: &Path,
    phase: &str,
) -> String {
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(data)
        .arg(state)
        .arg(phase)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3, then `{TELETHON_INSTALL}`")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'telethon'") {
        panic!("Telethon is missing: `{TELETHON_INSTALL}`");
    }
    assert!(
        output.status.success() && stdout.trim_end().ends_with(&format!("{phase} ok")),
        "phase {phase} failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log: {}",
        data.with_extension("log").display()
    );
    stdout.into_owned()
}
