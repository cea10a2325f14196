//! Entry point of the RPC-dispatch fuzz target in `fuzz/` (feature `fuzzing`; not part of
//! the API): the whole server in process, with an in-memory SQLite store and in-memory file
//! storage, on a current-thread tokio runtime.

use crate::media::MemoryStorage;
use crate::rpc::{Caller, body_id};
use crate::state::{Node, NodeBuilder, Options};
use crate::store::{SqliteStore, Store};
use arbitrary::Unstructured;
use mtproto::crypto::AuthKey;
use mtproto_api::{enums, functions, types};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use tl_runtime::Serialize;
use tl_runtime::fuzzing::Table;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
    })
}

/// The layer-229 functions the server implements, with a way to draw arbitrary calls.
fn methods() -> &'static (Table, Vec<u32>) {
    static METHODS: OnceLock<(Table, Vec<u32>)> = OnceLock::new();
    METHODS.get_or_init(|| {
        let table = Table::new(mtproto_api::visit_all);
        let implemented: BTreeSet<u32> = crate::services::builtin()
            .iter()
            .flat_map(|s| s.methods())
            .collect();
        let ids = table.ids().filter(|id| implemented.contains(id)).collect();
        (table, ids)
    })
}

/// What every marked message starts with: random per process, so no input can forge it.
fn secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| format!("private-{:016x}:", crate::state::random_i64()))
}

const USERS: usize = 3;

struct Harness {
    server: Arc<Node>,
    callers: [Caller; USERS],
    users: [(i64, i64); USERS],
    /// Marked messages sent so far, by number: who may read each (the two users of a private
    /// chat; the members of a basic group when it was sent, as the store tells).
    sent: Vec<BTreeSet<usize>>,
    /// Marks every user may see, beyond their own conversations (what was forwarded).
    shared: BTreeSet<usize>,
}

/// The server's RPC dispatch fed calls from three signed-in users: marked private messages
/// (to themselves, to another user, or to a basic group), basic groups created among them,
/// history and difference requests, forwards between their chats (a forwarded message may then
/// be read by whoever it went to), reactions to low message ids, and arbitrary values of every
/// method the server implements. Checks that no call panics, that no call answers
/// `500 INTERNAL`, that no answer to a user carries a private message of a conversation that
/// user is not in (for a group: was not a member of when it was sent), and that nobody reacts
/// to a message of a chat they cannot read (a reaction accepted names a message of the
/// caller's own chat with that peer).
pub fn dispatch(data: &[u8]) {
    let mut u = Unstructured::new(data);
    runtime().block_on(async {
        let Some(mut h) = setup().await else {
            panic!("the fuzzed server could not be set up");
        };
        let _ = run(&mut h, &mut u).await;
    });
}

async fn setup() -> Option<Harness> {
    let store = Arc::new(SqliteStore::in_memory().ok()?);
    let mut users = [(0, 0); USERS];
    for (i, user) in users.iter_mut().enumerate() {
        let access_hash = 0x1000 + i as i64;
        let created = store
            .create_user(
                &format!("99966{i:05}"),
                &format!("User{i}"),
                "",
                access_hash,
            )
            .ok()?;
        *user = (created.id, created.access_hash);
    }
    let mut options = Options::new("127.0.0.1:443".parse().ok()?);
    options.login_code = Some("12345".into());
    options.salt_secret = [7; 32];
    let server = crate::reference(NodeBuilder::new(
        options,
        store,
        Arc::new(MemoryStorage::default()),
        mtproto::fuzzing::test_private_key().clone(),
    ))
    .build()
    .ok()?;
    let mut callers = [Caller {
        key_id: 0,
        session_id: 0,
        user_id: None,
        layer: 229,
    }; USERS];
    for (i, caller) in callers.iter_mut().enumerate() {
        let key = AuthKey::new([i as u8 + 1; 256]);
        let key_id = i64::from_le_bytes(key.id());
        server.add_key(key, 0).await.ok()?;
        server.bind_user(key_id, Some(users[i].0)).await.ok()?;
        *caller = Caller {
            key_id,
            session_id: 100 + i as i64,
            user_id: Some(users[i].0),
            layer: 229,
        };
    }
    Some(Harness {
        server,
        callers,
        users,
        sent: Vec::new(),
        shared: BTreeSet::new(),
    })
}

/// Whom a peer names.
enum Target {
    /// One of the users, by number.
    User(usize),
    /// A basic group (maybe none of that id).
    Chat(i64),
    /// Anything else.
    Other,
}

/// The first basic group id the SQLite store hands out.
const FIRST_CHAT_ID: i64 = 1_000;

impl Harness {
    /// A peer as `who` names it: itself, another user (with the right access hash or not), a
    /// basic group, or anything.
    fn peer(
        &self,
        u: &mut Unstructured<'_>,
        who: usize,
    ) -> arbitrary::Result<(enums::InputPeer, Target)> {
        Ok(match u.int_in_range(0..=8)? {
            0 | 1 => (types::InputPeerSelf {}.into(), Target::User(who)),
            7 => (u.arbitrary()?, Target::Other),
            8 => {
                let chat_id = FIRST_CHAT_ID + i64::from(u.int_in_range(0..=3u8)?);
                (
                    types::InputPeerChat { chat_id }.into(),
                    Target::Chat(chat_id),
                )
            }
            6 => {
                let to = u.choose_index(USERS)?;
                let peer = types::InputPeerUser {
                    user_id: self.users[to].0,
                    access_hash: u.arbitrary()?,
                };
                (peer.into(), Target::User(to))
            }
            _ => {
                let to = u.choose_index(USERS)?;
                let peer = types::InputPeerUser {
                    user_id: self.users[to].0,
                    access_hash: self.users[to].1,
                };
                (peer.into(), Target::User(to))
            }
        })
    }

    /// Who may read a marked message `who` sends to `target` now.
    async fn readers(&self, who: usize, target: &Target) -> BTreeSet<usize> {
        let mut readers = BTreeSet::from([who]);
        match target {
            Target::User(to) => {
                readers.insert(*to);
            }
            Target::Chat(chat) => {
                let chat = *chat;
                let members = self
                    .server
                    .store
                    .run(move |s| s.chat_members(chat))
                    .await
                    .unwrap_or_default();
                for m in members {
                    readers.extend(self.users.iter().position(|u| u.0 == m.user_id));
                }
            }
            Target::Other => {}
        }
        readers
    }

    /// Checks an answer to `who`: every marked message in it is one of `who`'s conversations
    /// or was forwarded.
    fn check_answer(&mut self, who: usize, method: u32, answer: &[u8]) -> Vec<usize> {
        let secret = secret().as_bytes();
        let mut seen = Vec::new();
        let mut at = 0;
        while let Some(pos) = find(&answer[at..], secret) {
            let start = at + pos + secret.len();
            let digits: Vec<u8> = answer[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            let number: usize = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(usize::MAX);
            let Some(readers) = self.sent.get(number) else {
                panic!("an unknown marked message {number} in an answer to user {who}");
            };
            assert!(
                readers.contains(&who) || self.shared.contains(&number),
                "user {who} read the private message {number} meant for users {readers:?} \
                 (method {method:#010x} {:?})",
                mtproto_api::name_for_id(method)
            );
            seen.push(number);
            at = start;
        }
        seen
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn run(h: &mut Harness, u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let (table, implemented) = methods();
    // What each user has read, for what forwarding may share.
    let mut known: [BTreeSet<usize>; USERS] = Default::default();
    for _ in 0..u.int_in_range(1..=16)? {
        let who = u.choose_index(USERS)?;
        // A reaction asked for: the chat (the other user, by number) and the message id.
        let mut reaction = None;
        let body = match u.int_in_range(0..=12)? {
            0..=2 => {
                let (peer, target) = h.peer(u, who)?;
                let number = h.sent.len();
                let readers = h.readers(who, &target).await;
                h.sent.push(readers);
                let mut text = format!("{}{number} ", secret());
                // The fuzzer may learn the mark (it sees the comparisons): only the harness
                // writes it.
                let rest: String = u.arbitrary()?;
                if !rest.contains(secret()) {
                    text.push_str(&rest);
                }
                functions::messages::SendMessage::new(peer, text, u.arbitrary()?).to_bytes()
            }
            3 | 4 => {
                let (peer, _) = h.peer(u, who)?;
                functions::messages::GetHistory {
                    peer,
                    offset_id: if u.arbitrary()? { 0 } else { u.arbitrary()? },
                    offset_date: 0,
                    add_offset: if u.arbitrary()? {
                        0
                    } else {
                        u.int_in_range(-20..=20)?
                    },
                    limit: u.int_in_range(-1..=100)?,
                    max_id: 0,
                    min_id: 0,
                    hash: 0,
                }
                .to_bytes()
            }
            5 => functions::updates::GetDifference {
                pts: u.int_in_range(-1..=40)?,
                pts_limit: None,
                pts_total_limit: u.arbitrary()?,
                date: u.arbitrary()?,
                qts: 0,
                qts_limit: None,
            }
            .to_bytes(),
            6 => {
                // A forward of low ids (the ones sent so far) from one chat to another.
                let (from_peer, _) = h.peer(u, who)?;
                let (to_peer, _) = h.peer(u, who)?;
                let count = u.int_in_range(1..=4)?;
                let mut id = Vec::with_capacity(count);
                let mut random_id = Vec::with_capacity(count);
                for _ in 0..count {
                    id.push(u.int_in_range(0..=12)?);
                    random_id.push(u.arbitrary()?);
                }
                let mut call =
                    functions::messages::ForwardMessages::new(from_peer, id, random_id, to_peer);
                call.drop_author = u.arbitrary()?;
                call.to_bytes()
            }
            7 => {
                // A basic group of `who` and some of the others (maybe nobody else).
                let mut users = Vec::new();
                for (i, (id, hash)) in h.users.iter().enumerate() {
                    if i != who && u.arbitrary()? {
                        users.push(
                            types::InputUser {
                                user_id: *id,
                                access_hash: *hash,
                            }
                            .into(),
                        );
                    }
                }
                functions::messages::CreateChat {
                    users,
                    title: u.arbitrary()?,
                    ttl_period: None,
                }
                .to_bytes()
            }
            8 => {
                // A reaction (allowed, not allowed, or none) to a low id of some chat.
                let (peer, target) = h.peer(u, who)?;
                let msg_id = u.int_in_range(0..=12)?;
                let emoji = ["👍", "🔥", "🦖", ""][u.choose_index(4)?];
                reaction = match target {
                    Target::User(to) => Some((to, msg_id)),
                    Target::Chat(_) | Target::Other => None,
                };
                functions::messages::SendReaction {
                    big: false,
                    add_to_recent: false,
                    peer,
                    msg_id,
                    reaction: (!emoji.is_empty()).then(|| {
                        vec![
                            types::ReactionEmoji {
                                emoticon: emoji.into(),
                            }
                            .into(),
                        ]
                    }),
                }
                .to_bytes()
            }
            _ => {
                if implemented.is_empty() {
                    return Ok(());
                }
                let id = implemented[u.choose_index(implemented.len())?];
                let Some(body) = table.sample_id(id, u) else {
                    return Ok(());
                };
                // No arbitrary call may carry the mark: only the harness writes it.
                if find(&body, secret().as_bytes()).is_some() {
                    continue;
                }
                body
            }
        };
        let method = body_id(&body);
        let mut caller = h.callers[who];
        // A quarter of the calls come from a layer-198 client (GramJS): through the
        // generated bridge up, and the answer back down.
        if u.ratio(1, 4)? {
            caller.layer = 198;
        }
        match h.server.dispatch(caller, body).await {
            Ok(answer) => {
                if let Some((to, msg_id)) = reaction {
                    let (me, peer) = (h.users[who].0, h.users[to].0);
                    let store = h.server.store.clone();
                    let found = store.run(move |s| s.messages(me, &[msg_id])).await;
                    assert!(
                        found.is_ok_and(|m| m.iter().any(|m| m.peer == peer)),
                        "user {who} reacted to message {msg_id}, not one of their chat with {to}"
                    );
                }
                let seen = h.check_answer(who, method, &answer);
                known[who].extend(seen);
                if mtproto_api::name_for_id(method).is_some_and(|n| n.contains("forward")) {
                    let k = known[who].clone();
                    h.shared.extend(k);
                }
            }
            Err(e) => {
                assert_ne!(
                    e.code,
                    500,
                    "{:?} by user {who} answered {e}",
                    mtproto_api::name_for_id(method)
                );
            }
        }
        // The caller's key may have been dropped (auth.logOut, destroy_auth_key): sign it in
        // again so later calls still come from a user.
        if h.server
            .key(caller.key_id)
            .and_then(|k| k.user_id)
            .is_none()
        {
            let key = AuthKey::new([who as u8 + 1; 256]);
            if !h.server.key_exists(caller.key_id) {
                let _ = h.server.add_key(key, 0).await;
            }
            let _ = h
                .server
                .bind_user(caller.key_id, Some(h.users[who].0))
                .await;
        }
    }
    Ok(())
}
