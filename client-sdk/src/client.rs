//! The [`Client`]: connections per DC, calls with flood-wait and migration handling, the
//! session it keeps, and the update task.

use crate::config::Config;
use crate::connection::{self, Command, ConnectionConfig, ConnectionEvent, UpdateSink};
use crate::error::InvocationError;
use crate::storage::{DcEntry, PeerKind, SessionData, UpdateState};
use crate::updates::{Batch, BoxId, IDLE_DIFFERENCE, Input, MessageBoxes};
use mtproto_api::{enums, functions, types};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tl_runtime::{Deserialize, Identifiable, RemoteCall, Serialize};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

/// A connected client. Cheap to clone; every clone is the same client, usable from many
/// tasks at once.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use client_sdk::{Client, Config};
/// let client = Client::connect(Config::default()).await?;
/// let me = client.invoke(&mtproto_api::functions::users::GetUsers {
///     id: vec![mtproto_api::enums::InputUser::InputUserSelf],
/// }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) data: Mutex<SessionData>,
    dcs: Mutex<HashMap<i32, mpsc::Sender<Command>>>,
    /// DCs other than home where the account's authorization was imported.
    authorized_dcs: tokio::sync::Mutex<HashSet<i32>>,
    events: mpsc::UnboundedSender<ConnectionEvent>,
    update_sink: UpdateSink,
    updates_out: tokio::sync::Mutex<mpsc::Receiver<enums::Update>>,
    /// Addresses from `help.getConfig`.
    server_dcs: Mutex<HashMap<i32, String>>,
    /// Display names of the users and chats seen (not persisted).
    names: Mutex<HashMap<(PeerKind, i64), String>>,
}

/// Constructor ids of the `Updates` type: answers that carry updates.
const UPDATES_IDS: [u32; 7] = [
    0xe317af7e, 0x313bc7f8, 0x4d6deea5, 0x78d4dec1, 0x725b04c3, 0x74ae4240, 0x9015e101,
];

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The TL name of a request (its Rust type name for types generated outside `mtproto-api`).
fn request_name<R>(body: &[u8]) -> &'static str {
    id_of(body)
        .and_then(mtproto_api::name_for_id)
        .unwrap_or_else(std::any::type_name::<R>)
}

fn id_of(body: &[u8]) -> Option<u32> {
    body.get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl Client {
    /// Loads the session, connects to its home DC (creating an auth key if there is none)
    /// and starts receiving updates. Fails if the first connection attempt fails.
    pub async fn connect(config: Config) -> Result<Client, InvocationError> {
        let mut data = config.session.load()?.unwrap_or_default();
        if data.home_dc == 0 {
            data.home_dc = config.dc;
        }
        let signed_in = data.user.is_some();
        let state = data.state.clone();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (update_tx, update_rx) = mpsc::channel(config.update_queue.max(1));
        let (out_tx, out_rx) = mpsc::channel(config.update_queue.max(1));
        let sink = UpdateSink {
            tx: update_tx,
            overflowed: Arc::new(AtomicBool::new(false)),
        };
        let inner = Arc::new(Inner {
            config,
            data: Mutex::new(data),
            dcs: Mutex::new(HashMap::new()),
            authorized_dcs: tokio::sync::Mutex::new(HashSet::new()),
            events: events_tx,
            update_sink: sink.clone(),
            updates_out: tokio::sync::Mutex::new(out_rx),
            server_dcs: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
        });
        tokio::spawn(handle_events(Arc::downgrade(&inner), events_rx));
        let home = lock(&inner.data).home_dc;
        let ready = inner.open_dc(home);
        if let Some(ready) = ready {
            ready.await.map_err(|_| InvocationError::Dropped)??;
        }
        let client = Client(inner);
        let boxes = MessageBoxes::new(state.clone());
        tokio::spawn(run_updates(
            Arc::downgrade(&client.0),
            update_rx,
            sink.overflowed.clone(),
            out_tx,
            boxes,
        ));
        if signed_in {
            match state {
                Some(_) => sink.push(Input::CatchUp),
                None => client.fetch_state().await,
            }
        }
        Ok(client)
    }

    /// Calls `request` in the home DC and decodes its answer.
    ///
    /// `FLOOD_WAIT_X` up to the configured threshold is waited out and the call retried;
    /// `PHONE_MIGRATE_X`, `USER_MIGRATE_X` and `NETWORK_MIGRATE_X` move the home DC and
    /// retry there. Answers that carry updates also feed the update machinery.
    pub async fn invoke<R: RemoteCall>(&self, request: &R) -> Result<R::Return, InvocationError> {
        let body = request.to_bytes();
        let name = request_name::<R>(&body);
        let answer = self.invoke_raw(None, body, name).await?;
        R::Return::from_bytes(answer).map_err(|error| InvocationError::Decode {
            request: name,
            error,
        })
    }

    /// Calls `request` in DC `dc` (exporting the account's authorization there first if
    /// needed), e.g. to download a file that lives in another DC.
    pub async fn invoke_in_dc<R: RemoteCall>(
        &self,
        dc: i32,
        request: &R,
    ) -> Result<R::Return, InvocationError> {
        let body = request.to_bytes();
        let name = request_name::<R>(&body);
        let answer = self.invoke_raw(Some(dc), body, name).await?;
        R::Return::from_bytes(answer).map_err(|error| InvocationError::Decode {
            request: name,
            error,
        })
    }

    /// The home DC's id.
    pub fn home_dc(&self) -> i32 {
        lock(&self.0.data).home_dc
    }

    async fn invoke_raw(
        &self,
        dc: Option<i32>,
        body: Vec<u8>,
        name: &'static str,
    ) -> Result<Vec<u8>, InvocationError> {
        let mut dc = dc;
        let mut migrations = 0;
        loop {
            let target = dc.unwrap_or_else(|| self.home_dc());
            if target != self.home_dc() {
                self.authorize_in(target).await?;
            }
            match self.0.call(target, body.clone(), name).await {
                Ok(answer) => {
                    self.observe(&body, &answer);
                    return Ok(answer);
                }
                Err(e) if e.flood_wait().is_some() => {
                    let wait = e.flood_wait().unwrap_or_default();
                    if wait > self.0.config.flood_sleep_threshold {
                        return Err(e);
                    }
                    info!("{e}: waiting {wait:?} before retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(InvocationError::Rpc { request, error: e })
                    if e.code == 303 && migrations < 3 =>
                {
                    let Some(to) = e.value.map(|v| v as i32) else {
                        return Err(InvocationError::rpc_of(request, e));
                    };
                    migrations += 1;
                    if e.name == "FILE_MIGRATE" || e.name == "STATS_MIGRATE" {
                        dc = Some(to);
                    } else {
                        info!("{}: the account lives in DC {to}", e.message);
                        self.set_home_dc(to);
                        dc = None;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Feeds answers that carry updates to the update machinery.
    fn observe(&self, request: &[u8], answer: &[u8]) {
        let Some(id) = id_of(answer) else { return };
        if UPDATES_IDS.contains(&id) {
            self.0.update_sink.push(Input::Pushed(answer.to_vec()));
            return;
        }
        // affectedMessages / affectedHistory of the calls on the common box.
        const COMMON_BOX_CALLS: [u32; 2] = [
            functions::messages::ReadHistory::CONSTRUCTOR_ID,
            functions::messages::DeleteMessages::CONSTRUCTOR_ID,
        ];
        if id_of(request).is_some_and(|r| COMMON_BOX_CALLS.contains(&r)) {
            let affected = enums::messages::AffectedMessages::from_bytes(answer.to_vec())
                .map(|enums::messages::AffectedMessages::AffectedMessages(a)| (a.pts, a.pts_count));
            if let Ok((pts, pts_count)) = affected {
                self.0.update_sink.push(Input::Affected { pts, pts_count });
            }
        }
    }

    fn set_home_dc(&self, dc: i32) {
        let mut data = lock(&self.0.data);
        data.home_dc = dc;
        let _ = self.0.config.session.save(&data);
    }

    /// Makes sure DC `dc` knows who we are (auth.exportAuthorization in the home DC,
    /// auth.importAuthorization there).
    async fn authorize_in(&self, dc: i32) -> Result<(), InvocationError> {
        if lock(&self.0.data).user.is_none() {
            return Ok(());
        }
        let mut done = self.0.authorized_dcs.lock().await;
        if done.contains(&dc) {
            return Ok(());
        }
        let home = self.home_dc();
        let export = functions::auth::ExportAuthorization { dc_id: dc }.to_bytes();
        let answer = self
            .0
            .call(home, export, "auth.exportAuthorization")
            .await?;
        let enums::auth::ExportedAuthorization::ExportedAuthorization(exported) =
            enums::auth::ExportedAuthorization::from_bytes(answer).map_err(|error| {
                InvocationError::Decode {
                    request: "auth.exportAuthorization",
                    error,
                }
            })?;
        let import = functions::auth::ImportAuthorization {
            id: exported.id,
            bytes: exported.bytes,
        }
        .to_bytes();
        self.0.call(dc, import, "auth.importAuthorization").await?;
        done.insert(dc);
        Ok(())
    }

    /// Fetches the update state from the server (after sign-in) and starts from it.
    pub(crate) async fn fetch_state(&self) {
        match self.invoke(&functions::updates::GetState {}).await {
            Ok(enums::updates::State::State(s)) => {
                let state = UpdateState {
                    pts: s.pts,
                    qts: s.qts,
                    date: s.date,
                    seq: s.seq,
                    channels: HashMap::new(),
                };
                self.0.update_sink.push(Input::SetState(state));
            }
            Err(e) => warn!("updates.getState failed: {e}"),
        }
    }

    /// The next update, waiting for one. Updates come in order, each once, with gaps filled
    /// from the server. `None` once the client is gone.
    pub async fn next_update(&self) -> Option<enums::Update> {
        self.0.updates_out.lock().await.recv().await
    }

    /// Like [`next_update`](Self::next_update) but gives up after `wait`.
    pub async fn next_update_timeout(&self, wait: Duration) -> Option<enums::Update> {
        tokio::time::timeout(wait, self.next_update())
            .await
            .ok()
            .flatten()
    }

    /// Saves the session now (keys, user, update state, peers).
    pub fn save_session(&self) -> Result<(), crate::SessionError> {
        let data = lock(&self.0.data);
        self.0.config.session.save(&data)
    }

    /// Saves the session and closes every connection. Other clones stop working.
    pub async fn disconnect(self) -> Result<(), crate::SessionError> {
        self.save_session()?;
        lock(&self.0.dcs).clear();
        Ok(())
    }

    /// The signed-in user's id, if any.
    pub fn user_id(&self) -> Option<i64> {
        lock(&self.0.data).user.map(|(id, _)| id)
    }

    /// Remembers the access hashes, usernames and display names of these users and chats
    /// (the client does this for everything that comes with updates, history, dialogs and
    /// resolved usernames).
    pub fn cache_peers(&self, users: &[enums::User], chats: &[enums::Chat]) {
        {
            let mut names = lock(&self.0.names);
            for user in users {
                if let enums::User::User(u) = user {
                    let name = [u.first_name.as_deref(), u.last_name.as_deref()]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ");
                    if !name.is_empty() {
                        names.insert((PeerKind::User, u.id), name);
                    }
                }
            }
            for chat in chats {
                match chat {
                    enums::Chat::Channel(c) => {
                        names.insert((PeerKind::Channel, c.id), c.title.clone());
                    }
                    enums::Chat::Chat(c) => {
                        names.insert((PeerKind::Chat, c.id), c.title.clone());
                    }
                    _ => {}
                }
            }
        }
        let mut data = lock(&self.0.data);
        for user in users {
            if let enums::User::User(u) = user {
                if let Some(hash) = u.access_hash {
                    if !u.min || !data.peers.contains_key(&(PeerKind::User, u.id)) {
                        data.peers.insert((PeerKind::User, u.id), hash);
                    }
                }
                if let Some(name) = &u.username {
                    data.usernames
                        .insert(name.to_lowercase(), (PeerKind::User, u.id));
                }
            }
        }
        for chat in chats {
            match chat {
                enums::Chat::Channel(c) => {
                    if let Some(hash) = c.access_hash {
                        if !c.min || !data.peers.contains_key(&(PeerKind::Channel, c.id)) {
                            data.peers.insert((PeerKind::Channel, c.id), hash);
                        }
                    }
                    if let Some(name) = &c.username {
                        data.usernames
                            .insert(name.to_lowercase(), (PeerKind::Channel, c.id));
                    }
                }
                enums::Chat::Chat(c) => {
                    data.peers.insert((PeerKind::Chat, c.id), 0);
                }
                _ => {}
            }
        }
    }

    /// The display name of a user ("first last") or chat (its title) seen before.
    pub fn peer_name(&self, kind: PeerKind, id: i64) -> Option<String> {
        lock(&self.0.names).get(&(kind, id)).cloned()
    }

    /// The access hash of a peer seen before.
    pub fn access_hash(&self, kind: PeerKind, id: i64) -> Option<i64> {
        lock(&self.0.data).peers.get(&(kind, id)).copied()
    }

    pub(crate) fn set_user(&self, id: i64, bot: bool) {
        let mut data = lock(&self.0.data);
        data.user = Some((id, bot));
        let _ = self.0.config.session.save(&data);
    }

    pub(crate) fn clear_user(&self) {
        let mut data = lock(&self.0.data);
        data.user = None;
        data.state = None;
        let _ = self.0.config.session.save(&data);
    }
}

impl Inner {
    /// The address of DC `dc`: configured first, then from the server's list.
    fn addr_of(&self, dc: i32) -> Option<String> {
        if let Some(entry) = lock(&self.data).dcs.iter().find(|e| e.id == dc) {
            return Some(entry.addr.clone());
        }
        if let Some((_, addr)) = self.config.dc_addrs.iter().find(|(id, _)| *id == dc) {
            return Some(addr.clone());
        }
        if self.config.use_server_dc_list {
            return lock(&self.server_dcs).get(&dc).cloned();
        }
        None
    }

    /// Starts DC `dc`'s connection task if it is not running; returns its first-attempt
    /// outcome when it was started now.
    fn open_dc(&self, dc: i32) -> Option<oneshot::Receiver<Result<(), InvocationError>>> {
        let mut dcs = lock(&self.dcs);
        if dcs.get(&dc).is_some_and(|tx| !tx.is_closed()) {
            return None;
        }
        let (auth_key, home) = {
            let data = lock(&self.data);
            (
                data.dcs
                    .iter()
                    .find(|e| e.id == dc)
                    .and_then(|e| e.auth_key),
                data.home_dc,
            )
        };
        let Some(addr) = self.addr_of(dc) else {
            // Leave no sender: calls to it fail with a clear error.
            return None;
        };
        {
            let mut data = lock(&self.data);
            if !data.dcs.iter().any(|e| e.id == dc) {
                data.dcs.push(DcEntry {
                    id: dc,
                    addr: addr.clone(),
                    auth_key: None,
                });
            }
        }
        let (ready_tx, ready_rx) = oneshot::channel();
        let tx = connection::spawn(
            ConnectionConfig {
                dc,
                addr,
                transport: self.config.transport,
                rsa_keys: self.config.rsa_keys.clone(),
                auth_key,
                init: self.config.init.clone(),
                session: self.config.session_config.clone(),
                reconnect: self.config.reconnect.clone(),
                updates: (dc == home).then(|| self.update_sink.clone()),
                events: self.events.clone(),
            },
            ready_tx,
        );
        dcs.insert(dc, tx);
        Some(ready_rx)
    }

    /// Sends a serialized request to DC `dc` and waits for its answer.
    async fn call(
        &self,
        dc: i32,
        body: Vec<u8>,
        request: &'static str,
    ) -> Result<Vec<u8>, InvocationError> {
        let sender = {
            let ready = self.open_dc(dc);
            drop(ready);
            lock(&self.dcs).get(&dc).cloned()
        };
        let Some(sender) = sender else {
            return Err(InvocationError::UnknownDc { dc });
        };
        let (reply, answer) = oneshot::channel();
        sender
            .send(Command::Invoke {
                body,
                request,
                reply,
            })
            .await
            .map_err(|_| InvocationError::Dropped)?;
        answer.await.map_err(|_| InvocationError::Dropped)?
    }
}

/// Saves keys as they are made, learns DC addresses, and asks for catch-up after reconnects.
async fn handle_events(inner: Weak<Inner>, mut events: mpsc::UnboundedReceiver<ConnectionEvent>) {
    while let Some(event) = events.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        match event {
            ConnectionEvent::KeyCreated { dc, key } => {
                let mut data = lock(&inner.data);
                match data.dcs.iter_mut().find(|e| e.id == dc) {
                    Some(entry) => entry.auth_key = Some(*key),
                    None => data.dcs.push(DcEntry {
                        id: dc,
                        addr: inner.addr_of(dc).unwrap_or_default(),
                        auth_key: Some(*key),
                    }),
                }
                if let Err(e) = inner.config.session.save(&data) {
                    warn!("cannot save the session: {e}");
                }
            }
            ConnectionEvent::KeyRejected { dc } => {
                let mut data = lock(&inner.data);
                if let Some(entry) = data.dcs.iter_mut().find(|e| e.id == dc) {
                    entry.auth_key = None;
                }
                if dc == data.home_dc {
                    data.user = None;
                    data.state = None;
                }
                let _ = inner.config.session.save(&data);
            }
            ConnectionEvent::MayHaveMissedUpdates { dc } => {
                if dc == lock(&inner.data).home_dc {
                    inner.update_sink.push(Input::CatchUp);
                }
            }
            ConnectionEvent::Config { dc, body } => {
                if let Ok(enums::Config::Config(config)) = enums::Config::from_bytes(body) {
                    let mut known = lock(&inner.server_dcs);
                    for option in config.dc_options {
                        let enums::DcOption::DcOption(o) = option;
                        if o.ipv6 || o.media_only || o.cdn || o.tcpo_only {
                            continue;
                        }
                        known
                            .entry(o.id)
                            .or_insert_with(|| format!("{}:{}", o.ip_address, o.port));
                    }
                    debug!(dc, "server knows {} DCs", known.len());
                }
            }
        }
    }
}

/// The update task: feeds [`MessageBoxes`], fetches differences, hands updates out.
async fn run_updates(
    inner: Weak<Inner>,
    mut input: mpsc::Receiver<Input>,
    overflowed: Arc<AtomicBool>,
    out: mpsc::Sender<enums::Update>,
    mut boxes: MessageBoxes,
) {
    let mut last_activity = Instant::now();
    let mut last_saved = Instant::now();
    loop {
        let idle_at = last_activity + IDLE_DIFFERENCE;
        let wake = boxes.next_deadline().map_or(idle_at, |d| d.min(idle_at));
        let mut batch = Batch::default();
        let mut differences: Vec<BoxId> = Vec::new();
        tokio::select! {
            next = input.recv() => {
                let Some(next) = next else { return };
                let Some(client) = inner.upgrade().map(Client) else { return };
                let self_id = client.user_id().unwrap_or(0);
                last_activity = Instant::now();
                match next {
                    Input::Pushed(body) => match enums::Updates::from_bytes(body) {
                        Ok(updates) => batch = boxes.process(updates, self_id, Instant::now()),
                        Err(e) => warn!("an update does not decode: {e}"),
                    },
                    Input::Affected { pts, pts_count } => {
                        batch = boxes.affected(pts, pts_count, Instant::now());
                    }
                    Input::CatchUp => {
                        if boxes.has_state {
                            differences.push(BoxId::Common);
                        }
                    }
                    Input::SetState(state) => boxes = MessageBoxes::new(Some(state)),
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                differences = boxes.expired(Instant::now());
                if Instant::now() >= idle_at && boxes.has_state {
                    differences.push(BoxId::Common);
                    last_activity = Instant::now();
                }
            }
        }
        if overflowed.swap(false, Ordering::AcqRel) && boxes.has_state {
            info!("the update queue overflowed: fetching the difference");
            differences.push(BoxId::Common);
        }
        if batch.get_difference {
            differences.push(BoxId::Common);
        }
        differences.extend(batch.channel_differences.drain(..).map(BoxId::Channel));
        // The client is held only while it is used, never while waiting for the
        // application to read: an application that drops every `Client` without reading
        // lets the client (and with it the queue's receiver) go, which ends this task.
        if !deliver(&inner, &out, batch).await {
            return;
        }
        differences.dedup();
        for b in differences {
            let Some(client) = inner.upgrade().map(Client) else {
                return;
            };
            let batch = match b {
                BoxId::Common | BoxId::Secondary => get_difference(&client, &mut boxes).await,
                BoxId::Channel(id) => get_channel_difference(&client, &mut boxes, id).await,
            };
            drop(client);
            if !deliver(&inner, &out, batch).await {
                return;
            }
        }
        if boxes.has_state {
            let Some(client) = inner.upgrade().map(Client) else {
                return;
            };
            let mut data = lock(&client.0.data);
            if data.state.as_ref() != Some(&boxes.state) {
                data.state = Some(boxes.state.clone());
                if last_saved.elapsed() >= Duration::from_secs(1) {
                    last_saved = Instant::now();
                    if let Err(e) = client.0.config.session.save(&data) {
                        warn!("cannot save the session: {e}");
                    }
                }
            }
        }
    }
}

/// Hands a batch to the application (waiting while its queue is full); `false` when nobody
/// listens any more (the client is gone).
async fn deliver(inner: &Weak<Inner>, out: &mpsc::Sender<enums::Update>, batch: Batch) -> bool {
    match inner.upgrade() {
        Some(inner) => Client(inner).cache_peers(&batch.users, &batch.chats),
        None => return false,
    }
    for update in batch.updates {
        if out.send(update).await.is_err() {
            return false;
        }
    }
    true
}

async fn get_difference(client: &Client, boxes: &mut MessageBoxes) -> Batch {
    let mut batch = Batch::default();
    for _ in 0..1000 {
        let request = functions::updates::GetDifference {
            pts: boxes.state.pts,
            pts_limit: None,
            pts_total_limit: None,
            date: boxes.state.date,
            qts: boxes.state.qts,
            qts_limit: None,
        };
        match client.invoke(&request).await {
            Ok(difference) => {
                if boxes.apply_difference(difference, Instant::now(), &mut batch) {
                    break;
                }
            }
            Err(e) => {
                warn!("updates.getDifference failed: {e}");
                break;
            }
        }
    }
    let channels = std::mem::take(&mut batch.channel_differences);
    for id in channels {
        let more = get_channel_difference(client, boxes, id).await;
        batch.updates.extend(more.updates);
        batch.users.extend(more.users);
        batch.chats.extend(more.chats);
    }
    batch
}

async fn get_channel_difference(client: &Client, boxes: &mut MessageBoxes, id: i64) -> Batch {
    let mut batch = Batch::default();
    let Some(access_hash) = client.access_hash(PeerKind::Channel, id) else {
        warn!("channel {id}: no access hash, cannot fetch its difference");
        return batch;
    };
    for _ in 0..1000 {
        let Some(pts) = boxes.state.channels.get(&id).copied() else {
            break;
        };
        let request = functions::updates::GetChannelDifference {
            force: false,
            channel: enums::InputChannel::InputChannel(types::InputChannel {
                channel_id: id,
                access_hash,
            }),
            filter: enums::ChannelMessagesFilter::Empty,
            pts,
            limit: 100,
        };
        match client.invoke(&request).await {
            Ok(difference) => {
                // Users and chats first, so the messages' peers resolve.
                if boxes.apply_channel_difference(id, difference, Instant::now(), &mut batch) {
                    break;
                }
            }
            Err(e) => {
                warn!("updates.getChannelDifference({id}) failed: {e}");
                if e.is("CHANNEL_PRIVATE") || e.is("CHANNEL_INVALID") {
                    boxes.forget_channel(id);
                }
                break;
            }
        }
    }
    batch
}

/// A username seen before, as a peer.
pub(crate) fn cached_username(client: &Client, name: &str) -> Option<crate::PeerRef> {
    let (kind, id) = *lock(&client.0.data).usernames.get(name)?;
    client.peer(kind, id)
}
