//! The server's shared state: auth keys and who is signed in with them, the services, and the
//! sans-IO [`ServerEndpoint`] (sessions, their timers and connections) behind one lock, with
//! the way its events reach the connection tasks.

use crate::BoxFuture;
use crate::rpc::{Caller, Policy, RpcError, RpcResult, body_id};
use crate::sms::SmsProvider;
use crate::store::{ClientInfo, Db, Store};
use mtproto::crypto::{AuthKey, RsaPrivateKey};
use mtproto::session::ServerSessionConfig;
use mtproto::{ConnId, EndpointConfig, EndpointEvent, ServerEndpoint};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The DC id this server calls itself (2: what clients assume for new sessions).
    pub dc_id: i32,
    /// The address clients are told to connect to (`help.getConfig` dc_options).
    pub public_addr: SocketAddr,
    /// Development login: every code is this one (else codes are random and go to the SMS
    /// provider).
    pub login_code: Option<String>,
    /// The secret server salts are derived from.
    pub salt_secret: [u8; 32],
    /// Handshakes allowed per client IP per minute (then -429).
    pub handshakes_per_minute: u32,
    /// Login codes (`auth.sendCode`) allowed per phone number per hour, across all nodes
    /// (then `FLOOD_WAIT_X`).
    pub codes_per_phone_per_hour: u32,
    /// Calls each signed-in user may make per second on this node in the long run, then
    /// `FLOOD_WAIT_X` (0, the default: no limit). File parts (`upload.saveFilePart`,
    /// `upload.saveBigFilePart`, `upload.getFile`) do not count.
    pub user_calls_per_second: u32,
    /// Calls a user may make at once after a quiet time, before the rate applies.
    pub user_call_burst: u32,
    /// The largest transport frame accepted.
    pub max_frame: usize,
    /// Open connections allowed per client IP (TCP and WebSocket together).
    pub connections_per_ip: usize,
    /// How long a WebSocket client may take to send its whole upgrade request (from its
    /// first byte on a port that also takes TCP; from the accept on a WebSocket-only port):
    /// a slower one is closed.
    pub websocket_upgrade_timeout: std::time::Duration,
    /// A client more than this many pts behind gets `updates.differenceTooLong`.
    pub difference_too_long: i32,
    /// Session settings.
    pub session: ServerSessionConfig,
}

impl Options {
    /// Defaults for a server reachable at `public_addr`.
    pub fn new(public_addr: SocketAddr) -> Self {
        Options {
            dc_id: 2,
            public_addr,
            login_code: None,
            salt_secret: random_array(),
            handshakes_per_minute: 600,
            codes_per_phone_per_hour: 10,
            user_calls_per_second: 0,
            user_call_burst: 500,
            max_frame: 2 << 20,
            connections_per_ip: 1024,
            websocket_upgrade_timeout: std::time::Duration::from_secs(10),
            difference_too_long: 10_000,
            session: ServerSessionConfig::default(),
        }
    }
}

pub use crate::os::{now, os_random, random_array, random_i64, rng, unix_now};

/// What a connection task is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbound {
    /// Its sessions have packets to send: take them from the endpoint.
    Transmit,
    /// Close the connection, with this transport error first if given.
    Close(Option<i32>),
}

/// An auth key the server knows.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// The key.
    pub key: AuthKey,
    /// The user signed in with it.
    pub user_id: Option<i64>,
    /// The layer its client speaks.
    pub layer: i32,
}

/// A call a session received, to run on its own task.
#[derive(Debug)]
pub(crate) struct Call {
    key_id: i64,
    session_id: i64,
    msg_id: i64,
    body: Vec<u8>,
}

/// A group of RPC methods. Register it with [`NodeBuilder::service`](crate::NodeBuilder::service)
/// (the crate's front page runs one in a server).
///
/// ```
/// use server_kit_core::rpc::{BoxFuture, Caller, RpcResult};
/// use server_kit_core::{Node, Service};
/// use std::sync::Arc;
///
/// /// Answers `help.getNearestDc` with DC 2 from everywhere.
/// struct Nearest;
///
/// impl Service for Nearest {
///     fn methods(&self) -> Vec<u32> {
///         vec![0x1fb33026]
///     }
///     fn call<'a>(&'a self, _: &'a Arc<Node>, _: Caller, _: Vec<u8>) -> BoxFuture<'a, RpcResult> {
///         use tl_runtime::Serialize;
///         Box::pin(async move {
///             Ok(mtproto_api::types::NearestDc { country: "NL".into(), this_dc: 2, nearest_dc: 2 }.to_bytes())
///         })
///     }
/// }
/// ```
pub trait Service: Send + Sync + 'static {
    /// The constructor ids of the methods it answers.
    fn methods(&self) -> Vec<u32>;
    /// How the dispatcher treats `method` (one of [`methods`](Self::methods)) before the
    /// call reaches [`call`](Self::call). The default: signed-in callers only, bots
    /// included, counted against the caller's call rate.
    fn policy(&self, method: u32) -> Policy {
        let _ = method;
        Policy::default()
    }
    /// Answers one call (`body` is the whole serialized function, constructor id first).
    fn call<'a>(
        &'a self,
        server: &'a Arc<Node>,
        caller: Caller,
        body: Vec<u8>,
    ) -> BoxFuture<'a, RpcResult>;
}

/// What a node does when another node says a user's or a channel's box changed
/// ([`ChangeNotice::User`](crate::bus::ChangeNotice::User) or
/// [`Channel`](crate::bus::ChangeNotice::Channel)): typically, read the new entries from the
/// shared store and push them to the sessions connected here. Key changes and the bus's own
/// reconnection are handled by the node itself.
pub trait RemoteChanges: Send + Sync + 'static {
    /// Handles one notice.
    fn changed<'a>(
        &'a self,
        node: &'a Arc<Node>,
        change: crate::bus::ChangeNotice,
    ) -> BoxFuture<'a, ()>;
}

/// What a node does when users come online on it or leave it (all their connections to it
/// closed), checked every couple of seconds: typically, record when they were last seen and
/// tell the users who watch their status.
pub trait PresenceChanges: Send + Sync + 'static {
    /// Handles one round of changes.
    fn changed<'a>(
        &'a self,
        node: &'a Arc<Node>,
        online: Vec<i64>,
        offline: Vec<i64>,
    ) -> BoxFuture<'a, ()>;
}

/// The state every connection and service shares.
pub struct Node {
    /// Storage.
    pub store: Db<dyn Store>,
    /// How the server runs.
    pub options: Options,
    /// Where login codes go.
    pub sms: Arc<dyn SmsProvider>,
    /// File bytes and uploads in progress.
    pub media: Arc<crate::media::Media>,
    /// Where push notifications for offline users go.
    pub push: crate::push::Pusher,
    /// The way to other server nodes (a no-op with one node).
    pub bus: Arc<dyn crate::bus::Bus>,
    /// Presence and rate limits shared with the other nodes (in memory with one node).
    pub presence: Arc<dyn crate::presence::Presence>,
    keys: RwLock<HashMap<i64, KeyEntry>>,
    user_keys: Mutex<HashMap<i64, HashSet<i64>>>,
    /// Sessions, their timers and connections; the keys again (for routing).
    endpoint: Mutex<ServerEndpoint>,
    /// The open connections' queues.
    conns: Mutex<HashMap<ConnId, mpsc::UnboundedSender<Outbound>>>,
    /// Each method's service and policy.
    services: HashMap<u32, (Arc<dyn Service>, Policy)>,
    /// What happens when another node says a user's or a channel's box changed.
    remote_changes: Option<Arc<dyn RemoteChanges>>,
    /// What happens when users come online here or leave.
    presence_changes: Option<Arc<dyn PresenceChanges>>,
    next_conn: AtomicU64,
    handshakes: crate::presence::Windows<IpAddr>,
    /// Each user's calls on this node (Options::user_calls_per_second).
    user_calls: crate::presence::Buckets<i64>,
    connections: Mutex<HashMap<IpAddr, usize>>,
    /// Several nodes share the store: keys made or signed in elsewhere are looked up there.
    shared_store: bool,
    /// Calls in flight per session, for invokeAfterMsg(s).
    call_order: crate::call_order::CallOrder,
    /// Calls being answered, for a graceful shutdown to wait for.
    calls: crate::in_flight::InFlight,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Node`]: storage, RSA key, SMS and push providers, and services.
pub struct NodeBuilder {
    options: Options,
    store: Arc<dyn Store>,
    files: Arc<dyn crate::media::FileStorage>,
    rsa: RsaPrivateKey,
    sms: Arc<dyn SmsProvider>,
    push: Arc<dyn crate::push::PushProvider>,
    bus: Arc<dyn crate::bus::Bus>,
    presence: Arc<dyn crate::presence::Presence>,
    shared_store: bool,
    services: Vec<Arc<dyn Service>>,
    remote_changes: Option<Arc<dyn RemoteChanges>>,
    presence_changes: Option<Arc<dyn PresenceChanges>>,
}

impl NodeBuilder {
    /// A server with no services yet and the logging SMS and push providers, keeping data in
    /// `store` and file bytes in `files`. Add methods with [`service`](Self::service) (the
    /// reference services are `server-kit-reference`'s `builtin()`).
    pub fn new(
        options: Options,
        store: Arc<dyn Store>,
        files: Arc<dyn crate::media::FileStorage>,
        rsa: RsaPrivateKey,
    ) -> Self {
        NodeBuilder {
            options,
            store,
            files,
            rsa,
            sms: Arc::new(crate::sms::LogSms),
            push: Arc::new(crate::push::LogPush),
            bus: Arc::new(crate::bus::LocalBus),
            presence: Arc::new(crate::presence::LocalPresence::default()),
            shared_store: false,
            services: Vec::new(),
            remote_changes: None,
            presence_changes: None,
        }
    }

    /// Where login codes go.
    pub fn sms(mut self, sms: Arc<dyn SmsProvider>) -> Self {
        self.sms = sms;
        self
    }

    /// Where push notifications for offline users go (default: the log).
    pub fn push(mut self, provider: Arc<dyn crate::push::PushProvider>) -> Self {
        self.push = provider;
        self
    }

    /// The bus to other server nodes (default: none, [`LocalBus`](crate::bus::LocalBus)).
    pub fn bus(mut self, bus: Arc<dyn crate::bus::Bus>) -> Self {
        self.bus = bus;
        self
    }

    /// Presence and rate limits shared with the other nodes (default: this node's memory,
    /// [`LocalPresence`](crate::presence::LocalPresence)).
    pub fn presence(mut self, presence: Arc<dyn crate::presence::Presence>) -> Self {
        self.presence = presence;
        self
    }

    /// Other nodes share the store: an auth key this node does not know, or knows as not
    /// signed in, is looked up in the store (one indexed query) before it is refused.
    pub fn shared_store(mut self, shared: bool) -> Self {
        self.shared_store = shared;
        self
    }

    /// What to do when another node tells of a change to a user's or a channel's box
    /// (default: nothing; the client catches up on its own through getDifference).
    pub fn remote_changes(mut self, handler: Arc<dyn RemoteChanges>) -> Self {
        self.remote_changes = Some(handler);
        self
    }

    /// What to do when users come online on this node or leave it (default: nothing).
    pub fn presence_changes(mut self, handler: Arc<dyn PresenceChanges>) -> Self {
        self.presence_changes = Some(handler);
        self
    }

    /// Adds services; their methods replace earlier ones with the same ids.
    pub fn services(mut self, services: impl IntoIterator<Item = Arc<dyn Service>>) -> Self {
        self.services.extend(services);
        self
    }

    /// Adds a service; its methods replace earlier ones with the same ids.
    pub fn service(mut self, service: Arc<dyn Service>) -> Self {
        self.services.push(service);
        self
    }

    /// Loads the auth keys and makes the server.
    pub fn build(self) -> Result<Arc<Node>, crate::store::StoreError> {
        let mut keys = HashMap::new();
        let mut user_keys: HashMap<i64, HashSet<i64>> = HashMap::new();
        let mut endpoint = ServerEndpoint::new(EndpointConfig {
            dc_id: self.options.dc_id,
            session: self.options.session.clone(),
            max_frame: self.options.max_frame,
            ..EndpointConfig::new(self.rsa.clone(), self.options.salt_secret)
        });
        for stored in self.store.auth_keys()? {
            let Ok(bytes) = <[u8; 256]>::try_from(stored.key.as_slice()) else {
                continue;
            };
            if let Some(user) = stored.user_id {
                user_keys.entry(user).or_default().insert(stored.id);
            }
            if let Err(e) = endpoint.add_key(now(), AuthKey::new(bytes), None) {
                tracing::warn!("loading auth key {:016x}: {e}", stored.id);
            }
            keys.insert(
                stored.id,
                KeyEntry {
                    key: AuthKey::new(bytes),
                    user_id: stored.user_id,
                    layer: stored.layer,
                },
            );
        }
        let mut services = HashMap::new();
        for service in self.services {
            for id in service.methods() {
                services.insert(id, (service.clone(), service.policy(id)));
            }
        }
        Ok(Arc::new(Node {
            store: Db(self.store.clone()),
            options: self.options,
            sms: self.sms,
            media: Arc::new(crate::media::Media::new(self.files)),
            push: crate::push::Pusher::new(self.push).forgetting_in(Db(self.store.clone())),
            bus: self.bus,
            presence: self.presence,
            keys: RwLock::new(keys),
            user_keys: Mutex::new(user_keys),
            endpoint: Mutex::new(endpoint),
            conns: Mutex::new(HashMap::new()),
            services,
            remote_changes: self.remote_changes,
            presence_changes: self.presence_changes,
            next_conn: AtomicU64::new(1),
            handshakes: crate::presence::Windows::default(),
            user_calls: crate::presence::Buckets::default(),
            connections: Mutex::new(HashMap::new()),
            shared_store: self.shared_store,
            call_order: crate::call_order::CallOrder::default(),
            calls: crate::in_flight::InFlight::default(),
        }))
    }
}

/// The layer a key's client is served: the one it announced in `invokeWithLayer`, or the
/// nearest served one ([`mtproto_api::layers::served`]); 0 (nothing announced yet) is served
/// as 229, the server's own.
pub fn served_layer(announced: i32) -> mtproto_api::layers::Served {
    mtproto_api::layers::served(if announced == 0 {
        mtproto_api::LAYER
    } else {
        announced
    })
}

const INVOKE_WITH_LAYER: u32 = 0xda9b_0d0d;
const INIT_CONNECTION: u32 = 0xc1cd_5ea9;
const INVOKE_AFTER_MSG: u32 = 0xcb9f_372d;
const INVOKE_AFTER_MSGS: u32 = 0x3dc4_b4f0;
const INVOKE_WITHOUT_UPDATES: u32 = 0xbf94_59b7;
const DESTROY_AUTH_KEY: u32 = 0xd143_5160;

impl Node {
    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a new connection from `ip`; `false` if it has too many open already.
    pub(crate) fn connection_opened(&self, ip: IpAddr) -> bool {
        let mut map = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = map.entry(ip).or_insert(0);
        if *open >= self.options.connections_per_ip {
            return false;
        }
        *open += 1;
        true
    }

    /// A connection from `ip` closed.
    pub(crate) fn connection_gone(&self, ip: IpAddr) {
        let mut map = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(open) = map.get_mut(&ip) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                map.remove(&ip);
            }
        }
    }

    /// Counts a handshake from `ip`; `false` once the per-minute limit is reached.
    pub(crate) fn allow_handshake(&self, ip: IpAddr) -> bool {
        self.handshakes
            .hit(
                ip,
                self.options.handshakes_per_minute,
                Duration::from_secs(60),
                Instant::now(),
            )
            .is_ok()
    }

    /// The key with this id.
    pub fn key(&self, id: i64) -> Option<KeyEntry> {
        self.keys.read().ok()?.get(&id).cloned()
    }

    /// Another node signed key `key_id` in or out, or destroyed it: this node takes the
    /// store's word for it (and closes the key's sessions if it is gone).
    pub(crate) async fn key_changed_elsewhere(&self, key_id: i64) {
        self.merge_stored_key(key_id).await;
        let gone = self.keys.read().map(|k| !k.contains_key(&key_id));
        if gone.unwrap_or(false) {
            self.with_endpoint(|ep| ep.forget_key(key_id));
        }
    }

    /// With a shared store: takes key `id` from it (one indexed query), made, signed in or
    /// out, or destroyed through another node; forgotten here if the store no longer has
    /// it. `false` if the store could not be read, or is not shared: then it holds no key
    /// this node does not already know, and nothing is looked up.
    pub(crate) async fn merge_stored_key(&self, id: i64) -> bool {
        if !self.shared_store {
            return false;
        }
        let stored = match self.store.run(move |s| s.auth_key(id)).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!("reloading auth key {id:016x}: {e}");
                return false;
            }
        };
        let (Ok(mut keys), Ok(mut index)) = (self.keys.write(), self.user_keys.lock()) else {
            return false;
        };
        let Some(key) = stored.filter(|k| k.id == id) else {
            self.with_endpoint(|ep| ep.forget_key(id));
            if let Some(old) = keys.remove(&id).and_then(|k| k.user_id) {
                if let Some(set) = index.get_mut(&old) {
                    set.remove(&id);
                }
            }
            return true;
        };
        let Ok(bytes) = <[u8; 256]>::try_from(key.key.as_slice()) else {
            return true;
        };
        if !keys.contains_key(&key.id) {
            let added = self.with_endpoint(|ep| ep.add_key(now(), AuthKey::new(bytes), None));
            if let Err(e) = added {
                tracing::warn!("a stored auth key: {e}");
                return false;
            }
        }
        let entry = keys.entry(key.id).or_insert_with(|| KeyEntry {
            key: AuthKey::new(bytes),
            user_id: None,
            layer: key.layer,
        });
        if entry.user_id != key.user_id {
            if let Some(old) = entry.user_id {
                if let Some(set) = index.get_mut(&old) {
                    set.remove(&key.id);
                }
            }
            if let Some(new) = key.user_id {
                index.entry(new).or_default().insert(key.id);
            }
            entry.user_id = key.user_id;
        }
        true
    }

    /// Whether a key id is in use (for the handshake's uniqueness check).
    pub fn key_exists(&self, id: i64) -> bool {
        self.keys
            .read()
            .map(|k| k.contains_key(&id))
            .unwrap_or(true)
    }

    /// Stores a new key durably, then makes it usable. `first_salt` is the salt the
    /// handshake gave the client; its sessions accept it for 30 minutes.
    pub async fn add_key(
        &self,
        key: AuthKey,
        first_salt: i64,
    ) -> Result<(), crate::store::StoreError> {
        let id = i64::from_le_bytes(key.id());
        let bytes = key.bytes().to_vec();
        let created = i64::from(unix_now());
        self.store
            .run(move |s| s.insert_auth_key(id, &bytes, created))
            .await?;
        let added = self.with_endpoint(|ep| ep.add_key(now(), key.clone(), Some(first_salt)));
        if let Err(e) = added {
            // The store took the id, so no other key has it there; this node knew another.
            tracing::error!("a new auth key: {e}");
        }
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(
                id,
                KeyEntry {
                    key,
                    user_id: None,
                    layer: 0,
                },
            );
        }
        Ok(())
    }

    /// Signs a key in or out (durably first).
    pub async fn bind_user(&self, key_id: i64, user: Option<i64>) -> Result<(), RpcError> {
        self.store
            .run(move |s| s.set_key_user(key_id, user))
            .await?;
        let previous = match self.keys.write() {
            Ok(mut keys) => keys
                .get_mut(&key_id)
                .and_then(|k| std::mem::replace(&mut k.user_id, user)),
            Err(_) => None,
        };
        if let Ok(mut index) = self.user_keys.lock() {
            if let Some(old) = previous {
                if let Some(set) = index.get_mut(&old) {
                    set.remove(&key_id);
                }
            }
            if let Some(new) = user {
                index.entry(new).or_default().insert(key_id);
            }
        }
        self.bus.publish(crate::bus::ChangeNotice::Key { key_id });
        Ok(())
    }

    /// Forgets a key (logged out for good, or reset by its user).
    pub async fn drop_key(&self, key_id: i64) -> Result<(), RpcError> {
        self.bind_user(key_id, None).await?;
        self.store.run(move |s| s.delete_auth_key(key_id)).await?;
        if let Ok(mut keys) = self.keys.write() {
            keys.remove(&key_id);
        }
        self.bus.publish(crate::bus::ChangeNotice::Key { key_id });
        self.with_endpoint(|ep| ep.forget_key(key_id));
        Ok(())
    }

    /// The auth keys a user is signed in with.
    pub fn keys_of(&self, user: i64) -> Vec<i64> {
        self.user_keys
            .lock()
            .ok()
            .and_then(|m| m.get(&user).map(|s| s.iter().copied().collect()))
            .unwrap_or_default()
    }

    async fn set_layer(&self, key_id: i64, layer: i32, client: Option<ClientInfo>) {
        let changed = match self.keys.write() {
            Ok(mut keys) => match keys.get_mut(&key_id) {
                Some(k) if k.layer != layer || client.is_some() => {
                    k.layer = layer;
                    true
                }
                _ => false,
            },
            Err(_) => false,
        };
        if changed {
            let served = served_layer(layer);
            if !served.exact {
                tracing::info!(
                    announced = layer,
                    served = served.layer,
                    "a client announced a layer that is not served: answering in the nearest"
                );
            }
            let client = client.unwrap_or_default();
            if let Err(e) = self
                .store
                .run(move |s| s.set_key_client(key_id, layer, &client))
                .await
            {
                tracing::warn!("storing the client of a key: {e}");
            }
        }
    }

    /// Runs `f` on the endpoint and delivers what it produced: packets and closes to the
    /// connection tasks; calls are handed back (to [`run_calls`](Self::run_calls)).
    pub(crate) fn with_endpoint_calls<R>(
        &self,
        f: impl FnOnce(&mut ServerEndpoint) -> R,
    ) -> (R, Vec<Call>) {
        let (result, events) = {
            let mut endpoint = self
                .endpoint
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let result = f(&mut endpoint);
            let events: Vec<EndpointEvent> = std::iter::from_fn(|| endpoint.poll_event()).collect();
            (result, events)
        };
        let mut calls = Vec::new();
        if events.is_empty() {
            return (result, calls);
        }
        let conns = self
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tell = |conn: ConnId, what: Outbound| {
            if let Some(tx) = conns.get(&conn) {
                let _ = tx.send(what);
            }
        };
        for event in events {
            match event {
                EndpointEvent::Transmit { conn } => tell(conn, Outbound::Transmit),
                EndpointEvent::Close { conn, reason } => {
                    tracing::debug!("closing {conn}: {reason}");
                    tell(conn, Outbound::Close(reason.transport_code()));
                }
                EndpointEvent::Request {
                    key_id,
                    session_id,
                    msg_id,
                    body,
                    ..
                } => calls.push(Call {
                    key_id,
                    session_id,
                    msg_id,
                    body,
                }),
                // The gateway looks keys up before it hands packets over, so this is a key
                // forgotten in between: refused like any unknown key.
                EndpointEvent::NeedKey { conn, .. } => tell(
                    conn,
                    Outbound::Close(Some(mtproto::endpoint::TRANSPORT_NOT_FOUND)),
                ),
                other => tracing::warn!("unexpected endpoint event {other:?}"),
            }
        }
        (result, calls)
    }

    /// [`with_endpoint_calls`](Self::with_endpoint_calls) for commands that make no calls
    /// (answers, pushes, keys).
    pub(crate) fn with_endpoint<R>(&self, f: impl FnOnce(&mut ServerEndpoint) -> R) -> R {
        let (result, calls) = self.with_endpoint_calls(f);
        if !calls.is_empty() {
            // Only packets make calls, and packets go through with_endpoint_calls.
            tracing::error!(
                "{} calls made by an endpoint command were not run",
                calls.len()
            );
        }
        result
    }

    /// Runs calls that sessions received, each on its own task; answers go back through the
    /// endpoint.
    pub(crate) fn run_calls(self: &Arc<Self>, calls: Vec<Call>) {
        for call in calls {
            let server = self.clone();
            // Registered here, in the order the session received the calls, so that an
            // invokeAfterMsg finds the call it names (crate::call_order).
            let (prerequisites, running) =
                self.call_order
                    .start(call.key_id, call.session_id, call.msg_id, &call.body);
            // Counted until its answer is in the endpoint (a shutdown waits for that).
            let working = self.calls.start();
            tokio::spawn(async move {
                prerequisites.wait().await;
                let caller = server.caller(call.key_id, call.session_id);
                let result = server.dispatch(caller, call.body).await;
                server.answer(call.key_id, call.session_id, call.msg_id, result);
                drop(running);
                drop(working);
            });
        }
    }

    /// How many calls are being answered now.
    pub fn calls_in_flight(&self) -> usize {
        self.calls.count()
    }

    /// Returns once no call is being answered.
    pub(crate) async fn calls_idle(&self) {
        self.calls.idle().await;
    }

    /// A connection task starts: its queue, for the endpoint's events.
    pub(crate) fn connection_started(&self, id: ConnId, tx: mpsc::UnboundedSender<Outbound>) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.insert(id, tx);
        }
    }

    /// The endpoint's configuration, for a new connection.
    pub(crate) fn endpoint_config(&self) -> Arc<EndpointConfig> {
        self.with_endpoint(|ep| ep.config().clone())
    }

    /// The key with this id as the endpoint routes it (to decrypt outside its lock).
    pub(crate) fn routing_key(&self, key_id: i64) -> Option<AuthKey> {
        self.with_endpoint(|ep| ep.key(key_id).cloned())
    }

    /// Sends an update to every session of `user` (except `skip`), after it was committed.
    /// `body` is an `Updates` of layer 229; keys whose client speaks an older layer get it
    /// converted to theirs (once per layer), or not at all if it has no form there.
    pub fn push_to_user(&self, user: i64, body: &[u8], skip: Option<(i64, i64)>) {
        self.push_to_keys(self.keys_of(user), body, skip);
    }

    /// Sends an update to the sessions of these auth keys connected to this node (except
    /// `skip`), converted to each key's layer as [`push_to_user`](Self::push_to_user) does:
    /// for what belongs to one device only (a secret chat's updates).
    pub fn push_to_keys(&self, keys: Vec<i64>, body: &[u8], skip: Option<(i64, i64)>) {
        let layers: Vec<i32> = keys
            .iter()
            .map(|k| served_layer(self.key(*k).map_or(0, |k| k.layer)).layer)
            .collect();
        // One conversion per layer that differs from 229; None: no form there.
        let mut converted: HashMap<i32, Option<Vec<u8>>> = HashMap::new();
        for &layer in &layers {
            if layer == mtproto_api::LAYER || converted.contains_key(&layer) {
                continue;
            }
            let form = match served_layer(layer).downgrade_boxed("Updates", body) {
                Ok(Some(b)) => Some(b),
                Ok(None) => Some(body.to_vec()),
                Err(e) => {
                    tracing::debug!(layer, "an update has no form in this layer: {e}");
                    None
                }
            };
            converted.insert(layer, form);
        }
        let mut pushes: Vec<(i64, &[u8])> = Vec::new();
        for (key_id, layer) in keys.into_iter().zip(layers) {
            match converted.get(&layer) {
                None => pushes.push((key_id, body)),
                Some(Some(form)) => pushes.push((key_id, form)),
                Some(None) => {}
            }
        }
        if pushes.is_empty() {
            return;
        }
        let pushed = self.with_endpoint(|ep| {
            let mut pushed = 0;
            for (key_id, body) in pushes {
                let skip = skip.filter(|(k, _)| *k == key_id).map(|(_, s)| s);
                pushed += ep.push(key_id, body, skip);
            }
            pushed
        });
        metrics::counter!(crate::stats::UPDATES_PUSHED).increment(pushed as u64);
    }

    /// Sends `body` (an `Updates` the same in every layer, e.g. `updatesTooLong`) to every
    /// session with a connection.
    pub fn push_to_everyone(&self, body: &[u8]) {
        let pushed = self.with_endpoint(|ep| ep.push_all(body));
        metrics::counter!(crate::stats::UPDATES_PUSHED).increment(pushed as u64);
    }

    /// Whether the user has a session with a live connection.
    pub fn is_online(&self, user: i64) -> bool {
        let keys = self.keys_of(user);
        if keys.is_empty() {
            return false;
        }
        self.with_endpoint(|ep| keys.iter().any(|k| ep.is_connected(*k)))
    }

    /// Whether auth key `key_id` has a session with a live connection to this node.
    pub fn key_online(&self, key_id: i64) -> bool {
        self.with_endpoint(|ep| ep.is_connected(key_id))
    }

    /// The users with a session that has a live connection to this node.
    pub fn users_online_here(&self) -> HashSet<i64> {
        let live = self.with_endpoint(|ep| ep.connected_keys());
        let Ok(keys) = self.keys.read() else {
            return HashSet::new();
        };
        live.into_iter()
            .filter_map(|key_id| keys.get(&key_id).and_then(|k| k.user_id))
            .collect()
    }

    /// Which of `users` have a live connection to this node or, through the shared
    /// presence, to another node.
    pub async fn online_anywhere(&self, users: Vec<i64>) -> HashSet<i64> {
        let (mut online, rest): (HashSet<i64>, Vec<i64>) = {
            let (here, rest): (Vec<i64>, Vec<i64>) =
                users.into_iter().partition(|u| self.is_online(*u));
            (here.into_iter().collect(), rest)
        };
        if !rest.is_empty() && self.presence.is_shared() {
            online.extend(self.presence.online_elsewhere(rest).await);
        }
        online
    }

    /// Delivers the answer to call `msg_id` of a session.
    pub(crate) fn answer(&self, key_id: i64, session_id: i64, msg_id: i64, result: RpcResult) {
        let result = result.map_err(|e| (e.code, e.message));
        self.with_endpoint(|ep| ep.respond(key_id, session_id, msg_id, result));
    }

    fn caller(&self, key_id: i64, session_id: i64) -> Caller {
        let key = self.key(key_id);
        Caller {
            key_id,
            session_id,
            user_id: key.as_ref().and_then(|k| k.user_id),
            layer: key.map(|k| k.layer).unwrap_or(0),
        }
    }

    /// Answers one call: unwraps `invokeWithLayer`, `initConnection`, `invokeAfterMsg(s)` and
    /// `invokeWithoutUpdates`, checks authorization, and hands it to its service.
    ///
    /// The call runs in an `rpc` span carrying its `method` (once the wrappers are off) and
    /// `user_id` (when signed in); at the end a debug event gives its `elapsed_ms` and
    /// `outcome`, and [`stats::RPCS`](crate::stats::RPCS) and
    /// [`stats::RPC_DURATION`](crate::stats::RPC_DURATION) count it.
    pub async fn dispatch(self: &Arc<Self>, caller: Caller, body: Vec<u8>) -> RpcResult {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "rpc",
            method = tracing::field::Empty,
            user_id = caller.user_id,
        );
        let started = Instant::now();
        let mut method = "unknown";
        let result = self
            .dispatch_unwrapped(caller, body, &mut method)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(_) => std::borrow::Cow::Borrowed("ok"),
            Err(e) => crate::stats::error_label(&e.message),
        };
        span.in_scope(|| {
            tracing::debug!(
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                outcome = %outcome,
                "call answered"
            );
        });
        metrics::counter!(crate::stats::RPCS, "method" => method, "outcome" => outcome.into_owned())
            .increment(1);
        metrics::histogram!(crate::stats::RPC_DURATION, "method" => method).record(elapsed);
        result
    }

    /// [`dispatch`](Self::dispatch) without its span and metrics; `method` is set to the
    /// label of the method called once the wrappers are off.
    async fn dispatch_unwrapped(
        self: &Arc<Self>,
        mut caller: Caller,
        mut body: Vec<u8>,
        method: &mut &'static str,
    ) -> RpcResult {
        use mtproto_api::functions;
        use tl_runtime::{Blob, Deserialize};
        for _ in 0..8 {
            match body_id(&body) {
                INVOKE_WITH_LAYER => {
                    let call = functions::InvokeWithLayer::<Blob>::from_bytes(body)?;
                    caller.layer = call.layer;
                    self.set_layer(caller.key_id, call.layer, None).await;
                    body = call.query.0.to_vec();
                }
                INIT_CONNECTION => {
                    let call = functions::InitConnection::<Blob>::from_bytes(body)?;
                    let client = ClientInfo {
                        api_id: call.api_id,
                        device_model: call.device_model,
                        system_version: call.system_version,
                        app_version: call.app_version,
                    };
                    self.set_layer(caller.key_id, caller.layer, Some(client))
                        .await;
                    body = call.query.0.to_vec();
                }
                INVOKE_AFTER_MSG => {
                    body = functions::InvokeAfterMsg::<Blob>::from_bytes(body)?
                        .query
                        .0
                        .to_vec();
                }
                INVOKE_AFTER_MSGS => {
                    body = functions::InvokeAfterMsgs::<Blob>::from_bytes(body)?
                        .query
                        .0
                        .to_vec();
                }
                INVOKE_WITHOUT_UPDATES => {
                    body = functions::InvokeWithoutUpdates::<Blob>::from_bytes(body)?
                        .query
                        .0
                        .to_vec();
                }
                _ => break,
            }
        }
        // Other layers: the call becomes the 229 one the services handle, and its result goes
        // back in the caller's layer.
        let called_id = body_id(&body);
        let served = served_layer(caller.layer);
        match served.upgrade_call(&body) {
            Ok(Some(upgraded)) => body = upgraded,
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(
                    layer = served.layer,
                    "a call {called_id:#010x} did not convert: {e}"
                );
                return Err(RpcError::bad_request("INPUT_REQUEST_INVALID"));
            }
        }
        let id = body_id(&body);
        if id == DESTROY_AUTH_KEY || self.services.contains_key(&id) {
            // Only methods served here: other ids are `unknown`, so that clients cannot
            // make up labels.
            *method = crate::stats::method_label(id);
            tracing::Span::current().record("method", *method);
        }
        let result = self.dispatch_229(caller, body).await?;
        match served.downgrade_result(called_id, &result) {
            Ok(Some(converted)) => Ok(converted),
            Ok(None) => Ok(result),
            Err(e) => {
                tracing::warn!(
                    layer = served.layer,
                    "a result for call {called_id:#010x}: {e}"
                );
                Err(RpcError::internal())
            }
        }
    }

    /// Hands a call of layer 229 (wrappers removed) to its service.
    async fn dispatch_229(self: &Arc<Self>, caller: Caller, body: Vec<u8>) -> RpcResult {
        let id = body_id(&body);
        // destroy_session never gets here: the endpoint answers it.
        if id == DESTROY_AUTH_KEY {
            self.drop_key(caller.key_id).await?;
            return Ok(0xf660_e1d4u32.to_le_bytes().to_vec());
        }
        let Some((service, policy)) = self.services.get(&id).cloned() else {
            tracing::debug!("unknown method {id:#010x}");
            return Err(RpcError::bad_request("INPUT_METHOD_INVALID"));
        };
        let mut caller = caller;
        if caller.user_id.is_none() && !policy.without_auth {
            // Signed in through another node since this one loaded the key?
            let user = if self.merge_stored_key(caller.key_id).await {
                self.key(caller.key_id).and_then(|k| k.user_id)
            } else {
                None
            };
            let Some(user) = user else {
                return Err(RpcError::unauthorized("AUTH_KEY_UNREGISTERED"));
            };
            tracing::Span::current().record("user_id", user);
            caller.user_id = Some(user);
        }
        if let Some(user) = caller.user_id {
            if !policy.unrated {
                self.rate_user_call(user)?;
            }
            if policy.users_only {
                let user = self.store.run(move |s| s.user(user)).await?;
                if user.is_some_and(|u| u.bot_info_version.is_some()) {
                    return Err(RpcError::bad_request("BOT_METHOD_INVALID"));
                }
            }
        }
        service.call(self, caller, body).await
    }

    /// Counts a call of `user` against the user's rate; `FLOOD_WAIT_X` past it.
    fn rate_user_call(&self, user: i64) -> Result<(), RpcError> {
        let rate = self.options.user_calls_per_second;
        if rate == 0 {
            return Ok(());
        }
        let size = crate::presence::BucketSize {
            rate,
            burst: self.options.user_call_burst,
        };
        self.user_calls
            .take(user, size, Instant::now())
            .map_err(|limited| {
                tracing::debug!(user, "calls over the user's rate");
                RpcError::flood_wait(limited.retry_after.as_secs_f64().ceil() as u64)
            })
    }

    /// Handles an event of the bus: a key changed elsewhere is reloaded, a box changed
    /// elsewhere goes to the [`RemoteChanges`] handler, and after the bus reconnected (notices
    /// may have been lost) every connected client is told `updatesTooLong`, to catch up
    /// through getDifference.
    pub async fn remote_event(self: &Arc<Self>, event: crate::bus::Event) {
        use crate::bus::{ChangeNotice, Event};
        use tl_runtime::Serialize;
        match event {
            Event::Reconnected => {
                let too_long: mtproto_api::enums::Updates =
                    mtproto_api::types::UpdatesTooLong {}.into();
                self.push_to_everyone(&too_long.to_bytes());
            }
            Event::Changed(ChangeNotice::Key { key_id }) => {
                self.key_changed_elsewhere(key_id).await;
            }
            Event::Changed(change) => {
                if let Some(handler) = &self.remote_changes {
                    handler.changed(self, change).await;
                }
            }
        }
    }

    /// Users came online on this node or left it: the [`PresenceChanges`] handler hears it.
    pub(crate) async fn presence_changed(self: &Arc<Self>, online: Vec<i64>, offline: Vec<i64>) {
        if let Some(handler) = &self.presence_changes {
            handler.changed(self, online, offline).await;
        }
    }

    /// Whether anything listens to users coming and going (a [`PresenceChanges`] handler or
    /// other nodes through a shared presence).
    pub(crate) fn watches_presence(&self) -> bool {
        self.presence_changes.is_some() || self.presence.is_shared()
    }

    /// Runs the sessions' timers (acks, ping_delay_disconnect) and forgets sessions that have
    /// had no connection for half an hour. Call every few hundred milliseconds.
    pub(crate) fn tick(self: &Arc<Self>) {
        let now = now();
        let ((), calls) = self.with_endpoint_calls(|ep| {
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
            }
        });
        self.run_calls(calls);
    }

    /// A connection closed: its sessions wait for another.
    pub(crate) fn connection_closed(&self, conn: ConnId) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&conn);
        }
        self.with_endpoint(|ep| ep.connection_closed(now(), conn));
    }
}
