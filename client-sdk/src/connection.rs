//! One data center's connection: a task that owns the socket and drives mtproto's sans-IO
//! [`ClientConnection`] (transport, key exchange when there is no key, session), and
//! reconnects with backoff. Callers talk to it through a channel of [`Command`]s and never
//! wait on one another.

use crate::config::{InitParams, ReconnectPolicy, Transport};
use crate::error::InvocationError;
use crate::link::{Link, LinkError};
use mtproto::client::{
    ClientConnection, ClientConnectionConfig, ClientConnectionError, ClientConnectionEvent,
    StoredKey,
};
use mtproto::crypto::{AuthKey, RsaPublicKey};
use mtproto::handshake::ClientConfig;
use mtproto::session::{ClientEvent, ClientSessionConfig, RequestId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

/// The answer to one request: the TL body of its result, or why there is none.
pub(crate) type Reply = Result<Vec<u8>, InvocationError>;

/// What callers ask of a connection.
pub(crate) enum Command {
    /// Send this serialized request and answer on `reply`.
    Invoke {
        body: Vec<u8>,
        /// The request's TL name, for its errors.
        request: &'static str,
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

/// The task's state across reconnects: the sans-IO connection (transport, key exchange,
/// session) and who waits for which answer.
struct Task {
    config: ConnectionConfig,
    commands: mpsc::Receiver<Command>,
    conn: ClientConnection,
    /// Who waits for which answer, and the request's TL name.
    pending: HashMap<RequestId, (&'static str, oneshot::Sender<Reply>)>,
    init_request: Option<RequestId>,
    /// The first connection attempt's outcome goes here once it is known.
    ready: Option<oneshot::Sender<Result<(), InvocationError>>>,
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
    let conn_config = ClientConnectionConfig {
        handshake: ClientConfig {
            keys: config.rsa_keys.clone(),
            dc: Some(config.dc),
            temp_expires_in: None,
            legacy_rsa: false,
        },
        session: config.session.clone(),
        handshake_timeout: Duration::from_secs(15),
    };
    let stored = config.auth_key.map(|key| StoredKey {
        key: AuthKey::new(key),
        salt: 0,
        time_offset: 0,
    });
    let mut session_id = [0u8; 8];
    os_rng(&mut session_id);
    let mut task = Task {
        conn: ClientConnection::new(conn_config, stored, i64::from_le_bytes(session_id)),
        config,
        commands,
        pending: HashMap::new(),
        init_request: None,
        ready: Some(ready),
    };
    task.init_session();
    let mut failures = 0u32;
    let mut connected_before = false;
    loop {
        let ended = match Link::open(&task.config.addr, task.config.transport).await {
            Ok(mut link) => {
                let codec = task.config.transport.codec(task.config.dc, &mut os_rng);
                task.conn.connect(now(), codec, &mut os_rng);
                if task.conn.session().is_some() {
                    task.report_ready(Ok(()));
                }
                if connected_before {
                    let _ = task
                        .config
                        .events
                        .send(ConnectionEvent::MayHaveMissedUpdates { dc: task.config.dc });
                }
                connected_before = true;
                let had_session = task.conn.session().is_some();
                match task.drive(&mut link).await {
                    Ended::Shutdown => return,
                    Ended::Lost(e) => {
                        task.conn.connection_lost();
                        if let LinkError::Protocol(p) = &e {
                            if p.is_key_unknown() {
                                task.forget_key();
                            }
                        }
                        // A link that ended before it could carry the session (no key yet,
                        // or none at the start) counts as a failed attempt.
                        if had_session || task.conn.session().is_some() {
                            info!(dc = task.config.dc, "connection lost: {e}");
                            failures = 0;
                            continue;
                        }
                        e
                    }
                }
            }
            Err(e) => e,
        };
        failures += 1;
        warn!(dc = task.config.dc, failures, "cannot connect: {ended}");
        task.report_ready(Err(InvocationError::from(ended)));
        let policy = &task.config.reconnect;
        if policy.max_attempts.is_some_and(|max| failures >= max) {
            task.fail_all(
                std::io::Error::new(
                    std::io::ErrorKind::NotConnected,
                    format!(
                        "gave up connecting to DC {} after {failures} attempts",
                        task.config.dc
                    ),
                )
                .into(),
            );
            // Wait for the next request before trying again.
            match task.commands.recv().await {
                Some(command) => task.accept(command),
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

impl Task {
    /// The first request of a session says who we are and which layer we speak.
    fn init_session(&mut self) {
        let init = self
            .config
            .init
            .wrap(mtproto_api::functions::help::GetConfig {}.to_tl_bytes());
        self.init_request = Some(self.conn.invoke(init));
    }

    fn report_ready(&mut self, outcome: Result<(), InvocationError>) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(outcome);
        }
    }

    fn forget_key(&mut self) {
        warn!(
            dc = self.config.dc,
            "the server does not know our auth key; making a new one"
        );
        self.config.auth_key = None;
        // The server never ran these (it did not know the key they were sent with).
        let error = InvocationError::Transport(ClientConnectionError::TransportCode(-404));
        for id in self.conn.forget_key() {
            if let Some((_, reply)) = self.pending.remove(&id) {
                let _ = reply.send(Err(error.clone()));
            }
        }
        self.init_session();
        let _ = self
            .config
            .events
            .send(ConnectionEvent::KeyRejected { dc: self.config.dc });
    }

    fn fail_all(&mut self, error: InvocationError) {
        for (id, (_, reply)) in self.pending.drain() {
            self.conn.cancel(id);
            let _ = reply.send(Err(error.clone()));
        }
    }

    /// Queues a request on the connection (it waits there for the key if there is none yet).
    fn accept(&mut self, command: Command) {
        let Command::Invoke {
            body,
            request,
            reply,
        } = command;
        let id = self.conn.invoke(body);
        self.pending.insert(id, (request, reply));
    }

    fn drop_cancelled(&mut self) {
        let conn = &mut self.conn;
        self.pending.retain(|id, (_, reply)| {
            if reply.is_closed() {
                conn.cancel(*id);
                false
            } else {
                true
            }
        });
    }

    async fn flush(&mut self, link: &mut Link) -> Result<(), LinkError> {
        if self
            .conn
            .poll_transmit(now(), &mut os_rng, &mut link.outbuf)
        {
            link.write_out().await?;
        }
        Ok(())
    }

    fn drain_events(&mut self) -> Result<(), LinkError> {
        while let Some(event) = self.conn.poll_event() {
            match event {
                ClientConnectionEvent::KeyCreated { key, .. } => {
                    let bytes = *key.bytes();
                    self.config.auth_key = Some(bytes);
                    let _ = self.config.events.send(ConnectionEvent::KeyCreated {
                        dc: self.config.dc,
                        key: Box::new(bytes),
                    });
                    self.report_ready(Ok(()));
                }
                ClientConnectionEvent::Closed(e) => return Err(e.into()),
                ClientConnectionEvent::Session(event) => self.session_event(event),
                other => debug!("connection event {other:?}"),
            }
        }
        Ok(())
    }

    fn session_event(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Result { request, body } => {
                if self.init_request == Some(request) {
                    self.init_request = None;
                    let _ = self.config.events.send(ConnectionEvent::Config {
                        dc: self.config.dc,
                        body,
                    });
                } else if let Some((_, reply)) = self.pending.remove(&request) {
                    let _ = reply.send(Ok(body));
                }
            }
            ClientEvent::Error { request, error } => {
                if self.init_request == Some(request) {
                    self.init_request = None;
                    warn!(dc = self.config.dc, "initConnection failed: {error}");
                } else if let Some((name, reply)) = self.pending.remove(&request) {
                    let _ = reply.send(Err(InvocationError::rpc_of(name, error)));
                }
            }
            ClientEvent::Failed { request, code } => {
                if let Some((name, reply)) = self.pending.remove(&request) {
                    let _ = reply.send(Err(InvocationError::Refused {
                        request: name,
                        code,
                    }));
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
            other => debug!("session event {other:?}"),
        }
    }

    async fn drive(&mut self, link: &mut Link) -> Ended {
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        loop {
            if let Err(e) = self.drain_events() {
                // What the connection still has to say (a last ack) goes out first.
                let _ = self.flush(link).await;
                return Ended::Lost(e);
            }
            if let Err(e) = self.flush(link).await {
                return Ended::Lost(e);
            }
            let wait = self
                .conn
                .poll_timeout()
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
                read = link.read() => match read {
                    Ok(0) => return Ended::Lost(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into())),
                    Ok(_) => {
                        self.conn.handle(now(), &link.inbuf, &mut os_rng);
                        link.inbuf.clear();
                    }
                    Err(e) => return Ended::Lost(e),
                },
                _ = tokio::time::sleep(wait) => self.conn.handle_timeout(now()),
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
