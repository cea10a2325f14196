//! One data center's connection: a task that owns the socket, the transport codec and the
//! mtproto [`ClientSession`], creates the auth key when there is none, and reconnects with
//! backoff. Callers talk to it through a channel of [`Command`]s and never wait on one another.

use crate::config::{InitParams, ReconnectPolicy, Transport};
use crate::error::{InvocationError, RpcError};
use bytes::BytesMut;
use mtproto::crypto::{AuthKey, RsaPublicKey};
use mtproto::handshake::{ClientConfig, ClientHandshake, ClientStep, unwrap_plain, wrap_plain};
use mtproto::session::{
    ClientEvent, ClientSession, ClientSessionConfig, MsgIdGenerator, MsgKind, RequestId,
};
use mtproto::transport::{Codec, Inbound};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

/// The answer to one request: the TL body of its result, or why there is none.
pub(crate) type Reply = Result<Vec<u8>, InvocationError>;

/// What callers ask of a connection.
pub(crate) enum Command {
    /// Send this serialized request and answer on `reply`.
    Invoke {
        body: Vec<u8>,
        reply: oneshot::Sender<Reply>,
    },
}

/// What a connection tells the client.
#[derive(Debug)]
pub(crate) enum ConnectionEvent {
    /// A new auth key was made with this DC: save it.
    KeyCreated { dc: i32, key: Box<[u8; 256]> },
    /// The DC does not know the key it was given (-404): it was dropped, a new one will be made.
    KeyRejected { dc: i32 },
    /// The connection came back after being lost, or the server started a new session:
    /// updates may have been missed.
    MayHaveMissedUpdates { dc: i32 },
    /// The answer to `help.getConfig` sent with `initConnection` (a `Config`).
    Config { dc: i32, body: Vec<u8> },
}

/// Where pushed updates go: a bounded queue, and a flag raised when an update had to be
/// dropped because the queue was full (the update machinery then runs getDifference, so the
/// update is fetched again rather than lost).
#[derive(Clone)]
pub(crate) struct UpdateSink {
    pub(crate) tx: mpsc::Sender<crate::updates::Input>,
    pub(crate) overflowed: Arc<AtomicBool>,
}

impl UpdateSink {
    pub(crate) fn push(&self, input: crate::updates::Input) {
        if self.tx.try_send(input).is_err() {
            self.overflowed.store(true, Ordering::Release);
        }
    }
}

/// Everything a connection task needs.
pub(crate) struct ConnectionConfig {
    pub dc: i32,
    pub addr: String,
    pub transport: Transport,
    pub rsa_keys: Vec<RsaPublicKey>,
    pub auth_key: Option<[u8; 256]>,
    pub init: InitParams,
    pub session: ClientSessionConfig,
    pub reconnect: ReconnectPolicy,
    /// Whether pushed updates from this DC are forwarded (only the home DC's are).
    pub updates: Option<UpdateSink>,
    pub events: mpsc::UnboundedSender<ConnectionEvent>,
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

pub(crate) fn os_rng(buf: &mut [u8]) {
    // The OS generator only fails on systems that cannot run this client at all.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// Starts the task; `ready` gets the outcome of the first connection attempt.
pub(crate) fn spawn(
    config: ConnectionConfig,
    ready: oneshot::Sender<Result<(), InvocationError>>,
) -> mpsc::Sender<Command> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(run(config, rx, ready));
    tx
}

/// A live connection.
struct Link {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    codec: Codec,
    inbuf: BytesMut,
}

impl Link {
    async fn open(config: &ConnectionConfig) -> std::io::Result<Link> {
        let stream = TcpStream::connect(&config.addr).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        let codec = config.transport.codec(config.dc, &mut os_rng);
        Ok(Link {
            reader,
            writer,
            codec,
            inbuf: BytesMut::with_capacity(64 * 1024),
        })
    }

    async fn send(&mut self, packet: &[u8]) -> std::io::Result<()> {
        let mut out = BytesMut::new();
        self.codec.encode(packet, false, &mut out, &mut os_rng);
        self.writer.write_all(&out).await
    }

    /// Decodes what is buffered; `Ok(None)` when a whole packet is not there yet.
    fn decoded(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
        loop {
            match self
                .codec
                .decode(&mut self.inbuf)
                .map_err(|e| LinkError::Transport(e.to_string()))?
            {
                Some(Inbound::Packet { payload, .. }) => return Ok(Some(payload.to_vec())),
                Some(Inbound::Error(code)) => return Err(LinkError::Code(code)),
                Some(Inbound::QuickAck(_)) => continue,
                None => return Ok(None),
            }
        }
    }

    async fn read_packet(&mut self) -> Result<Vec<u8>, LinkError> {
        loop {
            if let Some(packet) = self.decoded()? {
                return Ok(packet);
            }
            if self.reader.read_buf(&mut self.inbuf).await? == 0 {
                return Err(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("transport error code {0}")]
    Code(i32),
    #[error("transport: {0}")]
    Transport(String),
    #[error("key exchange: {0}")]
    Handshake(String),
    #[error("session: {0}")]
    Session(String),
    #[error("the server stopped answering pings")]
    PingTimeout,
    #[error("timed out")]
    Timeout,
}

impl From<LinkError> for InvocationError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Io(e) => e.into(),
            LinkError::Timeout => InvocationError::Io {
                kind: std::io::ErrorKind::TimedOut,
                message: "timed out".into(),
            },
            other => InvocationError::Transport(other.to_string()),
        }
    }
}

/// Creates an auth key over a fresh link.
async fn create_key(link: &mut Link, config: &ConnectionConfig) -> Result<ClientStart, LinkError> {
    let mut ids = MsgIdGenerator::default();
    let hs_config = ClientConfig {
        keys: config.rsa_keys.clone(),
        dc: Some(config.dc),
        temp_expires_in: None,
        legacy_rsa: false,
    };
    let (mut handshake, mut body) = ClientHandshake::start(hs_config, &mut os_rng);
    loop {
        link.send(&wrap_plain(ids.next(now(), MsgKind::Client), &body))
            .await?;
        let packet = tokio::time::timeout(Duration::from_secs(15), link.read_packet())
            .await
            .map_err(|_| LinkError::Timeout)??;
        let (_, answer) = unwrap_plain(&packet).map_err(|e| LinkError::Handshake(e.to_string()))?;
        match handshake
            .receive(answer, now().as_secs() as i64, &mut os_rng)
            .map_err(|e| LinkError::Handshake(e.to_string()))?
        {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(outcome) => {
                return Ok(ClientStart {
                    key: outcome.auth_key,
                    salt: outcome.server_salt,
                    time_offset: i64::from(outcome.time_offset),
                });
            }
        }
    }
}

struct ClientStart {
    key: AuthKey,
    salt: i64,
    time_offset: i64,
}

/// The task's state across reconnects.
struct Task {
    config: ConnectionConfig,
    commands: mpsc::Receiver<Command>,
    session: Option<ClientSession>,
    pending: HashMap<RequestId, oneshot::Sender<Reply>>,
    /// Requests that arrived while there was no session yet.
    held: Vec<Command>,
    init_request: Option<RequestId>,
}

enum Ended {
    /// Every sender is gone: stop.
    Shutdown,
    /// The link failed; reconnect.
    Lost(LinkError),
}

async fn run(
    config: ConnectionConfig,
    commands: mpsc::Receiver<Command>,
    ready: oneshot::Sender<Result<(), InvocationError>>,
) {
    let mut task = Task {
        config,
        commands,
        session: None,
        pending: HashMap::new(),
        held: Vec::new(),
        init_request: None,
    };
    let mut ready = Some(ready);
    let mut failures = 0u32;
    let mut connected_before = false;
    loop {
        let attempt = task.connect().await;
        match attempt {
            Ok(mut link) => {
                failures = 0;
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
                if connected_before {
                    let _ = task
                        .config
                        .events
                        .send(ConnectionEvent::MayHaveMissedUpdates { dc: task.config.dc });
                }
                connected_before = true;
                match task.drive(&mut link).await {
                    Ended::Shutdown => return,
                    Ended::Lost(e) => {
                        info!(dc = task.config.dc, "connection lost: {e}");
                        if let LinkError::Code(-404) = e {
                            task.forget_key();
                        }
                        if let Some(session) = &mut task.session {
                            session.connection_lost();
                        }
                    }
                }
            }
            Err(e) => {
                failures += 1;
                warn!(dc = task.config.dc, failures, "cannot connect: {e}");
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(InvocationError::from(e)));
                    // The caller of `connect` learns of the failure; keep trying for later
                    // callers only if they come.
                }
                let policy = &task.config.reconnect;
                if policy.max_attempts.is_some_and(|max| failures >= max) {
                    task.fail_all(InvocationError::Io {
                        kind: std::io::ErrorKind::NotConnected,
                        message: format!(
                            "gave up connecting to DC {} after {failures} attempts",
                            task.config.dc
                        ),
                    });
                    // Wait for the next request before trying again.
                    match task.commands.recv().await {
                        Some(command) => task.held.push(command),
                        None => return,
                    }
                    failures = 0;
                    continue;
                }
                let delay = policy.delay(failures);
                let sleep = tokio::time::sleep(delay);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        _ = &mut sleep => break,
                        command = task.commands.recv() => match command {
                            Some(command) => task.accept(command),
                            None => return,
                        },
                    }
                }
            }
        }
    }
}

impl Task {
    fn forget_key(&mut self) {
        warn!(
            dc = self.config.dc,
            "the server does not know our auth key; making a new one"
        );
        self.config.auth_key = None;
        self.session = None;
        self.init_request = None;
        self.fail_all(InvocationError::Transport(
            "the server does not know this auth key (-404); a new key is being made".into(),
        ));
        let _ = self
            .config
            .events
            .send(ConnectionEvent::KeyRejected { dc: self.config.dc });
    }

    fn fail_all(&mut self, error: InvocationError) {
        for (id, reply) in self.pending.drain() {
            if let Some(session) = &mut self.session {
                session.cancel(id);
            }
            let _ = reply.send(Err(error.clone()));
        }
        for Command::Invoke { reply, .. } in self.held.drain(..) {
            let _ = reply.send(Err(error.clone()));
        }
    }

    /// Queues a request on the session, or holds it until there is one.
    fn accept(&mut self, command: Command) {
        match (&mut self.session, command) {
            (Some(session), Command::Invoke { body, reply }) => {
                let id = session.enqueue(body);
                self.pending.insert(id, reply);
            }
            (None, command) => self.held.push(command),
        }
    }

    async fn connect(&mut self) -> Result<Link, LinkError> {
        let mut link = tokio::time::timeout(Duration::from_secs(10), Link::open(&self.config))
            .await
            .map_err(|_| LinkError::Timeout)??;
        if self.session.is_none() {
            let (key, salt, offset) = match self.config.auth_key {
                Some(key) => (AuthKey::new(key), 0, 0),
                None => {
                    let start = create_key(&mut link, &self.config).await?;
                    let bytes = *start.key.bytes();
                    self.config.auth_key = Some(bytes);
                    let _ = self.config.events.send(ConnectionEvent::KeyCreated {
                        dc: self.config.dc,
                        key: Box::new(bytes),
                    });
                    (start.key, start.salt, start.time_offset)
                }
            };
            let mut session_id = [0u8; 8];
            os_rng(&mut session_id);
            let mut session = ClientSession::new(
                key,
                i64::from_le_bytes(session_id),
                salt,
                offset,
                self.config.session.clone(),
            );
            // The first request of a session says who we are and which layer we speak.
            let init = self
                .config
                .init
                .wrap(mtproto_api::functions::help::GetConfig {}.to_tl_bytes());
            self.init_request = Some(session.enqueue(init));
            self.session = Some(session);
            for command in std::mem::take(&mut self.held) {
                self.accept(command);
            }
        }
        Ok(link)
    }

    fn drop_cancelled(&mut self) {
        let session = &mut self.session;
        self.pending.retain(|id, reply| {
            if reply.is_closed() {
                if let Some(session) = session {
                    session.cancel(*id);
                }
                false
            } else {
                true
            }
        });
    }

    async fn flush(&mut self, link: &mut Link) -> Result<(), LinkError> {
        let Some(session) = &mut self.session else {
            return Ok(());
        };
        let mut out = BytesMut::new();
        while let Some(packet) = session.poll_transmit(now(), &mut os_rng) {
            link.codec.encode(&packet, false, &mut out, &mut os_rng);
        }
        if !out.is_empty() {
            link.writer.write_all(&out).await?;
        }
        Ok(())
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), LinkError> {
        let Some(session) = &mut self.session else {
            return Ok(());
        };
        session
            .receive(now(), packet)
            .map_err(|e| LinkError::Session(e.to_string()))?;
        self.drain_events()
    }

    fn drain_events(&mut self) -> Result<(), LinkError> {
        let Some(session) = &mut self.session else {
            return Ok(());
        };
        while let Some(event) = session.poll_event() {
            match event {
                ClientEvent::Result { request, body } => {
                    if self.init_request == Some(request) {
                        self.init_request = None;
                        let _ = self.config.events.send(ConnectionEvent::Config {
                            dc: self.config.dc,
                            body,
                        });
                    } else if let Some(reply) = self.pending.remove(&request) {
                        let _ = reply.send(Ok(body));
                    }
                }
                ClientEvent::Error { request, error } => {
                    if self.init_request == Some(request) {
                        self.init_request = None;
                        warn!(dc = self.config.dc, "initConnection failed: {error}");
                    } else if let Some(reply) = self.pending.remove(&request) {
                        let _ = reply.send(Err(RpcError::new(error.code, &error.message).into()));
                    }
                }
                ClientEvent::Failed { request, code } => {
                    if let Some(reply) = self.pending.remove(&request) {
                        let _ = reply.send(Err(InvocationError::Refused(code)));
                    }
                }
                ClientEvent::Update { body } => {
                    if let Some(sink) = &self.config.updates {
                        sink.push(crate::updates::Input::Pushed(body));
                    }
                }
                ClientEvent::NewSession { .. } => {
                    let _ = self
                        .config
                        .events
                        .send(ConnectionEvent::MayHaveMissedUpdates { dc: self.config.dc });
                }
                ClientEvent::PingTimeout => return Err(LinkError::PingTimeout),
                other => debug!("session event {other:?}"),
            }
        }
        Ok(())
    }

    async fn drive(&mut self, link: &mut Link) -> Ended {
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        loop {
            if let Err(e) = self.flush(link).await {
                return Ended::Lost(e);
            }
            let wait = self
                .session
                .as_ref()
                .and_then(|s| s.poll_timeout())
                .map(|at| at.saturating_sub(now()))
                .unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => {
                        self.accept(command);
                        // Take whatever else is queued so it leaves in one container.
                        while let Ok(command) = self.commands.try_recv() {
                            self.accept(command);
                        }
                    }
                    None => return Ended::Shutdown,
                },
                read = link.reader.read_buf(&mut link.inbuf) => {
                    match read {
                        Ok(0) => return Ended::Lost(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into())),
                        Ok(_) => loop {
                            match link.decoded() {
                                Ok(Some(packet)) => {
                                    if let Err(e) = self.handle_packet(&packet) {
                                        return Ended::Lost(e);
                                    }
                                }
                                Ok(None) => break,
                                Err(e) => return Ended::Lost(e),
                            }
                        },
                        Err(e) => return Ended::Lost(e.into()),
                    }
                },
                _ = tokio::time::sleep(wait) => {
                    if let Some(session) = &mut self.session {
                        session.handle_timeout(now());
                    }
                    if let Err(e) = self.drain_events() {
                        return Ended::Lost(e);
                    }
                },
                _ = sweep.tick() => self.drop_cancelled(),
            }
        }
    }
}

/// `to_bytes` under a name that does not clash with the generated types' own methods.
trait ToTlBytes {
    fn to_tl_bytes(&self) -> Vec<u8>;
}

impl<T: tl_runtime::Serialize> ToTlBytes for T {
    fn to_tl_bytes(&self) -> Vec<u8> {
        self.to_bytes()
    }
}
