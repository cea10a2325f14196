//! What every [`Store`] must do, as checks that any implementation runs.
//!
//! Each check takes an **empty** store (no users, keys or codes), drives it through the trait
//! only, and panics naming the value that differed. [`run_all`](crate::conformance::run_all) runs every check of [`CHECKS`](crate::conformance::CHECKS)
//! on a fresh store from a factory and then fails listing the checks that failed; [`reopen`](crate::conformance::reopen)
//! checks durability and is separate, because it needs a factory that opens the *same*
//! database again; [`concurrent_pts`](crate::conformance::concurrent_pts) checks pts
//! under concurrent writers on several store instances over one database (server nodes).
//! `server-kit-sqlite`'s tests run everything against `SqliteStore`, and
//! `server-kit-postgres`'s against `PgStore`, through [`store_conformance_tests!`](crate::store_conformance_tests)
//! (one `#[test]` per check):
//!
//! ```ignore
//! mod conformance {
//!     use server_kit_store::Store;
//!     server_kit_store::store_conformance_tests!(|| -> Box<dyn Store> {
//!         Box::new(PgStore::open_with(URL, PgOptions::default().schema(new_schema())).unwrap())
//!     });
//! }
//! let (node1, node2) = (PgStore::open_with(URL, same)?, PgStore::open_with(URL, same)?);
//! server_kit_store::conformance::concurrent_pts(&[&node1, &node2], 8, 50);
//! ```
//!
//! Where the trait leaves an order open (the key list, contacts, [`Store::messages`], the
//! messages of [`Store::changes_since`], the entries a call commits), the checks sort or look
//! entries up by user. What they fix: user ids count from 100000; message ids count from 1 in
//! each user's box and are never reused; a change takes `pts_count` pts (one, or the number of
//! messages deleted) in its owner's box only, in commit order;
//! `messages.getHistory` follows Telegram's pagination (see [`history_add_offset`](crate::conformance::history_add_offset)).
//! Contacts and privacy: see [`block_unblock`](crate::conformance::block_unblock),
//! [`blocked_paging`](crate::conformance::blocked_paging) and
//! [`search_users`](crate::conformance::search_users).
//! Devices and notification settings: see [`devices`](crate::conformance::devices),
//! [`notify_settings`](crate::conformance::notify_settings) and
//! [`channel_push_recipients`](crate::conformance::channel_push_recipients).

use super::bots::{FIRST_BOT_INFO_VERSION, bot_phone};
use super::channels::Role;
use super::devices::{
    Device, MAX_DEVICES_PER_USER, NotifyScope, NotifySettings, NotifySound, PushRecipient,
};
use super::passwords::{MAX_SRP_CHECKS_PER_USER, Password, PasswordLogin, SrpCheck};
use super::{
    Change, ClientInfo, Committed, Dialog, DialogPosition, Document, Extras, Forward, ForwardFrom,
    HistoryQuery, LoggedChange, LoginCode, MediaRef, Message, Sent, Store, StoreError, User,
};
use std::panic::{AssertUnwindSafe, catch_unwind};

mod bots;
mod channel_pins;
mod chats;
mod drafts;
mod pinned_dialogs;
mod privacy;
mod profile_photos;
mod reactions;
mod scheduled;
mod search;
pub use bots::{bot_commands, callback_queries, rich_messages};
mod secret_chats;
pub use channel_pins::channel_pins;
pub use chats::{
    chat_create_and_send, chat_edit_and_delete, chat_member_changes, chat_pins, chat_read_history,
    chat_replies,
};
pub use drafts::drafts;
pub use pinned_dialogs::pinned_dialogs;
pub use privacy::status_visibility;
pub use profile_photos::profile_photos;
pub use reactions::{
    reactions_channel, reactions_isolation, reactions_private, reactions_single_copy,
};
pub use scheduled::{scheduled_claims, scheduled_keep_and_list};
pub use search::{
    search_channel, search_edits_and_deletes, search_from_and_filters, search_isolation,
    search_odd_text, search_paging, search_words,
};
pub use secret_chats::{qts_queue, secret_chat_lifecycle, secret_device_end};

/// A check: panics if the store, empty when given, behaves otherwise.
pub type Check = fn(&dyn Store);

/// Every check [`run_all`] runs, with its name.
pub const CHECKS: &[(&str, Check)] = &[
    ("auth_keys", auth_keys),
    ("auth_key_by_id", auth_key_by_id),
    ("users_by_ids", users_by_ids),
    ("login_codes", login_codes),
    ("users", users),
    ("usernames", usernames),
    ("update_profile", update_profile),
    ("bots", bots),
    ("contacts", contacts),
    ("last_seen_and_watchers", last_seen_and_watchers),
    ("delete_contacts", delete_contacts),
    ("block_unblock", block_unblock),
    ("blocked_paging", blocked_paging),
    ("search_users", search_users),
    ("search_users_unicode", search_users_unicode),
    ("send_message", send_message),
    ("send_message_idempotent", send_message_idempotent),
    ("send_message_to_self", send_message_to_self),
    ("send_message_unknown_user", send_message_unknown_user),
    ("replies_and_forwards", replies_and_forwards),
    ("pins", pins),
    ("channel_replies_and_forwards", channel_replies_and_forwards),
    ("history_order_and_limit", history_order_and_limit),
    ("history_offset_id", history_offset_id),
    ("history_add_offset", history_add_offset),
    ("history_min_max_id", history_min_max_id),
    ("history_offset_date", history_offset_date),
    ("history_paging_same_second", history_paging_same_second),
    ("dialogs", dialogs),
    ("dialogs_paging_same_second", dialogs_paging_same_second),
    ("read_history", read_history),
    ("edit_message", edit_message),
    ("delete_messages", delete_messages),
    ("delete_messages_revoke", delete_messages_revoke),
    ("changes_since", changes_since),
    ("nul_bytes", nul_bytes),
    ("devices", devices),
    ("notify_settings", notify_settings),
    ("channel_push_recipients", channel_push_recipients),
    ("passwords", passwords),
    ("srp_checks", srp_checks),
    ("password_logins", password_logins),
    ("search_words", search_words),
    ("search_isolation", search_isolation),
    ("search_from_and_filters", search_from_and_filters),
    ("search_paging", search_paging),
    ("search_edits_and_deletes", search_edits_and_deletes),
    ("search_channel", search_channel),
    ("search_odd_text", search_odd_text),
    ("chat_create_and_send", chat_create_and_send),
    ("chat_replies", chat_replies),
    ("chat_member_changes", chat_member_changes),
    ("chat_edit_and_delete", chat_edit_and_delete),
    ("chat_read_history", chat_read_history),
    ("chat_pins", chat_pins),
    ("drafts", drafts),
    ("profile_photos", profile_photos),
    ("status_visibility", status_visibility),
    ("reactions_private", reactions_private),
    ("reactions_single_copy", reactions_single_copy),
    ("reactions_channel", reactions_channel),
    ("reactions_isolation", reactions_isolation),
    ("scheduled_keep_and_list", scheduled_keep_and_list),
    ("scheduled_claims", scheduled_claims),
    ("pinned_dialogs", pinned_dialogs),
    ("channel_pins", channel_pins),
    ("secret_chat_lifecycle", secret_chat_lifecycle),
    ("qts_queue", qts_queue),
    ("secret_device_end", secret_device_end),
    ("rich_messages", rich_messages),
    ("callback_queries", callback_queries),
    ("bot_commands", bot_commands),
];

/// Runs every check of [`CHECKS`], each on a new empty store from `make`, and panics listing
/// the ones that failed (each failure's own message is printed as it happens).
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    let mut failed = Vec::new();
    for (name, check) in CHECKS {
        let store = make();
        if catch_unwind(AssertUnwindSafe(|| check(&*store))).is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "store conformance failed: {failed:?}");
}

// ---------------------------------------------------------------------------------------------
// Helpers.

#[track_caller]
fn ok<T>(result: Result<T, StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("store call failed: {e}"),
    }
}

#[track_caller]
fn expect_taken<T: std::fmt::Debug>(result: Result<T, StoreError>, call: &str) {
    match result {
        Err(StoreError::Taken { .. }) => {}
        other => panic!("{call}: expected StoreError::Taken, got {other:?}"),
    }
}

#[track_caller]
fn expect_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, call: &str) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("{call}: expected StoreError::NotFound, got {other:?}"),
    }
}

/// Creates `n` users with phones `1555000000`, `1555000001`, ...
fn new_users<const N: usize>(store: &dyn Store) -> [i64; N] {
    std::array::from_fn(|i| {
        ok(store.create_user(
            &format!("155500{i:04}"),
            &format!("User{i}"),
            "",
            7 + i as i64,
        ))
        .id
    })
}

fn send(store: &dyn Store, from: i64, to: i64, text: &str, random_id: i64, date: i32) -> Sent {
    let sent = ok(store.send_message(from, to, text, random_id, date));
    assert!(
        !sent.duplicate,
        "a new random_id {random_id} reported as duplicate"
    );
    sent
}

/// A message with nothing but its text.
fn no_extras() -> Extras {
    Extras::default()
}

#[track_caller]
fn own(sent: &Sent) -> Message {
    sent.own.message.clone().expect("the sender's copy")
}

#[track_caller]
fn copy(sent: &Sent) -> Message {
    sent.peer
        .as_ref()
        .and_then(|p| p.message.clone())
        .expect("the recipient's copy")
}

fn query(limit: i32) -> HistoryQuery {
    HistoryQuery {
        limit,
        ..HistoryQuery::default()
    }
}

/// The ids `history` returns, and the count it gives.
fn history_ids(store: &dyn Store, owner: i64, peer: i64, q: HistoryQuery) -> (Vec<i32>, i32) {
    let (messages, count) = ok(store.history(owner, peer, q));
    (messages.iter().map(|m| m.id).collect(), count)
}

fn sorted_messages(mut messages: Vec<Message>) -> Vec<Message> {
    messages.sort_by_key(|m| (m.owner, m.id));
    messages
}

/// The one entry committed to `user`'s box.
#[track_caller]
fn entry_for(committed: &[Committed], user: i64) -> Committed {
    let mine: Vec<&Committed> = committed.iter().filter(|c| c.user_id == user).collect();
    assert_eq!(mine.len(), 1, "entries for user {user} in {committed:?}");
    mine[0].clone()
}

fn entry(pts: i32, pts_count: i32, date: i32, change: Change) -> LoggedChange {
    LoggedChange {
        pts,
        pts_count,
        date,
        change,
    }
}

/// A deletion entry with its ids sorted (the order of the ids is left open).
fn sorted_delete(mut c: Committed) -> Committed {
    if let Change::DeleteMessages { ids } = &mut c.entry.change {
        ids.sort_unstable();
    }
    c
}

type KeyRow = (i64, Vec<u8>, Option<i64>, i32, i64, ClientInfo);

fn key_rows(store: &dyn Store) -> Vec<KeyRow> {
    let mut rows: Vec<KeyRow> = ok(store.auth_keys())
        .into_iter()
        .map(|k| (k.id, k.key, k.user_id, k.layer, k.created, k.client))
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

fn sorted_contacts(store: &dyn Store, owner: i64) -> Vec<i64> {
    let mut list = ok(store.contacts(owner));
    list.sort_unstable();
    list
}

// ---------------------------------------------------------------------------------------------
// Keys, codes, users, contacts.

/// Auth keys: insert, list, sign in and out, layer and client info, delete; a duplicate id is
/// [`StoreError::Taken`] and leaves the stored key as it was.
pub fn auth_keys(store: &dyn Store) {
    assert_eq!(key_rows(store), vec![], "a new store has no keys");
    let (k1, k2) = (vec![1u8; 256], vec![2u8; 256]);
    ok(store.insert_auth_key(-5, &k1, 1_700_000_000));
    ok(store.insert_auth_key(7, &k2, 1_700_000_001));
    let fresh1 = (
        -5,
        k1.clone(),
        None,
        0,
        1_700_000_000,
        ClientInfo::default(),
    );
    let fresh2 = (7, k2.clone(), None, 0, 1_700_000_001, ClientInfo::default());
    assert_eq!(key_rows(store), vec![fresh1.clone(), fresh2.clone()]);

    let [user] = new_users(store);
    ok(store.set_key_user(7, Some(user)));
    let client = ClientInfo {
        api_id: 6,
        device_model: "PC 64bit".into(),
        system_version: "Linux".into(),
        app_version: "1.2.3".into(),
    };
    ok(store.set_key_client(7, 229, &client));
    let signed_in = (
        7,
        k2.clone(),
        Some(user),
        229,
        1_700_000_001,
        client.clone(),
    );
    assert_eq!(key_rows(store), vec![fresh1.clone(), signed_in.clone()]);

    expect_taken(
        store.insert_auth_key(7, &k1, 5),
        "insert_auth_key of an existing id",
    );
    assert_eq!(key_rows(store), vec![fresh1.clone(), signed_in]);

    ok(store.set_key_user(7, None));
    let signed_out = (7, k2, None, 229, 1_700_000_001, client);
    assert_eq!(key_rows(store), vec![fresh1, signed_out.clone()]);

    ok(store.delete_auth_key(-5));
    assert_eq!(key_rows(store), vec![signed_out]);
    ok(store.delete_auth_key(7));
    assert_eq!(key_rows(store), vec![]);
}

/// `users` finds every existing id in one call, in id order, and leaves out the others.
pub fn users_by_ids(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let mut want = vec![a, b, c];
    want.sort_unstable();
    assert_eq!(ids(ok(store.users(&[c, 424_242, a, b]))), want);
    assert_eq!(ids(ok(store.users(&[b]))), vec![b]);
    assert!(ok(store.users(&[])).is_empty());
    let found = ok(store.users(&[a]));
    assert_eq!(found, ok(store.user(a)).into_iter().collect::<Vec<_>>());
}

/// One key by id ([`Store::auth_key`]): `None` for an id never stored or deleted, otherwise
/// exactly the row [`Store::auth_keys`] lists (sign-in, layer and client included), and only
/// that key.
pub fn auth_key_by_id(store: &dyn Store) {
    let row = |id: i64| {
        ok(store.auth_key(id)).map(|k| (k.id, k.key, k.user_id, k.layer, k.created, k.client))
    };
    assert_eq!(row(1), None, "a new store has no keys");
    let (k1, k2) = (vec![3u8; 256], vec![4u8; 256]);
    ok(store.insert_auth_key(i64::MIN, &k1, 1_700_000_000));
    ok(store.insert_auth_key(99, &k2, 1_700_000_002));
    assert_eq!(
        row(i64::MIN),
        Some((
            i64::MIN,
            k1.clone(),
            None,
            0,
            1_700_000_000,
            ClientInfo::default()
        ))
    );
    assert_eq!(row(98), None, "an id never stored");

    let [user] = new_users(store);
    ok(store.set_key_user(99, Some(user)));
    let client = ClientInfo {
        api_id: 17,
        device_model: "Phone".into(),
        system_version: "Android 14".into(),
        app_version: "10.1".into(),
    };
    ok(store.set_key_client(99, 198, &client));
    let signed_in = (
        99,
        k2.clone(),
        Some(user),
        198,
        1_700_000_002,
        client.clone(),
    );
    assert_eq!(row(99), Some(signed_in.clone()));
    assert_eq!(
        key_rows(store),
        vec![
            (i64::MIN, k1, None, 0, 1_700_000_000, ClientInfo::default()),
            signed_in
        ],
        "the same rows as the list"
    );

    ok(store.set_key_user(99, None));
    assert_eq!(
        row(99),
        Some((99, k2, None, 198, 1_700_000_002, client)),
        "signed out"
    );
    ok(store.delete_auth_key(i64::MIN));
    assert_eq!(row(i64::MIN), None, "deleted");
    assert!(row(99).is_some(), "the other key stays");
}

/// Login codes: put, get, replace (attempts start again), count wrong attempts, mark verified,
/// delete; phones are independent.
pub fn login_codes(store: &dyn Store) {
    let code = |phone: &str, hash: &str, code: &str, expires_at: i64| LoginCode {
        phone: phone.into(),
        hash: hash.into(),
        code: code.into(),
        expires_at,
        attempts: 0,
        verified: false,
    };
    assert_eq!(ok(store.login_code("15550001")), None);
    let first = code("15550001", "hash-1", "12345", 1_000);
    let other = code("15550002", "hash-2", "22222", 2_000);
    ok(store.put_login_code(&first));
    ok(store.put_login_code(&other));
    assert_eq!(ok(store.login_code("15550001")), Some(first.clone()));

    ok(store.bump_login_attempts("15550001"));
    ok(store.bump_login_attempts("15550001"));
    let bumped = LoginCode {
        attempts: 2,
        ..first
    };
    assert_eq!(ok(store.login_code("15550001")), Some(bumped));
    assert_eq!(ok(store.login_code("15550002")), Some(other.clone()));

    let second = code("15550001", "hash-3", "54321", 3_000);
    ok(store.put_login_code(&second));
    assert_eq!(
        ok(store.login_code("15550001")),
        Some(second.clone()),
        "replaced"
    );
    let verified = LoginCode {
        verified: true,
        ..second.clone()
    };
    ok(store.put_login_code(&verified));
    assert_eq!(ok(store.login_code("15550001")), Some(verified.clone()));
    ok(store.put_login_code(&second));
    assert_eq!(
        ok(store.login_code("15550001")),
        Some(second),
        "a new code is not verified"
    );

    ok(store.bump_login_attempts("15550009"));
    assert_eq!(
        ok(store.login_code("15550009")),
        None,
        "bumping creates nothing"
    );

    ok(store.delete_login_code("15550001"));
    assert_eq!(ok(store.login_code("15550001")), None);
    assert_eq!(ok(store.login_code("15550002")), Some(other));
}

/// Users: ids from 100000 upwards, lookups by id and phone, a taken phone is
/// [`StoreError::Taken`] and changes nothing.
pub fn users(store: &dyn Store) {
    let a = ok(store.create_user("15550001", "Ann", "Lee", 111));
    assert_eq!(
        a,
        User {
            id: 100_000,
            access_hash: 111,
            phone: "15550001".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            username: None,
            about: String::new(),
            bot_info_version: None,
            last_seen: 0,
            photo: None,
            status_visibility: crate::Visibility::Everybody,
        }
    );
    let b = ok(store.create_user("15550002", "Bob", "", 222));
    assert_eq!(b.id, 100_001);
    assert_eq!(ok(store.user(a.id)), Some(a.clone()));
    assert_eq!(ok(store.user(b.id)), Some(b.clone()));
    assert_eq!(ok(store.user(99_999)), None);
    assert_eq!(ok(store.user(100_002)), None);
    assert_eq!(ok(store.user_by_phone("15550002")), Some(b.clone()));
    assert_eq!(ok(store.user_by_phone("15550003")), None);

    expect_taken(
        store.create_user("15550001", "Eve", "", 333),
        "create_user with a taken phone",
    );
    assert_eq!(ok(store.user_by_phone("15550001")), Some(a));

    let c = ok(store.create_user("15550003", "Cid", "", 444));
    assert!(c.id > b.id, "ids increase: {} after {}", c.id, b.id);
}

/// Usernames: case-insensitive lookup and uniqueness, renaming oneself, clearing frees it.
pub fn usernames(store: &dyn Store) {
    let [a, b] = new_users(store);
    let before = ok(store.user(a)).expect("user a");
    let named = ok(store.set_username(a, Some("Alice")));
    assert_eq!(
        named,
        User {
            username: Some("Alice".into()),
            ..before
        }
    );
    for spelling in ["Alice", "alice", "ALICE"] {
        assert_eq!(ok(store.user_by_username(spelling)), Some(named.clone()));
    }
    assert_eq!(ok(store.user_by_username("bob")), None);

    expect_taken(
        store.set_username(b, Some("aLiCe")),
        "set_username to a taken one",
    );
    assert_eq!(ok(store.user(b)).and_then(|u| u.username), None);

    let renamed = ok(store.set_username(a, Some("alice")));
    assert_eq!(
        renamed.username.as_deref(),
        Some("alice"),
        "a new case of one's own name"
    );

    let cleared = ok(store.set_username(a, None));
    assert_eq!(cleared.username, None);
    assert_eq!(ok(store.user_by_username("alice")), None);
    let taken_over = ok(store.set_username(b, Some("ALICE")));
    assert_eq!(ok(store.user_by_username("alice")), Some(taken_over));

    expect_not_found(
        store.set_username(1, Some("ghost")),
        "set_username of no user",
    );
}

/// Bots: a bot is a user with `bot_info_version` [`FIRST_BOT_INFO_VERSION`], its username
/// (found in any case), its name, no last name, the placeholder phone; its token hash reads
/// back byte-exact; a person has neither. A username a person or a bot holds (in any case) is
/// [`StoreError::Taken`] and changes nothing. Bots and people share one id sequence, and a
/// bot that renames itself stays a bot.
pub fn bots(store: &dyn Store) {
    let [person] = new_users(store);
    assert_eq!(
        ok(store.user(person)).expect("person").bot_info_version,
        None
    );
    assert_eq!(ok(store.bot_secret_hash(person)), None);
    assert_eq!(ok(store.bot_secret_hash(1)), None);
    let mut hash = [7u8; 32];
    hash[0] = 0;
    hash[31] = 255;
    let bot = ok(store.create_bot("EchoBot", "Echo é", 42, &hash));
    assert!(bot.id > person, "ids increase: {} after {person}", bot.id);
    assert_eq!(
        bot,
        User {
            id: bot.id,
            access_hash: 42,
            phone: bot_phone(bot.id),
            first_name: "Echo é".into(),
            last_name: String::new(),
            username: Some("EchoBot".into()),
            about: String::new(),
            bot_info_version: Some(FIRST_BOT_INFO_VERSION),
            last_seen: 0,
            photo: None,
            status_visibility: crate::Visibility::Everybody,
        }
    );
    assert_eq!(ok(store.user(bot.id)), Some(bot.clone()));
    assert_eq!(ok(store.user_by_username("echobot")), Some(bot.clone()));
    assert_eq!(ok(store.bot_secret_hash(bot.id)), Some(hash));

    expect_taken(
        store.create_bot("ECHOBOT", "Other", 1, &[1; 32]),
        "create_bot with a bot's username",
    );
    ok(store.set_username(person, Some("PersonBot")));
    expect_taken(
        store.create_bot("personbot", "Other", 1, &[1; 32]),
        "create_bot with a person's username",
    );
    assert_eq!(ok(store.user_by_username("echobot")), Some(bot.clone()));
    assert_eq!(ok(store.bot_secret_hash(bot.id)), Some(hash));

    let second = ok(store.create_bot("OtherBot", "Other", 43, &[9; 32]));
    assert!(
        second.id > bot.id,
        "ids increase: {} after {}",
        second.id,
        bot.id
    );
    assert_eq!(ok(store.bot_secret_hash(second.id)), Some([9; 32]));
    assert_eq!(ok(store.bot_secret_hash(bot.id)), Some(hash));
    let later = ok(store.create_user("15559999", "Pat", "", 1));
    assert!(
        later.id > second.id,
        "ids increase: {} after {}",
        later.id,
        second.id
    );
    assert_eq!(later.bot_info_version, None);

    let renamed = ok(store.set_username(bot.id, Some("EchoTwoBot")));
    assert_eq!(renamed.bot_info_version, Some(FIRST_BOT_INFO_VERSION));
    let renamed = ok(store.update_profile(bot.id, Some("Echo 2"), None, None));
    assert_eq!(renamed.bot_info_version, Some(FIRST_BOT_INFO_VERSION));
}

/// Profiles: `None` keeps a field, `Some("")` empties it, nothing else changes.
pub fn update_profile(store: &dyn Store) {
    let a = ok(store.create_user("15550001", "Ann", "Lee", 5));
    let named = ok(store.set_username(a.id, Some("ann")));
    let u = ok(store.update_profile(a.id, Some("Anna"), None, None));
    assert_eq!(
        u,
        User {
            first_name: "Anna".into(),
            ..named.clone()
        }
    );
    let u = ok(store.update_profile(a.id, None, Some("Smith"), Some("hi there")));
    let expected = User {
        first_name: "Anna".into(),
        last_name: "Smith".into(),
        about: "hi there".into(),
        ..named
    };
    assert_eq!(u, expected);
    assert_eq!(ok(store.update_profile(a.id, None, None, None)), expected);
    let u = ok(store.update_profile(a.id, None, Some(""), None));
    let expected = User {
        last_name: String::new(),
        ..expected
    };
    assert_eq!(u, expected);
    assert_eq!(ok(store.user(a.id)), Some(expected));
    expect_not_found(
        store.update_profile(1, Some("x"), None, None),
        "update_profile of no user",
    );
}

/// Contacts: adding twice renames (no duplicate), lists are per owner, not symmetric.
pub fn contacts(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    assert_eq!(sorted_contacts(store, a), Vec::<i64>::new());
    ok(store.add_contact(a, c, "Cid", ""));
    ok(store.add_contact(a, b, "Bob", ""));
    assert_eq!(sorted_contacts(store, a), vec![b, c]);
    ok(store.add_contact(a, b, "Bobby", "Renamed"));
    assert_eq!(
        sorted_contacts(store, a),
        vec![b, c],
        "renaming adds nothing"
    );
    assert_eq!(
        sorted_contacts(store, b),
        Vec::<i64>::new(),
        "not symmetric"
    );
    ok(store.add_contact(b, a, "Ann", ""));
    assert_eq!(sorted_contacts(store, b), vec![a]);
    assert_eq!(sorted_contacts(store, a), vec![b, c]);
}

/// Last seen: only moves forward, per user. Watchers: who has the user as a contact or a
/// private chat with them, once each, never the user, in id order.
pub fn last_seen_and_watchers(store: &dyn Store) {
    let [a, b, c, d] = new_users(store);
    assert_eq!(
        ok(store.user(a)).map(|u| u.last_seen),
        Some(0),
        "never seen"
    );
    ok(store.set_last_seen(a, 1000));
    ok(store.set_last_seen(a, 900));
    assert_eq!(
        ok(store.user(a)).map(|u| u.last_seen),
        Some(1000),
        "not moved back"
    );
    ok(store.set_last_seen(a, 1100));
    assert_eq!(
        ok(store.users(&[a, b]))
            .iter()
            .map(|u| u.last_seen)
            .collect::<Vec<_>>(),
        [1100, 0]
    );
    assert_eq!(ok(store.status_watchers(a)), Vec::<i64>::new());
    ok(store.add_contact(c, a, "Ann", ""));
    send(store, b, a, "hi", 1, 1000);
    ok(store.add_contact(b, a, "Ann", ""));
    send(store, a, a, "note", 2, 1000);
    ok(store.add_contact(a, d, "Dan", ""));
    assert_eq!(
        ok(store.status_watchers(a)),
        vec![b, c],
        "contacts and chats, once, not self"
    );
    assert_eq!(ok(store.status_watchers(d)), vec![a], "a contact of A");
    assert_eq!(
        ok(store.status_watchers(b)),
        vec![a],
        "the other side of a chat"
    );
}

/// Removing contacts: only the owner's list changes, the ids removed come back ascending and
/// once each, ids that were no contact are ignored, and removing again removes nothing.
pub fn delete_contacts(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    ok(store.add_contact(a, b, "Bob", ""));
    ok(store.add_contact(a, c, "Cid", ""));
    ok(store.add_contact(b, a, "Ann", ""));
    assert_eq!(ok(store.delete_contacts(a, &[])), Vec::<i64>::new());
    assert_eq!(
        ok(store.delete_contacts(a, &[c, 999_999, b, c])),
        vec![b, c],
        "the ids removed, ascending, each once"
    );
    assert_eq!(sorted_contacts(store, a), Vec::<i64>::new());
    assert_eq!(
        sorted_contacts(store, b),
        vec![a],
        "another owner's list stays"
    );
    assert_eq!(
        ok(store.delete_contacts(a, &[b])),
        Vec::<i64>::new(),
        "removing again removes nothing"
    );
    ok(store.add_contact(a, b, "Bob", ""));
    assert_eq!(
        sorted_contacts(store, a),
        vec![b],
        "a removed contact can come back"
    );
}

/// Blocking: one-way, per owner, idempotent both ways (the first date stays), and
/// [`is_blocked`](crate::ContactStore::is_blocked) agrees.
pub fn block_unblock(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    assert!(!ok(store.is_blocked(a, b)));
    assert!(
        ok(store.block(a, b, 1000)),
        "a first block changes something"
    );
    assert!(
        !ok(store.block(a, b, 2000)),
        "blocking again changes nothing"
    );
    assert!(ok(store.is_blocked(a, b)));
    assert!(!ok(store.is_blocked(b, a)), "a block is one-way");
    assert!(!ok(store.is_blocked(c, b)), "a block is per owner");
    assert_eq!(
        ok(store.blocked(a, 0, 10)),
        (vec![(b, 1000)], 1),
        "the first block's date stays"
    );
    assert_eq!(ok(store.blocked(b, 0, 10)), (Vec::new(), 0));
    assert!(!ok(store.unblock(b, a)), "nothing to unblock");
    assert!(ok(store.block(c, b, 1500)));
    assert!(ok(store.unblock(a, b)));
    assert!(!ok(store.unblock(a, b)), "unblocking again changes nothing");
    assert!(!ok(store.is_blocked(a, b)));
    assert!(ok(store.is_blocked(c, b)), "another owner's block stays");
    assert_eq!(ok(store.blocked(a, 0, 10)), (Vec::new(), 0));
    assert!(ok(store.block(a, b, 3000)), "blocking after unblocking");
    assert_eq!(ok(store.blocked(a, 0, 10)), (vec![(b, 3000)], 1));
}

/// The blocklist runs newest first (by date, then by user id, highest first) and pages by
/// offset and limit, with the total on every page.
pub fn blocked_paging(store: &dyn Store) {
    let [owner, u1, u2, u3, u4] = new_users(store);
    ok(store.block(owner, u1, 10));
    ok(store.block(owner, u2, 30));
    ok(store.block(owner, u3, 20));
    ok(store.block(owner, u4, 30));
    let all = vec![(u4, 30), (u2, 30), (u3, 20), (u1, 10)];
    assert_eq!(ok(store.blocked(owner, 0, 100)), (all.clone(), 4));
    assert_eq!(ok(store.blocked(owner, 0, 2)), (all[..2].to_vec(), 4));
    assert_eq!(ok(store.blocked(owner, 1, 2)), (all[1..3].to_vec(), 4));
    assert_eq!(ok(store.blocked(owner, 3, 2)), (all[3..].to_vec(), 4));
    assert_eq!(ok(store.blocked(owner, 4, 2)), (Vec::new(), 4));
    assert_eq!(ok(store.blocked(owner, 0, 0)), (Vec::new(), 4));
    assert_eq!(
        ok(store.blocked(owner, -5, 1)),
        (all[..1].to_vec(), 4),
        "a negative offset counts as 0"
    );
    assert_eq!(
        ok(store.blocked(owner, 0, -1)),
        (Vec::new(), 4),
        "a negative limit counts as 0"
    );
}

fn found_ids(store: &dyn Store, query: &str, limit: usize) -> Vec<i64> {
    ok(store.search_users(query, limit))
        .iter()
        .map(|u| u.id)
        .collect()
}

/// People search: a prefix of the first name, the last name or the username, in any case,
/// finds the user; the middle of a name does not; results run in id order, at most `limit`;
/// `%` and `_` are plain characters; renames and username changes count at once.
pub fn search_users(store: &dyn Store) {
    let anna = ok(store.create_user("15550001", "Anna", "Smith", 1)).id;
    let boris = ok(store.create_user("15550002", "Boris", "Annenkov", 2)).id;
    let carl = ok(store.create_user("15550003", "Carl", "", 3)).id;
    ok(store.set_username(carl, Some("annie_c")));
    let dmitri = ok(store.create_user("15550004", "Dmitri", "Ivanov", 4)).id;
    ok(store.set_username(dmitri, Some("Dima")));
    let full = ok(store.search_users("smith", 10));
    assert_eq!(full.len(), 1);
    assert_eq!(
        full[0],
        ok(store.user(anna)).unwrap(),
        "whole users come back"
    );

    assert_eq!(found_ids(store, "Ann", 10), vec![anna, boris, carl]);
    assert_eq!(
        found_ids(store, "aNN", 10),
        vec![anna, boris, carl],
        "any case"
    );
    assert_eq!(found_ids(store, "Anna", 10), vec![anna], "first name");
    assert_eq!(found_ids(store, "anne", 10), vec![boris], "last name");
    assert_eq!(found_ids(store, "annie", 10), vec![carl], "username");
    assert_eq!(
        found_ids(store, "DIM", 10),
        vec![dmitri],
        "username, any case"
    );
    assert_eq!(
        found_ids(store, "ivanov", 10),
        vec![dmitri],
        "last name, whole"
    );
    assert_eq!(found_ids(store, "Dmitri Ivanov", 10), Vec::<i64>::new());
    assert_eq!(
        found_ids(store, "nna", 10),
        Vec::<i64>::new(),
        "a prefix only"
    );
    assert_eq!(
        found_ids(store, "mith", 10),
        Vec::<i64>::new(),
        "a prefix only"
    );
    assert_eq!(
        found_ids(store, "", 10),
        Vec::<i64>::new(),
        "an empty query"
    );
    assert_eq!(
        found_ids(store, "%", 10),
        Vec::<i64>::new(),
        "`%` is no wildcard"
    );
    assert_eq!(
        found_ids(store, "_", 10),
        Vec::<i64>::new(),
        "`_` is no wildcard"
    );
    assert_eq!(
        found_ids(store, "a_n", 10),
        Vec::<i64>::new(),
        "`_` is no wildcard"
    );
    assert_eq!(
        found_ids(store, "annie_", 10),
        vec![carl],
        "`_` matches itself"
    );
    assert_eq!(found_ids(store, "zzz", 10), Vec::<i64>::new());

    assert_eq!(
        found_ids(store, "ann", 2),
        vec![anna, boris],
        "at most `limit`, by id"
    );
    assert_eq!(found_ids(store, "ann", 0), Vec::<i64>::new());

    ok(store.set_username(dmitri, None));
    assert_eq!(
        found_ids(store, "dim", 10),
        Vec::<i64>::new(),
        "a cleared username"
    );
    assert_eq!(found_ids(store, "dmi", 10), vec![dmitri]);
    ok(store.update_profile(boris, None, Some("Petrov"), None));
    assert_eq!(
        found_ids(store, "ann", 10),
        vec![anna, carl],
        "a renamed user"
    );
    assert_eq!(found_ids(store, "petr", 10), vec![boris]);
}

/// People search beyond ASCII: letters of other alphabets in any case, and names with U+0000,
/// which are matched up to it (see [`search_fold`](crate::contacts::search_fold)).
pub fn search_users_unicode(store: &dyn Store) {
    let jorg = ok(store.create_user("15550001", "Jörg", "Ärger", 1)).id;
    let olga = ok(store.create_user("15550002", "Ольга", "", 2)).id;
    let nul = ok(store.create_user("15550003", "Ze\0ro", "", 3)).id;
    assert_eq!(found_ids(store, "är", 10), vec![jorg]);
    assert_eq!(found_ids(store, "ÄRG", 10), vec![jorg]);
    assert_eq!(found_ids(store, "jÖ", 10), vec![jorg]);
    assert_eq!(found_ids(store, "ОЛЬ", 10), vec![olga]);
    assert_eq!(found_ids(store, "ze", 10), vec![nul]);
    assert_eq!(
        found_ids(store, "ze\0x", 10),
        vec![nul],
        "a query is cut at U+0000 too"
    );
    assert_eq!(found_ids(store, "\0", 10), Vec::<i64>::new());
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// Sending: both copies with ids of their own box, out flags, peers, one pts on each side,
/// and the log returns the entries in pts order with their messages.
pub fn send_message(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let (pa, pb, pc) = (ok(store.pts(a)), ok(store.pts(b)), ok(store.pts(c)));
    let msg = |owner, id, peer, out, from_id, text: &str, date, random_id| Message {
        owner,
        id,
        peer,
        out,
        from_id,
        text: text.into(),
        date,
        edit_date: None,
        random_id,
        media: None,
        reply_to: None,
        forward: None,
        pinned: false,
        action: None,
        entities: None,
        reply_markup: None,
    };
    let committed = |user_id, pts, date, m: Message| Committed {
        user_id,
        entry: entry(pts, 1, date, Change::NewMessage { id: m.id }),
        message: Some(m),
    };

    let s1 = send(store, a, b, "hello", 11, 1000);
    let a1 = msg(a, 1, b, true, a, "hello", 1000, Some(11));
    let b1 = msg(b, 1, a, false, a, "hello", 1000, None);
    assert_eq!(s1.own, committed(a, pa + 1, 1000, a1.clone()));
    assert_eq!(s1.peer, Some(committed(b, pb + 1, 1000, b1.clone())));

    let s2 = send(store, b, a, "hi", 22, 1010);
    let b2 = msg(b, 2, a, true, b, "hi", 1010, Some(22));
    let a2 = msg(a, 2, b, false, b, "hi", 1010, None);
    assert_eq!(s2.own, committed(b, pb + 2, 1010, b2.clone()));
    assert_eq!(s2.peer, Some(committed(a, pa + 2, 1010, a2.clone())));

    let s3 = send(store, a, c, "hey", 33, 1020);
    let a3 = msg(a, 3, c, true, a, "hey", 1020, Some(33));
    let c1 = msg(c, 1, a, false, a, "hey", 1020, None);
    assert_eq!(s3.own, committed(a, pa + 3, 1020, a3.clone()));
    assert_eq!(s3.peer, Some(committed(c, pc + 1, 1020, c1.clone())));

    assert_eq!(
        (ok(store.pts(a)), ok(store.pts(b)), ok(store.pts(c))),
        (pa + 3, pb + 2, pc + 1)
    );
    assert_eq!(
        sorted_messages(ok(store.messages(a, &[3, 1, 99, 2]))),
        vec![a1.clone(), a2.clone(), a3.clone()],
        "messages by id, missing ones left out"
    );
    assert_eq!(ok(store.messages(b, &[3])), vec![]);

    let (entries, messages) = ok(store.changes_since(a, pa, 100));
    assert_eq!(
        entries,
        vec![
            s1.own.entry.clone(),
            s2.peer.clone().expect("copy").entry,
            s3.own.entry.clone()
        ]
    );
    assert_eq!(sorted_messages(messages), vec![a1, a2, a3]);
    let (entries, messages) = ok(store.changes_since(b, pb, 100));
    assert_eq!(
        entries,
        vec![s1.peer.clone().expect("copy").entry, s2.own.entry.clone()]
    );
    assert_eq!(sorted_messages(messages), vec![b1, b2]);
    let (entries, messages) = ok(store.changes_since(c, pc, 100));
    assert_eq!(entries, vec![s3.peer.clone().expect("copy").entry]);
    assert_eq!(messages, vec![c1]);
}

/// A second send with the same (sender, random_id) answers the first again and writes
/// nothing; random ids belong to their sender.
pub fn send_message_idempotent(store: &dyn Store) {
    let [a, b] = new_users(store);
    let first = send(store, a, b, "once", 77, 1000);
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));
    for text in ["once", "a different text"] {
        let again = ok(store.send_message(a, b, text, 77, 1005));
        assert!(again.duplicate, "the same random_id again is a duplicate");
        assert_eq!(again.own, first.own, "answered as the first time");
    }
    assert_eq!(
        (ok(store.pts(a)), ok(store.pts(b))),
        (pa, pb),
        "no pts taken"
    );
    assert_eq!(history_ids(store, a, b, query(100)), (vec![1], 1));
    assert_eq!(history_ids(store, b, a, query(100)), (vec![1], 1));
    assert_eq!(ok(store.changes_since(a, pa, 100)), (vec![], vec![]));
    assert_eq!(ok(store.changes_since(b, pb, 100)), (vec![], vec![]));

    let reply = send(store, b, a, "reply", 77, 1010);
    assert_eq!(
        (own(&reply).id, copy(&reply).id),
        (2, 2),
        "B's own random_id 77 is new"
    );
    let next = send(store, a, b, "next", 78, 1020);
    assert_eq!(own(&next).id, 3, "duplicates took no message id");
    assert_eq!(ok(store.pts(a)), pa + 2);
}

/// Writing to oneself makes one copy, one pts, one dialog with nothing unread.
pub fn send_message_to_self(store: &dyn Store) {
    let [a] = new_users(store);
    let pa = ok(store.pts(a));
    let sent = send(store, a, a, "note to self", 5, 1000);
    let m = Message {
        owner: a,
        id: 1,
        peer: a,
        out: true,
        from_id: a,
        text: "note to self".into(),
        date: 1000,
        edit_date: None,
        random_id: Some(5),
        media: None,
        reply_to: None,
        forward: None,
        pinned: false,
        action: None,
        entities: None,
        reply_markup: None,
    };
    let own = Committed {
        user_id: a,
        entry: entry(pa + 1, 1, 1000, Change::NewMessage { id: 1 }),
        message: Some(m.clone()),
    };
    assert_eq!(
        sent,
        Sent {
            own: own.clone(),
            peer: None,
            duplicate: false
        }
    );
    assert_eq!(ok(store.pts(a)), pa + 1);
    assert_eq!(ok(store.history(a, a, query(100))), (vec![m.clone()], 1));
    let dialog = Dialog {
        peer: a,
        top_message: m.clone(),
        read_inbox_max_id: 0,
        read_outbox_max_id: 0,
        unread_count: 0,
    };
    assert_eq!(ok(store.dialogs(a, None, 100)), (vec![dialog], 1));
    assert_eq!(
        ok(store.changes_since(a, pa, 100)),
        (vec![own.entry], vec![m])
    );
}

/// Sending to or from a user that does not exist is [`StoreError::NotFound`] and writes nothing.
pub fn send_message_unknown_user(store: &dyn Store) {
    let [a] = new_users(store);
    let pa = ok(store.pts(a));
    expect_not_found(store.send_message(a, 1, "hi", 1, 1000), "send to no user");
    expect_not_found(store.send_message(1, a, "hi", 2, 1000), "send from no user");
    assert_eq!(ok(store.pts(a)), pa);
    assert_eq!(ok(store.dialogs(a, None, 100)), (vec![], 0));
    assert_eq!(history_ids(store, a, 1, query(100)), (vec![], 0));
    assert_eq!(ok(store.changes_since(a, pa, 100)), (vec![], vec![]));
    let first = send(store, a, a, "first", 3, 1010);
    assert_eq!(own(&first).id, 1, "the failed sends took no message id");
}

// ---------------------------------------------------------------------------------------------
// History.

/// A's chat with B: messages 1..=10 in A's box (message `i` sent at `1000 + 10 i`, from A),
/// 2..=11 in B's (C wrote to B first), then C writes to A (A's message 11, date 2000).
fn ten_messages(store: &dyn Store) -> (i64, i64, i64) {
    let [a, b, c] = new_users(store);
    send(store, c, b, "first in B's box", 1, 900);
    for i in 1..=10 {
        send(
            store,
            a,
            b,
            &format!("m{i}"),
            100 + i64::from(i),
            1000 + 10 * i,
        );
    }
    send(store, c, a, "another chat", 2, 2000);
    (a, b, c)
}

/// History is newest first, `limit` long, per chat, with the chat's total count.
pub fn history_order_and_limit(store: &dyn Store) {
    let (a, b, c) = ten_messages(store);
    let (messages, count) = ok(store.history(a, b, query(100)));
    assert_eq!(count, 10);
    let expected: Vec<Message> = (1..=10)
        .rev()
        .map(|i| Message {
            owner: a,
            id: i,
            peer: b,
            out: true,
            from_id: a,
            text: format!("m{i}"),
            date: 1000 + 10 * i,
            edit_date: None,
            random_id: Some(100 + i64::from(i)),
            media: None,
            reply_to: None,
            forward: None,
            pinned: false,
            action: None,
            entities: None,
            reply_markup: None,
        })
        .collect();
    assert_eq!(messages, expected);
    assert_eq!(history_ids(store, a, b, query(3)), (vec![10, 9, 8], 10));
    let (messages, count) = ok(store.history(b, a, query(100)));
    assert_eq!(count, 10);
    assert_eq!(
        messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        (2..=11).rev().collect::<Vec<_>>()
    );
    assert!(
        messages
            .iter()
            .all(|m| !m.out && m.from_id == a && m.peer == a)
    );
    assert_eq!(history_ids(store, a, c, query(100)), (vec![11], 1));
    assert_eq!(history_ids(store, c, 1, query(100)), (vec![], 0));
}

/// `offset_id`: only messages strictly below it.
pub fn history_offset_id(store: &dyn Store) {
    let (a, b, _) = ten_messages(store);
    let at = |offset_id, limit| HistoryQuery {
        offset_id,
        ..query(limit)
    };
    assert_eq!(history_ids(store, a, b, at(5, 100)), (vec![4, 3, 2, 1], 10));
    assert_eq!(history_ids(store, a, b, at(5, 2)), (vec![4, 3], 10));
    assert_eq!(history_ids(store, a, b, at(1, 100)), (vec![], 10));
    let all: Vec<i32> = (1..=10).rev().collect();
    assert_eq!(history_ids(store, a, b, at(11, 100)), (all.clone(), 10));
    assert_eq!(history_ids(store, a, b, at(1000, 100)), (all, 10));
}

/// `add_offset`, as Telegram defines it (core.telegram.org/api/offsets): in the chat's list,
/// newest first, the slice starts at offsetFromID(offset_id) + add_offset, where
/// offsetFromID(offset_id) is the number of messages from the newest down to offset_id
/// inclusive, and is `limit` long; positions before the newest are empty. So with
/// `add_offset = -k` (k <= limit) the result holds up to k messages with ids >= offset_id,
/// then `limit - k` older ones; `-limit` pages towards newer messages (as Telethon's
/// `reverse=True` does, shown here), `-limit/2` loads the messages around offset_id.
pub fn history_add_offset(store: &dyn Store) {
    let (a, b, _) = ten_messages(store);
    let q = |offset_id, add_offset, limit| HistoryQuery {
        offset_id,
        add_offset,
        ..query(limit)
    };
    let ids = |query| history_ids(store, a, b, query).0;
    assert_eq!(ids(q(0, 2, 3)), vec![8, 7, 6], "skips the 2 newest");
    assert_eq!(ids(q(8, 2, 3)), vec![5, 4, 3], "skips 7 and 6");
    assert_eq!(
        ids(q(8, 20, 3)),
        Vec::<i32>::new(),
        "skipped past the oldest"
    );
    assert_eq!(
        ids(q(5, -2, 4)),
        vec![6, 5, 4, 3],
        "2 at or above 5, 2 below"
    );
    assert_eq!(ids(q(5, -4, 4)), vec![8, 7, 6, 5], "the 4 from 5 upwards");
    assert_eq!(
        ids(q(5, -6, 4)),
        vec![10, 9, 8, 7],
        "6 from 5 upwards, limited to 4"
    );
    assert_eq!(
        ids(q(5, -8, 4)),
        vec![10, 9],
        "positions -2 and -1 do not exist"
    );
    assert_eq!(
        ids(q(9, -5, 4)),
        vec![10],
        "only 9 and 10 are newer: positions -3..=0"
    );
    assert_eq!(
        ids(q(0, -3, 5)),
        vec![10, 9],
        "from the newest, 3 positions before it"
    );

    // Telethon's reverse iteration: offset_id = 1, add_offset = -limit, then offset_id = the
    // last id + 1; each answer reversed.
    let mut seen = Vec::new();
    let mut offset_id = 1;
    for _ in 0..10 {
        let mut chunk = ids(q(offset_id, -4, 4));
        if chunk.is_empty() {
            break;
        }
        chunk.reverse();
        offset_id = chunk[chunk.len() - 1] + 1;
        seen.extend(chunk);
    }
    assert_eq!(
        seen,
        (1..=10).collect::<Vec<_>>(),
        "oldest first, each once"
    );
}

/// `max_id` and `min_id` are exclusive bounds that, as Telegram documents, filter the slice
/// chosen by the offsets and `limit` (they do not move it).
pub fn history_min_max_id(store: &dyn Store) {
    let (a, b, _) = ten_messages(store);
    let q = |offset_id, limit, max_id, min_id| HistoryQuery {
        offset_id,
        max_id,
        min_id,
        ..query(limit)
    };
    assert_eq!(
        history_ids(store, a, b, q(0, 100, 6, 0)),
        (vec![5, 4, 3, 2, 1], 10)
    );
    assert_eq!(
        history_ids(store, a, b, q(0, 100, 0, 6)),
        (vec![10, 9, 8, 7], 10)
    );
    assert_eq!(
        history_ids(store, a, b, q(0, 100, 8, 3)),
        (vec![7, 6, 5, 4], 10)
    );
    assert_eq!(
        history_ids(store, a, b, q(0, 3, 6, 0)),
        (vec![], 10),
        "10, 9, 8 filtered out"
    );
    assert_eq!(
        history_ids(store, a, b, q(6, 3, 0, 4)),
        (vec![5], 10),
        "5, 4, 3 filtered"
    );
    assert_eq!(history_ids(store, a, b, q(0, 100, 1, 0)), (vec![], 10));
    assert_eq!(history_ids(store, a, b, q(0, 100, 0, 10)), (vec![], 10));
}

/// `offset_date`: only messages sent strictly before it; `add_offset` counts from there.
pub fn history_offset_date(store: &dyn Store) {
    let (a, b, _) = ten_messages(store);
    let q = |offset_date, add_offset, limit| HistoryQuery {
        offset_date,
        add_offset,
        ..query(limit)
    };
    assert_eq!(
        history_ids(store, a, b, q(1055, 0, 100)),
        (vec![5, 4, 3, 2, 1], 10)
    );
    assert_eq!(
        history_ids(store, a, b, q(1050, 0, 100)),
        (vec![4, 3, 2, 1], 10)
    );
    assert_eq!(history_ids(store, a, b, q(1011, 0, 100)), (vec![1], 10));
    assert_eq!(history_ids(store, a, b, q(1010, 0, 100)), (vec![], 10));
    assert_eq!(history_ids(store, a, b, q(1055, 0, 2)), (vec![5, 4], 10));
    assert_eq!(
        history_ids(store, a, b, q(1055, -2, 4)),
        (vec![7, 6, 5, 4], 10)
    );
    let all: Vec<i32> = (1..=10).rev().collect();
    assert_eq!(history_ids(store, a, b, q(5000, 0, 100)), (all, 10));
}

/// Replies and forwards in private chats: each copy replies to its own box's copy of the
/// replied message; an id from another chat or of no message is dropped; a forward's origin
/// (a user or a channel's post) and media come back from history, messages and the log; a
/// duplicate send answers with the first.
pub fn replies_and_forwards(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    // Give B's box ids that differ from A's.
    send(store, b, c, "b to c", 1, 900);
    let first = send(store, a, b, "first", 1, 1000);
    let (first_a, first_b) = (own(&first).id, copy(&first).id);
    assert_ne!(first_a, first_b, "the boxes number on their own");
    let reply = |to_id| Extras {
        reply_to: Some(to_id),
        ..no_extras()
    };
    let sent = ok(store.send(a, b, "a reply", 2, 1001, reply(first_a)));
    assert_eq!(own(&sent).reply_to, Some(first_a));
    assert_eq!(
        copy(&sent).reply_to,
        Some(first_b),
        "B's copy names B's copy"
    );
    // B answers its own copy: A's copy of the answer names A's copy.
    let back = ok(store.send(b, a, "b replies", 2, 1002, reply(first_b)));
    assert_eq!(own(&back).reply_to, Some(first_b));
    assert_eq!(copy(&back).reply_to, Some(first_a));
    // An id of another chat (A has no chat with C yet; B's message to C is in B's box) or of
    // no message is dropped.
    let other_chat = own(&ok(store.send(a, c, "to c", 3, 1003, no_extras()))).id;
    let stray = ok(store.send(a, b, "stray", 4, 1004, reply(other_chat)));
    assert_eq!((own(&stray).reply_to, copy(&stray).reply_to), (None, None));
    let missing = ok(store.send(a, b, "missing", 5, 1005, reply(9999)));
    assert_eq!(own(&missing).reply_to, None);
    // A note to oneself may reply to an earlier note.
    let note = own(&ok(store.send(a, a, "note", 6, 1006, no_extras()))).id;
    let note_reply = ok(store.send(a, a, "re note", 7, 1007, reply(note)));
    assert_eq!(own(&note_reply).reply_to, Some(note));
    // Forwards, from a user and from a channel post, with media.
    let from_user = Forward {
        from: ForwardFrom::User(c),
        date: 800,
    };
    let from_post = Forward {
        from: ForwardFrom::Channel {
            channel: 1_000_007,
            post: 42,
        },
        date: 700,
    };
    let fwd = ok(store.send(
        a,
        b,
        "forwarded",
        8,
        1008,
        Extras {
            forward: Some(from_user),
            media: Some(MediaRef::Document(77)),
            ..no_extras()
        },
    ));
    assert_eq!(own(&fwd).forward, Some(from_user));
    assert_eq!(copy(&fwd).forward, Some(from_user));
    assert_eq!(copy(&fwd).media, Some(MediaRef::Document(77)));
    let fwd_post = ok(store.send(
        a,
        b,
        "a post",
        9,
        1009,
        Extras {
            forward: Some(from_post),
            reply_to: Some(first_a),
            ..no_extras()
        },
    ));
    assert_eq!(copy(&fwd_post).forward, Some(from_post));
    assert_eq!(copy(&fwd_post).reply_to, Some(first_b));
    // Read back the same way from every path.
    let wanted = [copy(&sent), copy(&fwd), copy(&fwd_post)];
    let ids: Vec<i32> = wanted.iter().map(|m| m.id).collect();
    let mut found = ok(store.messages(b, &ids));
    found.sort_by_key(|m| m.id);
    assert_eq!(
        found,
        wanted.to_vec(),
        "messages() keeps replies and forwards"
    );
    let (history, _) = ok(store.history(b, a, query(100)));
    for m in &wanted {
        assert!(history.contains(m), "history() keeps {m:?}");
    }
    let (_, logged) = ok(store.changes_since(b, 0, 100));
    for m in &wanted {
        assert!(logged.contains(m), "changes_since() keeps {m:?}");
    }
    // A repeated send answers with the first, extras included.
    let again = ok(store.send(a, b, "a post", 9, 1010, no_extras()));
    assert!(again.duplicate);
    assert_eq!(own(&again).forward, Some(from_post));
}

/// Pins in private chats: each side's copy, one log entry per box that changed (none for a
/// pin that changes nothing), one side only on request, unpinning all; ids of other chats
/// and of no message refused.
pub fn pins(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    send(store, b, c, "b to c", 1, 900);
    let first = send(store, a, b, "first", 1, 1000);
    let second = send(store, a, b, "second", 2, 1001);
    let (first_a, first_b) = (own(&first).id, copy(&first).id);
    let (second_a, second_b) = (own(&second).id, copy(&second).id);
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));
    let done = ok(store.set_pinned(a, b, Some(&[first_a]), true, true, 1100));
    let pin = |peer, ids: Vec<i32>, pinned| Change::Pin { peer, ids, pinned };
    assert_eq!(
        done,
        vec![
            Committed {
                user_id: a,
                entry: entry(pa + 1, 1, 1100, pin(b, vec![first_a], true)),
                message: None,
            },
            Committed {
                user_id: b,
                entry: entry(pb + 1, 1, 1100, pin(a, vec![first_b], true)),
                message: None,
            },
        ]
    );
    assert_eq!(ok(store.pinned(a, b)), vec![first_a]);
    assert_eq!(ok(store.pinned(b, a)), vec![first_b]);
    assert!(
        ok(store.messages(b, &[first_b]))[0].pinned,
        "the flag is on the message"
    );
    assert!(!ok(store.messages(b, &[second_b]))[0].pinned);
    assert_eq!(
        ok(store.set_pinned(a, b, Some(&[first_a]), true, true, 1101)),
        Vec::new(),
        "pinning again changes nothing"
    );
    // B pins the second for itself only.
    let one_side = ok(store.set_pinned(b, a, Some(&[second_b]), true, false, 1102));
    assert_eq!(one_side.len(), 1);
    assert_eq!(one_side[0].user_id, b);
    assert_eq!(
        ok(store.pinned(b, a)),
        vec![second_b, first_b],
        "newest first"
    );
    assert_eq!(ok(store.pinned(a, b)), vec![first_a]);
    let (_, logged) = ok(store.changes_since(b, pb, 10));
    assert!(logged.is_empty(), "pin entries name no message");
    let (changes, _) = ok(store.changes_since(b, pb, 10));
    assert_eq!(
        changes.iter().map(|c| c.change.clone()).collect::<Vec<_>>(),
        vec![pin(a, vec![first_b], true), pin(a, vec![second_b], true)]
    );
    // Unpin all, both sides.
    let all = ok(store.set_pinned(a, b, None, false, true, 1103));
    assert_eq!(
        all.iter()
            .map(|c| (c.user_id, c.entry.change.clone()))
            .collect::<Vec<_>>(),
        vec![
            (a, pin(b, vec![first_a], false)),
            (b, pin(a, vec![first_b, second_b], false))
        ]
    );
    assert_eq!(ok(store.pinned(a, b)), Vec::<i32>::new());
    assert_eq!(ok(store.pinned(b, a)), Vec::<i32>::new());
    // Another chat's message, or none at all: refused.
    let to_c = own(&send(store, a, c, "to c", 3, 1104)).id;
    expect_not_found(
        store.set_pinned(a, b, Some(&[to_c]), true, true, 1105),
        "another chat",
    );
    expect_not_found(
        store.set_pinned(a, b, Some(&[9999]), true, true, 1105),
        "no message",
    );
    assert_eq!(ok(store.pinned(a, c)), Vec::<i32>::new());
    assert_eq!(second_a, own(&second).id);
}

/// Replies and forwards in channels: a reply to a post of the channel is kept, one to no
/// post is dropped, a forward's origin comes back from history and by id.
pub fn channel_replies_and_forwards(store: &dyn Store) {
    let [a, b] = new_users(store);
    let channel = ok(store.create_channel(a, "Replies", "", false, true, 5, 100)).id;
    ok(store.add_member(channel, b, Role::Member, b, 100));
    let first = ok(store.post(channel, a, "first", 1, 101, no_extras())).message;
    let reply = ok(store.post(
        channel,
        b,
        "re",
        1,
        102,
        Extras {
            reply_to: Some(first.id),
            ..no_extras()
        },
    ))
    .message;
    assert_eq!(reply.reply_to, Some(first.id));
    let stray = ok(store.post(
        channel,
        b,
        "stray",
        2,
        103,
        Extras {
            reply_to: Some(first.id + 100),
            ..no_extras()
        },
    ))
    .message;
    assert_eq!(stray.reply_to, None);
    let origin = Forward {
        from: ForwardFrom::User(a),
        date: 50,
    };
    let fwd = ok(store.post(
        channel,
        a,
        "fwd",
        3,
        104,
        Extras {
            forward: Some(origin),
            ..no_extras()
        },
    ))
    .message;
    assert_eq!(fwd.forward, Some(origin));
    let by_id = ok(store.channel_messages(channel, &[reply.id, fwd.id]));
    assert!(by_id.contains(&reply) && by_id.contains(&fwd));
    let (history, _) = ok(store.channel_history(channel, query(10)));
    assert!(history.contains(&reply) && history.contains(&fwd) && history.contains(&stray));
}

/// How clients page a chat whose messages were all sent in one second, as Telethon, GramJS and
/// mtcute do: forwards with `offset_id` and `offset_date` of the last message they got (or
/// without the date), backwards (towards newer) with `offset_id` one above the newest they
/// got and `add_offset = -limit`, and from the middle in both directions. Every way sees each
/// message exactly once, in a private chat and in a channel.
pub fn history_paging_same_second(store: &dyn Store) {
    const DATE: i32 = 1_700_000_000;
    let [a, b] = new_users(store);
    for i in 0..SAME_SECOND {
        send(store, a, b, "same second", i64::from(i) + 1, DATE);
    }
    pages_each_once("private chat", DATE, &|q| history_ids(store, a, b, q));
    let channel = ok(store.create_channel(a, "Same second", "", true, false, 7, DATE)).id;
    for i in 0..SAME_SECOND {
        ok(store.post(
            channel,
            a,
            "same second",
            i64::from(i) + 1,
            DATE,
            no_extras(),
        ));
    }
    pages_each_once("channel", DATE, &|q| {
        let (posts, count) = ok(store.channel_history(channel, q));
        (posts.iter().map(|p| p.id).collect(), count)
    });
}

/// Messages in each chat of [`history_paging_same_second`].
const SAME_SECOND: i32 = 1000;

/// Pages a chat of [`SAME_SECOND`] messages (ids 1..=1000, all sent at `date`) every way
/// clients do, through `history` (the ids of one page and the chat's count).
fn pages_each_once(chat: &str, date: i32, history: &dyn Fn(HistoryQuery) -> (Vec<i32>, i32)) {
    let page = |offset_id, offset_date, add_offset, limit| {
        let q = HistoryQuery {
            offset_id,
            offset_date,
            add_offset,
            ..query(limit)
        };
        let (ids, count) = history(q);
        assert_eq!(count, SAME_SECOND, "{chat}: count of {q:?}");
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "{chat}: newest first: {ids:?}"
        );
        ids
    };
    let expect_each_once = |mut seen: Vec<i32>, want: std::ops::RangeInclusive<i32>, how: &str| {
        let len = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), len, "{chat}, {how}: a message was seen twice");
        let want: Vec<i32> = want.collect();
        let missing: Vec<i32> = want
            .iter()
            .filter(|id| seen.binary_search(id).is_err())
            .copied()
            .collect();
        assert!(
            missing.is_empty(),
            "{chat}, {how}: {} of {} messages missing, e.g. {:?}",
            missing.len(),
            want.len(),
            &missing[..missing.len().min(5)]
        );
        assert_eq!(seen, want, "{chat}, {how}: messages outside the range");
    };
    // Older, from the newest and from the middle, with and without offset_date. A client's
    // first page names no offset; later ones name the last message and, if it sends dates,
    // that message's date.
    for (start, with_date) in [(0, true), (0, false), (501, true), (501, false)] {
        let (mut seen, mut offset_id) = (Vec::new(), start);
        loop {
            let offset_date = if with_date && offset_id != 0 { date } else { 0 };
            let ids = page(offset_id, offset_date, 0, 100);
            let Some(&last) = ids.last() else {
                break;
            };
            offset_id = last;
            seen.extend(ids);
            assert!(
                seen.len() <= SAME_SECOND as usize,
                "{chat}: paging older never ends"
            );
        }
        let newest = if start == 0 { SAME_SECOND } else { start - 1 };
        expect_each_once(
            seen,
            1..=newest,
            &format!("older from {start}, date {with_date}"),
        );
    }
    // Newer, from the oldest and from the middle, with and without offset_date.
    for (start, with_date) in [(1, true), (1, false), (501, true), (501, false)] {
        let (mut seen, mut offset_id) = (Vec::new(), start);
        loop {
            let ids = page(offset_id, if with_date { date } else { 0 }, -100, 100);
            let Some(&newest) = ids.first() else {
                break;
            };
            offset_id = newest + 1;
            seen.extend(ids);
            assert!(
                seen.len() <= SAME_SECOND as usize,
                "{chat}: paging newer never ends"
            );
        }
        expect_each_once(
            seen,
            start..=SAME_SECOND,
            &format!("newer from {start}, date {with_date}"),
        );
    }
    // Only a date: the second itself is not older than itself, a later one shows everything.
    assert!(
        page(0, date, 0, 100).is_empty(),
        "{chat}: older than its own second"
    );
    assert_eq!(
        page(0, date + 1, 0, 3),
        [1000, 999, 998],
        "{chat}: older than the next second"
    );
}

// ---------------------------------------------------------------------------------------------
// Dialogs, reading, editing, deleting, the log.

/// Dialogs: newest first, top message, unread count, read marks, `offset_date` paging
/// (exclusive), the total count.
pub fn dialogs(store: &dyn Store) {
    let [a, b, c, d] = new_users(store);
    let s1 = send(store, a, b, "to b", 1, 100);
    let s2 = send(store, c, a, "from c", 2, 200);
    let s3 = send(store, a, d, "to d", 3, 300);
    let s4 = send(store, b, a, "from b", 4, 400);
    let dialog = |peer, top: Message, read_in, read_out, unread| Dialog {
        peer,
        top_message: top,
        read_inbox_max_id: read_in,
        read_outbox_max_id: read_out,
        unread_count: unread,
    };
    let with_b = dialog(b, copy(&s4), 0, 0, 1);
    let with_d = dialog(d, own(&s3), 0, 0, 0);
    let with_c = dialog(c, copy(&s2), 0, 0, 1);
    assert_eq!(copy(&s4).id, 4);
    let all = vec![with_b.clone(), with_d.clone(), with_c.clone()];
    assert_eq!(ok(store.dialogs(a, None, 100)), (all, 3));
    assert_eq!(
        ok(store.dialogs(a, None, 2)),
        (vec![with_b.clone(), with_d.clone()], 3)
    );
    assert_eq!(
        ok(store.dialogs(a, Some(DialogPosition::before_date(400)), 100)),
        (vec![with_d.clone(), with_c.clone()], 3)
    );
    assert_eq!(
        ok(store.dialogs(a, Some(DialogPosition::before_date(300)), 1)),
        (vec![with_c.clone()], 3)
    );
    assert_eq!(
        ok(store.dialogs(a, Some(DialogPosition::before_date(200)), 100)),
        (vec![], 3)
    );
    assert_eq!(
        ok(store.dialogs(b, None, 100)),
        (vec![dialog(a, own(&s4), 0, 0, 1)], 1),
        "B's side: its own last message on top, A's first one unread"
    );
    assert_eq!(own(&s1).id, 1);

    ok(store.read_history(a, b, 0, 500));
    ok(store.read_history(b, a, 0, 510));
    ok(store.read_history(a, c, 0, 520));
    let with_b = dialog(b, copy(&s4), 4, 1, 0);
    let with_c = dialog(c, copy(&s2), 2, 0, 0);
    assert_eq!(
        ok(store.dialogs(a, None, 100)),
        (vec![with_b.clone(), with_d.clone(), with_c], 3)
    );
    assert_eq!(
        ok(store.dialogs(b, None, 100)),
        (vec![dialog(a, own(&s4), 1, 2, 0)], 1)
    );

    let s5 = send(store, c, a, "again", 5, 600);
    assert_eq!(
        ok(store.dialogs(a, None, 100)),
        (vec![dialog(c, copy(&s5), 2, 0, 1), with_b, with_d], 3),
        "a new message moves its chat to the top"
    );
    assert_eq!(ok(store.dialogs(1, None, 100)), (vec![], 0));
}

/// Dialogs whose top messages share one second page by (date, id): every page starts strictly
/// after the last dialog of the one before, and each dialog is seen once.
pub fn dialogs_paging_same_second(store: &dyn Store) {
    let [a, b, c, d, e, f, g, h] = new_users(store);
    let others = [b, c, d, e, f, g, h];
    for (n, &peer) in others.iter().enumerate() {
        send(store, a, peer, "same second", n as i64 + 1, 1_000);
    }
    let (all, count) = ok(store.dialogs(a, None, 100));
    assert_eq!((all.len(), count), (others.len(), others.len() as i32));
    let mut seen = Vec::new();
    let mut offset = None;
    loop {
        let (page, _) = ok(store.dialogs(a, offset, 3));
        let Some(last) = page.last() else { break };
        offset = Some(DialogPosition {
            date: last.top_message.date,
            id: last.top_message.id,
        });
        seen.extend(page.iter().map(|d| d.peer));
    }
    assert_eq!(seen, all.iter().map(|d| d.peer).collect::<Vec<_>>());
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), others.len(), "each dialog once");
    assert_eq!(
        ok(store.dialogs(a, Some(DialogPosition::before_date(1_000)), 100)).0,
        vec![],
        "a date alone excludes the whole second"
    );
}

/// Reading: the reader's inbox and the sender's outbox move to the right ids of each box, one
/// pts each; reading again with nothing new changes nothing.
pub fn read_history(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    send(store, c, b, "noise", 1, 50);
    // Three from A in the same second: A's 1, 2, 3 are B's 2, 3, 4.
    for i in 1..=3 {
        send(store, a, b, &format!("m{i}"), 10 + i, 100);
    }
    send(store, b, a, "reply", 20, 110); // B's 5, A's 4.
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));
    let read = |owner, pts, peer, max_id, date| Committed {
        user_id: owner,
        entry: entry(pts, 1, date, Change::ReadInbox { peer, max_id }),
        message: None,
    };
    let seen = |owner, pts, peer, max_id, date| Committed {
        user_id: owner,
        entry: entry(pts, 1, date, Change::ReadOutbox { peer, max_id }),
        message: None,
    };
    let unread = |owner, peer| {
        let (list, _) = ok(store.dialogs(owner, None, 100));
        let d = list.into_iter().find(|d| d.peer == peer).expect("dialog");
        (d.read_inbox_max_id, d.read_outbox_max_id, d.unread_count)
    };

    let r = ok(store.read_history(b, a, 3, 200));
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(entry_for(&r, b), read(b, pb + 1, a, 3, 200));
    assert_eq!(
        entry_for(&r, a),
        seen(a, pa + 1, b, 2, 200),
        "B's 3 is A's 2"
    );
    assert_eq!(unread(b, a), (3, 0, 1));
    assert_eq!(unread(b, c), (0, 0, 1), "the other chat is untouched");
    assert_eq!(unread(a, b), (0, 2, 1));

    for max_id in [3, 2] {
        assert_eq!(
            ok(store.read_history(b, a, max_id, 210)),
            vec![],
            "nothing new"
        );
    }
    assert_eq!((ok(store.pts(a)), ok(store.pts(b))), (pa + 1, pb + 1));

    let r = ok(store.read_history(b, a, 0, 220));
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        entry_for(&r, b),
        read(b, pb + 2, a, 4, 220),
        "0 reads everything"
    );
    assert_eq!(entry_for(&r, a), seen(a, pa + 2, b, 3, 220));
    assert_eq!(
        ok(store.read_history(b, a, 0, 230)),
        vec![],
        "B's own 5 is no inbox"
    );
    assert_eq!(ok(store.read_history(b, a, 1000, 230)), vec![]);
    assert_eq!(unread(b, a), (4, 0, 0));

    let r = ok(store.read_history(a, b, 0, 240));
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(entry_for(&r, a), read(a, pa + 3, b, 4, 240));
    assert_eq!(entry_for(&r, b), seen(b, pb + 3, a, 5, 240));
    assert_eq!(unread(a, b), (4, 3, 0));
    assert_eq!(unread(b, a), (4, 5, 0));

    let (entries, messages) = ok(store.changes_since(a, pa, 100));
    assert_eq!(
        entries,
        vec![
            seen(a, pa + 1, b, 2, 200).entry,
            seen(a, pa + 2, b, 3, 220).entry,
            read(a, pa + 3, b, 4, 240).entry,
        ]
    );
    assert_eq!(messages, vec![]);
    assert_eq!(
        ok(store.read_history(a, c, 0, 250)),
        vec![],
        "no chat with C"
    );
    assert_eq!(ok(store.pts(a)), pa + 3);
}

/// Editing: only one's outgoing messages (else [`StoreError::NotFound`], nothing written);
/// both copies change (the right one even among equal texts sent in the same second), and
/// each side logs it.
pub fn edit_message(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    send(store, c, b, "noise", 1, 50);
    send(store, a, b, "same", 10, 100); // A's 1, B's 2.
    send(store, a, b, "same", 11, 100); // A's 2, B's 3.
    send(store, b, a, "theirs", 12, 110); // B's 4, A's 3.
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));
    let get = |owner, id| ok(store.messages(owner, &[id])).pop().expect("message");
    let edited = |m: Message| Message {
        text: "edited".into(),
        edit_date: Some(200),
        ..m
    };
    let (a2, b2, b3) = (get(a, 2), get(b, 2), get(b, 3));

    let r = ok(store.edit_message(a, 2, "edited", 200));
    assert_eq!(r.len(), 2, "{r:?}");
    let own_entry = Committed {
        user_id: a,
        entry: entry(pa + 1, 1, 200, Change::EditMessage { id: 2 }),
        message: Some(edited(a2.clone())),
    };
    let peer_entry = Committed {
        user_id: b,
        entry: entry(pb + 1, 1, 200, Change::EditMessage { id: 3 }),
        message: Some(edited(b3.clone())),
    };
    assert_eq!(entry_for(&r, a), own_entry);
    assert_eq!(entry_for(&r, b), peer_entry);
    assert_eq!(get(a, 2), edited(a2));
    assert_eq!(get(b, 3), edited(b3));
    assert_eq!(
        get(b, 2),
        b2,
        "the twin with the same text and date is untouched"
    );
    assert_eq!(get(a, 1).text, "same");

    expect_not_found(
        store.edit_message(a, 3, "x", 210),
        "edit an incoming message",
    );
    expect_not_found(
        store.edit_message(b, 2, "x", 210),
        "edit an incoming message",
    );
    expect_not_found(
        store.edit_message(a, 99, "x", 210),
        "edit a missing message",
    );
    assert_eq!((ok(store.pts(a)), ok(store.pts(b))), (pa + 1, pb + 1));
    assert_eq!(get(a, 3).text, "theirs");

    assert_eq!(
        ok(store.changes_since(a, pa, 100)),
        (
            vec![own_entry.entry],
            vec![own_entry.message.expect("edited")]
        )
    );
    assert_eq!(
        ok(store.changes_since(b, pb, 100)),
        (
            vec![peer_entry.entry],
            vec![peer_entry.message.expect("edited")]
        )
    );

    let memo = send(store, a, a, "memo", 13, 300);
    let r = ok(store.edit_message(a, own(&memo).id, "memo 2", 310));
    assert_eq!(r.len(), 1, "one copy in a chat with oneself: {r:?}");
    assert_eq!(
        r[0].entry,
        entry(pa + 3, 1, 310, Change::EditMessage { id: 4 })
    );
}

/// Deleting without revoke: only the owner's box, pts_count = messages deleted (missing and
/// repeated ids do not count), the dialog's top moves back, then the dialog goes.
pub fn delete_messages(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    send(store, c, b, "noise", 1, 50);
    for i in 1..=3 {
        send(
            store,
            a,
            b,
            &format!("m{i}"),
            10 + i64::from(i),
            90 + 10 * i,
        ); // A's i, B's i + 1.
    }
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));
    let deleted = |pts, count, date, ids: Vec<i32>| {
        vec![Committed {
            user_id: a,
            entry: entry(pts, count, date, Change::DeleteMessages { ids }),
            message: None,
        }]
    };
    let top = |owner| {
        ok(store.dialogs(owner, None, 100))
            .0
            .iter()
            .map(|d| (d.peer, d.top_message.id))
            .collect::<Vec<_>>()
    };

    let r = ok(store.delete_messages(a, &[2, 99], false, 200));
    assert_eq!(r, deleted(pa + 1, 1, 200, vec![2]));
    assert_eq!(history_ids(store, a, b, query(100)), (vec![3, 1], 2));
    assert_eq!(history_ids(store, b, a, query(100)), (vec![4, 3, 2], 3));
    assert_eq!(ok(store.pts(b)), pb, "the peer's box is untouched");

    let r = ok(store.delete_messages(a, &[3], false, 210));
    assert_eq!(r, deleted(pa + 2, 1, 210, vec![3]));
    assert_eq!(top(a), vec![(b, 1)], "the top moves back");
    assert_eq!(ok(store.delete_messages(a, &[99], false, 215)), vec![]);

    let r = ok(store.delete_messages(a, &[1, 1], false, 220));
    assert_eq!(r, deleted(pa + 3, 1, 220, vec![1]));
    assert_eq!(
        ok(store.dialogs(a, None, 100)),
        (vec![], 0),
        "the empty chat is gone"
    );
    assert_eq!(top(b), vec![(a, 4), (c, 1)]);
    assert_eq!(ok(store.pts(a)), pa + 3);
    let (entries, messages) = ok(store.changes_since(a, pa, 100));
    assert_eq!(entries.len(), 3);
    assert_eq!(messages, vec![]);
}

/// Deleting with revoke: the peer's copies go too (the right ones among equal texts sent in
/// the same second, also for incoming messages), each side logs its own ids and its pts moves
/// by their number.
pub fn delete_messages_revoke(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    send(store, c, b, "noise", 1, 50);
    for i in 1..=3 {
        send(
            store,
            a,
            b,
            &format!("m{i}"),
            10 + i64::from(i),
            90 + 10 * i,
        ); // A's i, B's i + 1.
    }
    send(store, b, a, "reply", 20, 130); // B's 5, A's 4.
    send(store, a, b, "twin", 21, 140); // A's 5, B's 6.
    send(store, a, b, "twin", 22, 140); // A's 6, B's 7.
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));
    let gone = |user_id, pts, count, date, ids: Vec<i32>| Committed {
        user_id,
        entry: entry(pts, count, date, Change::DeleteMessages { ids }),
        message: None,
    };
    let top = |owner| {
        ok(store.dialogs(owner, None, 100))
            .0
            .iter()
            .map(|d| (d.peer, d.top_message.id))
            .collect::<Vec<_>>()
    };

    let r = ok(store.delete_messages(a, &[2, 3], true, 200));
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        sorted_delete(entry_for(&r, a)),
        gone(a, pa + 2, 2, 200, vec![2, 3])
    );
    assert_eq!(
        sorted_delete(entry_for(&r, b)),
        gone(b, pb + 2, 2, 200, vec![3, 4])
    );
    assert_eq!(history_ids(store, a, b, query(100)), (vec![6, 5, 4, 1], 4));
    assert_eq!(history_ids(store, b, a, query(100)), (vec![7, 6, 5, 2], 4));

    let r = ok(store.delete_messages(a, &[6], true, 210));
    assert_eq!(entry_for(&r, a), gone(a, pa + 3, 1, 210, vec![6]));
    assert_eq!(entry_for(&r, b), gone(b, pb + 3, 1, 210, vec![7]));
    assert_eq!(
        history_ids(store, b, a, query(100)).0,
        vec![6, 5, 2],
        "its twin stays"
    );
    assert_eq!(top(a), vec![(b, 5)]);
    assert_eq!(top(b), vec![(a, 6), (c, 1)]);

    let r = ok(store.delete_messages(b, &[2], true, 220));
    assert_eq!(entry_for(&r, b), gone(b, pb + 4, 1, 220, vec![2]));
    assert_eq!(
        entry_for(&r, a),
        gone(a, pa + 4, 1, 220, vec![1]),
        "an incoming one"
    );

    let r = ok(store.delete_messages(a, &[4, 5], true, 230));
    assert_eq!(
        sorted_delete(entry_for(&r, a)),
        gone(a, pa + 6, 2, 230, vec![4, 5])
    );
    assert_eq!(
        sorted_delete(entry_for(&r, b)),
        gone(b, pb + 6, 2, 230, vec![5, 6])
    );
    assert_eq!(ok(store.dialogs(a, None, 100)), (vec![], 0));
    assert_eq!(top(b), vec![(c, 1)]);
    assert_eq!(ok(store.dialogs(b, None, 100)).1, 1);
    assert_eq!((ok(store.pts(a)), ok(store.pts(b))), (pa + 6, pb + 6));
}

/// The log: slices by `limit` in pts order with exactly their messages, nothing after the
/// end, deleted messages left out, an edited one once and as it is now.
pub fn changes_since(store: &dyn Store) {
    let [a, b] = new_users(store);
    let base = ok(store.pts(b));
    for i in 1..=5 {
        send(store, a, b, &format!("m{i}"), i64::from(i), 90 + 10 * i);
    }
    let slice = |pts, limit| {
        let (entries, messages) = ok(store.changes_since(b, pts, limit));
        let entries: Vec<(i32, i32, i32, Change)> = entries
            .into_iter()
            .map(|e| (e.pts, e.pts_count, e.date, e.change))
            .collect();
        let messages: Vec<i32> = sorted_messages(messages).iter().map(|m| m.id).collect();
        (entries, messages)
    };
    let new = |n: i32| (base + n, 1, 90 + 10 * n, Change::NewMessage { id: n });
    assert_eq!(slice(base, 2), (vec![new(1), new(2)], vec![1, 2]));
    assert_eq!(slice(base + 2, 2), (vec![new(3), new(4)], vec![3, 4]));
    assert_eq!(slice(base + 4, 2), (vec![new(5)], vec![5]));
    assert_eq!(slice(base + 5, 10), (vec![], vec![]));
    assert_eq!(slice(base + 1000, 10), (vec![], vec![]));
    assert_eq!(
        slice(base, 100),
        ((1..=5).map(new).collect(), vec![1, 2, 3, 4, 5])
    );

    ok(store.delete_messages(a, &[1], true, 200));
    ok(store.edit_message(a, 2, "m2 edited", 210));
    let (entries, messages) = ok(store.changes_since(b, base, 100));
    assert_eq!(
        entries.iter().map(|e| e.pts).collect::<Vec<_>>(),
        (base + 1..=base + 7).collect::<Vec<_>>()
    );
    assert_eq!(
        entries[5].change,
        Change::DeleteMessages { ids: vec![1] },
        "{entries:?}"
    );
    assert_eq!(entries[6].change, Change::EditMessage { id: 2 });
    let messages = sorted_messages(messages);
    assert_eq!(
        messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![2, 3, 4, 5],
        "the deleted one left out, the edited one once"
    );
    assert_eq!(
        (messages[0].text.as_str(), messages[0].edit_date),
        ("m2 edited", Some(210))
    );
}

/// Strings with U+0000 (which a client may send) are kept byte-exact: a first name, last name
/// and about text (create, profile update), a message text through send, history, dialogs,
/// the log and edit on both copies, a channel title and post, a document's file name and MIME
/// type, what a client says about itself, a push token. Lookups by a username or phone with
/// a NUL find nothing.
pub fn nul_bytes(store: &dyn Store) {
    let name = "A\0nn\0";
    let a = ok(store.create_user("15550000", name, "\0", 1));
    assert_eq!((a.first_name.as_str(), a.last_name.as_str()), (name, "\0"));
    let b = ok(store.create_user("15550001", "B", "", 2)).id;
    assert_eq!(ok(store.user(a.id)), Some(a.clone()), "read back");
    let updated = ok(store.update_profile(a.id, Some("\0x\0"), None, Some("about\0\0")));
    assert_eq!(
        (
            updated.first_name.as_str(),
            updated.last_name.as_str(),
            updated.about.as_str()
        ),
        ("\0x\0", "\0", "about\0\0")
    );
    assert_eq!(ok(store.user(a.id)), Some(updated));
    assert_eq!(ok(store.user_by_phone("15550000\0")), None);
    assert_eq!(ok(store.user_by_username("a\0")), None);
    ok(store.add_contact(a.id, b, "B\0", "\0"));
    assert_eq!(sorted_contacts(store, a.id), vec![b]);

    let text = "hello\0world\0";
    let sent = send(store, a.id, b, text, 1, 100);
    assert_eq!(
        (own(&sent).text.as_str(), copy(&sent).text.as_str()),
        (text, text)
    );
    let texts = |owner: i64, peer: i64| -> Vec<String> {
        ok(store.history(owner, peer, query(10)))
            .0
            .into_iter()
            .map(|m| m.text)
            .collect()
    };
    assert_eq!(
        texts(a.id, b),
        vec![text.to_owned()],
        "the sender's history"
    );
    assert_eq!(
        texts(b, a.id),
        vec![text.to_owned()],
        "the recipient's history"
    );
    assert_eq!(
        ok(store.messages(b, &[copy(&sent).id])),
        vec![copy(&sent)],
        "by id"
    );
    let (dialogs, _) = ok(store.dialogs(b, None, 10));
    assert_eq!(
        dialogs
            .iter()
            .map(|d| d.top_message.text.as_str())
            .collect::<Vec<_>>(),
        vec![text],
        "the dialog's top message"
    );
    let (_, logged) = ok(store.changes_since(b, 0, 10));
    assert_eq!(logged, vec![copy(&sent)], "the log's messages");
    let again = ok(store.send_message(a.id, b, text, 1, 100));
    assert!(again.duplicate);
    assert_eq!(again.own.message.map(|m| m.text), Some(text.to_owned()));

    let edited = "\0edited\0";
    let r = ok(store.edit_message(a.id, own(&sent).id, edited, 200));
    assert_eq!(r.len(), 2, "{r:?}");
    for c in &r {
        assert_eq!(
            c.message.as_ref().map(|m| m.text.as_str()),
            Some(edited),
            "the edit committed to {}",
            c.user_id
        );
    }
    assert_eq!(
        texts(a.id, b),
        vec![edited.to_owned()],
        "the sender's history after the edit"
    );
    assert_eq!(
        texts(b, a.id),
        vec![edited.to_owned()],
        "the recipient's history after the edit"
    );

    let channel = ok(store.create_channel(a.id, "T\0itle", "\0", true, false, 3, 100));
    assert_eq!(
        (channel.title.as_str(), channel.about.as_str()),
        ("T\0itle", "\0")
    );
    assert_eq!(
        ok(store.channel(channel.id)).map(|c| c.title),
        Some("T\0itle".to_owned())
    );
    let post = ok(store.post(channel.id, a.id, "p\0st", 1, 100, no_extras()));
    assert_eq!(post.message.text, "p\0st");
    let (posts, _) = ok(store.channel_history(channel.id, query(10)));
    assert_eq!(posts, vec![post.message]);

    let document = Document {
        id: 77,
        access_hash: 1,
        file_reference: vec![0, 1],
        content: "ab".into(),
        size: 2,
        mime_type: "text/\0plain".into(),
        file_name: "a\0.txt".into(),
        date: 100,
    };
    ok(store.insert_document(&document));
    assert_eq!(ok(store.document(77)), Some(document));

    let client = ClientInfo {
        api_id: 1,
        device_model: "\0PC".into(),
        system_version: "OS\0".into(),
        app_version: "1\0.0".into(),
    };
    ok(store.insert_auth_key(5, &[5u8; 256], 1));
    ok(store.set_key_client(5, 229, &client));
    assert_eq!(ok(store.auth_key(5)).map(|k| k.client), Some(client));

    let phone = device(b, "tok\0en", 150);
    ok(store.register_device(&phone));
    assert_eq!(ok(store.devices(b)), vec![phone]);
    assert!(
        ok(store.unregister_device(b, 2, "tok\0en")),
        "unregistered by its token"
    );
    assert_eq!(ok(store.devices(b)), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Devices and notification settings.

fn device(user_id: i64, token: &str, date: i32) -> Device {
    Device {
        user_id,
        key_id: 7,
        token_type: 2,
        token: token.into(),
        app_sandbox: false,
        no_muted: false,
        secret: vec![1, 2, 3],
        other_uids: vec![5, -6],
        date,
    }
}

/// Every field set (sounds of two kinds).
fn full_settings() -> NotifySettings {
    NotifySettings {
        show_previews: Some(false),
        silent: Some(true),
        mute_until: Some(i32::MAX),
        sound: Some(NotifySound::Local {
            title: "Bell \"1\"".into(),
            data: "bell.mp3".into(),
        }),
        stories_muted: Some(true),
        stories_hide_sender: Some(false),
        stories_sound: Some(NotifySound::Ringtone(-5)),
    }
}

fn tokens(store: &dyn Store, user: i64) -> Vec<String> {
    ok(store.devices(user))
        .into_iter()
        .map(|d| d.token)
        .collect()
}

/// Devices: kept per (user, token type, token) with every field, oldest first; registering
/// again replaces the row and makes it the newest; at most [`MAX_DEVICES_PER_USER`] per user
/// (the oldest go); unregistering says whether there was one.
pub fn devices(store: &dyn Store) {
    let [a, b] = new_users(store);
    assert!(ok(store.devices(a)).is_empty(), "a new user has no devices");
    ok(store.register_device(&device(a, "x", 10)));
    ok(store.register_device(&device(a, "y", 11)));
    ok(store.register_device(&device(b, "x", 12)));
    assert_eq!(
        ok(store.devices(a)),
        vec![device(a, "x", 10), device(a, "y", 11)],
        "every field kept, oldest first"
    );
    assert_eq!(ok(store.devices(b)), vec![device(b, "x", 12)]);
    let mut again = device(a, "x", 13);
    again.key_id = 8;
    again.app_sandbox = true;
    again.no_muted = true;
    again.secret = Vec::new();
    again.other_uids = Vec::new();
    ok(store.register_device(&again));
    assert_eq!(ok(store.devices(a)), vec![device(a, "y", 11), again]);
    let mut other_type = device(a, "x", 14);
    other_type.token_type = 1;
    ok(store.register_device(&other_type));
    assert_eq!(
        tokens(store, a),
        ["y", "x", "x"],
        "another token type is another device"
    );
    assert!(ok(store.unregister_device(a, 2, "x")));
    assert!(!ok(store.unregister_device(a, 2, "x")), "gone already");
    assert!(
        !ok(store.unregister_device(a, 2, "y-never")),
        "never registered"
    );
    assert_eq!(tokens(store, a), ["y", "x"]);
    assert_eq!(tokens(store, b), ["x"], "another user's device stays");

    for i in 0..MAX_DEVICES_PER_USER + 2 {
        ok(store.register_device(&device(b, &format!("t{i}"), 100 + i as i32)));
    }
    let list = tokens(store, b);
    assert_eq!(list.len(), MAX_DEVICES_PER_USER, "{list:?}");
    assert_eq!(
        list.first().map(String::as_str),
        Some("t2"),
        "the oldest went"
    );
    assert_eq!(
        list.last().cloned(),
        Some(format!("t{}", MAX_DEVICES_PER_USER + 1))
    );
}

/// Notification settings: unset is `None`; what is set comes back field for field (sounds
/// included); each (user, scope) is its own (a user id and a channel id that are equal, or a
/// peer and a default, do not mix); setting again replaces every field; settings with no field
/// set are forgotten.
pub fn notify_settings(store: &dyn Store) {
    let [a, b] = new_users(store);
    let scopes = [
        NotifyScope::User(b),
        NotifyScope::Chat(b),
        NotifyScope::Channel(b),
        NotifyScope::Users,
        NotifyScope::Chats,
        NotifyScope::Broadcasts,
    ];
    for scope in scopes {
        assert_eq!(ok(store.notify_settings(a, scope)), None, "{scope:?} unset");
    }
    let muted = NotifySettings {
        mute_until: Some(2_000_000_000),
        ..Default::default()
    };
    ok(store.set_notify_settings(a, NotifyScope::User(b), &full_settings()));
    ok(store.set_notify_settings(a, NotifyScope::Channel(b), &muted));
    ok(store.set_notify_settings(a, NotifyScope::Broadcasts, &muted));
    assert_eq!(
        ok(store.notify_settings(a, NotifyScope::User(b))),
        Some(full_settings())
    );
    assert_eq!(
        ok(store.notify_settings(a, NotifyScope::Channel(b))),
        Some(muted.clone())
    );
    assert_eq!(
        ok(store.notify_settings(a, NotifyScope::Broadcasts)),
        Some(muted.clone())
    );
    for scope in [NotifyScope::Chat(b), NotifyScope::Users, NotifyScope::Chats] {
        assert_eq!(ok(store.notify_settings(a, scope)), None, "{scope:?} unset");
    }
    for scope in scopes {
        assert_eq!(
            ok(store.notify_settings(b, scope)),
            None,
            "another user's {scope:?}"
        );
    }
    // Every sound kind round-trips.
    for sound in [
        NotifySound::Default,
        NotifySound::None,
        NotifySound::Ringtone(i64::MAX),
        NotifySound::Local {
            title: String::new(),
            data: "é\u{0}x".into(),
        },
    ] {
        let settings = NotifySettings {
            sound: Some(sound.clone()),
            stories_sound: Some(sound),
            ..Default::default()
        };
        ok(store.set_notify_settings(b, NotifyScope::Users, &settings));
        assert_eq!(
            ok(store.notify_settings(b, NotifyScope::Users)),
            Some(settings)
        );
    }
    // Replacing resets the fields left out.
    let silent = NotifySettings {
        silent: Some(true),
        ..Default::default()
    };
    ok(store.set_notify_settings(a, NotifyScope::User(b), &silent));
    assert_eq!(
        ok(store.notify_settings(a, NotifyScope::User(b))),
        Some(silent)
    );
    // Nothing set: forgotten.
    ok(store.set_notify_settings(a, NotifyScope::User(b), &NotifySettings::default()));
    assert_eq!(ok(store.notify_settings(a, NotifyScope::User(b))), None);
    ok(store.set_notify_settings(a, NotifyScope::Chats, &NotifySettings::default()));
    assert_eq!(ok(store.notify_settings(a, NotifyScope::Chats)), None);
    assert_eq!(
        ok(store.notify_settings(a, NotifyScope::Channel(b))),
        Some(muted),
        "the others stay"
    );
}

/// The push recipients of a channel: exactly its members with a device, by user id, each
/// with all their devices, their settings for that channel and for the default scope asked
/// for (not another channel's, not another default's); someone who left is not one.
pub fn channel_push_recipients(store: &dyn Store) {
    let [a, b, c, d, e] = new_users(store);
    let ch = ok(store.create_channel(a, "News", "", true, false, 1, 100)).id;
    let other = ok(store.create_channel(a, "Other", "", false, true, 2, 100)).id;
    for user in [b, c, d] {
        ok(store.add_member(ch, user, Role::Member, a, 110));
    }
    ok(store.add_member(other, e, Role::Member, a, 110));
    assert_eq!(
        ok(store.channel_push_recipients(ch, NotifyScope::Broadcasts)),
        vec![],
        "no devices yet"
    );
    ok(store.register_device(&device(a, "a1", 10)));
    ok(store.register_device(&device(b, "b1", 11)));
    ok(store.register_device(&device(b, "b2", 12)));
    ok(store.register_device(&device(c, "c1", 13)));
    ok(store.register_device(&device(e, "e1", 14)));
    // d is a member without a device, e has one and is not a member.
    let muted = NotifySettings {
        mute_until: Some(i32::MAX),
        ..Default::default()
    };
    let silent = NotifySettings {
        silent: Some(true),
        ..Default::default()
    };
    let hidden = NotifySettings {
        show_previews: Some(false),
        ..Default::default()
    };
    ok(store.set_notify_settings(b, NotifyScope::Channel(ch), &muted));
    ok(store.set_notify_settings(b, NotifyScope::Channel(other), &silent));
    ok(store.set_notify_settings(b, NotifyScope::User(ch), &silent));
    ok(store.set_notify_settings(c, NotifyScope::Broadcasts, &silent));
    ok(store.set_notify_settings(c, NotifyScope::Chats, &hidden));
    ok(store.set_notify_settings(e, NotifyScope::Channel(ch), &hidden));
    let expected = |b_devices: bool, default_of_c: Option<NotifySettings>| {
        let mut list = vec![PushRecipient {
            user_id: a,
            devices: vec![device(a, "a1", 10)],
            peer: None,
            default: None,
        }];
        if b_devices {
            list.push(PushRecipient {
                user_id: b,
                devices: vec![device(b, "b1", 11), device(b, "b2", 12)],
                peer: Some(muted.clone()),
                default: None,
            });
        }
        list.push(PushRecipient {
            user_id: c,
            devices: vec![device(c, "c1", 13)],
            peer: None,
            default: default_of_c,
        });
        list
    };
    assert_eq!(
        ok(store.channel_push_recipients(ch, NotifyScope::Broadcasts)),
        expected(true, Some(silent.clone()))
    );
    assert_eq!(
        ok(store.channel_push_recipients(ch, NotifyScope::Chats)),
        expected(true, Some(hidden.clone())),
        "the default asked for"
    );
    let list = ok(store.channel_push_recipients(ch, NotifyScope::Broadcasts));
    assert!(list[1].effective().muted_at(1_700_000_000));
    assert_eq!(list[2].effective(), silent);
    assert!(ok(store.remove_member(ch, b)));
    assert_eq!(
        ok(store.channel_push_recipients(ch, NotifyScope::Broadcasts)),
        expected(false, Some(silent)),
        "b left"
    );
    assert_eq!(
        ok(store.channel_push_recipients(other, NotifyScope::Chats)),
        vec![
            PushRecipient {
                user_id: a,
                devices: vec![device(a, "a1", 10)],
                peer: None,
                default: None,
            },
            PushRecipient {
                user_id: e,
                devices: vec![device(e, "e1", 14)],
                peer: None,
                default: None,
            }
        ]
    );
    assert_eq!(
        ok(store.channel_push_recipients(i64::MAX, NotifyScope::Chats)),
        vec![],
        "no such channel"
    );
}

// ---------------------------------------------------------------------------------------------
// Cloud passwords.

fn password(hint: &str, verifier_byte: u8) -> Password {
    Password {
        salt1: vec![1, 2, 3, 4, 5, 6, 7, 8, 0, 255],
        salt2: vec![0; 16],
        g: 3,
        p: vec![0xc7; 256],
        verifier: vec![verifier_byte; 256],
        hint: hint.to_owned(),
        locked_until: 0,
    }
}

fn srp_check(srp_id: i64, user_id: i64, expires_at: i64) -> SrpCheck {
    SrpCheck {
        srp_id,
        user_id,
        b: vec![srp_id as u8; 256],
        verifier: vec![7; 256],
        expires_at,
    }
}

/// Passwords: none until set; read back byte-exact (bytes 0 and 255 in the salts, a hint
/// with U+0000 and non-ASCII); replaced (the lock stays); locked; removed (again: no error);
/// one user's password is not another's; locking a user without a password stores nothing.
pub fn passwords(store: &dyn Store) {
    let [a, b] = new_users(store);
    assert_eq!(ok(store.password(a)), None);
    ok(store.set_password(a, None));
    ok(store.lock_password(a, 100));
    assert_eq!(
        ok(store.password(a)),
        None,
        "a lock alone is not a password"
    );
    let first = password("my \0 cät", 9);
    ok(store.set_password(a, Some(&first)));
    assert_eq!(ok(store.password(a)), Some(first.clone()));
    assert_eq!(ok(store.password(b)), None, "only a has one");
    ok(store.lock_password(a, 1_700_000_300));
    assert_eq!(
        ok(store.password(a)).map(|p| p.locked_until),
        Some(1_700_000_300)
    );
    let second = Password {
        locked_until: 5,
        ..password("", 10)
    };
    ok(store.set_password(a, Some(&second)));
    assert_eq!(
        ok(store.password(a)),
        Some(Password {
            locked_until: 1_700_000_300,
            ..second
        }),
        "replaced, with the stored lock kept"
    );
    ok(store.set_password(b, Some(&first)));
    ok(store.set_password(a, None));
    assert_eq!(ok(store.password(a)), None, "removed");
    ok(store.set_password(a, None));
    assert_eq!(ok(store.password(b)), Some(first), "b's is untouched");
}

/// SRP checks: each is taken once (then gone); taking an unknown one is `None`; an expired
/// one is still returned when taken (the caller decides) until a later put sweeps it; a user
/// keeps at most `MAX_SRP_CHECKS_PER_USER`, the ones expiring first forgotten, without
/// touching other users' checks.
pub fn srp_checks(store: &dyn Store) {
    let [a, b] = new_users(store);
    let now = 1_700_000_000;
    assert_eq!(ok(store.take_srp_check(1)), None);
    ok(store.put_srp_check(&srp_check(1, a, now + 600), now));
    ok(store.put_srp_check(&srp_check(2, a, now + 10), now));
    ok(store.put_srp_check(&srp_check(-3, b, now + 600), now));
    assert_eq!(
        ok(store.take_srp_check(1)),
        Some(srp_check(1, a, now + 600))
    );
    assert_eq!(ok(store.take_srp_check(1)), None, "taken once");
    assert_eq!(
        ok(store.take_srp_check(2)),
        Some(srp_check(2, a, now + 10)),
        "expired by the caller's clock, not swept yet"
    );
    ok(store.put_srp_check(&srp_check(4, a, now + 5), now));
    ok(store.put_srp_check(&srp_check(5, b, now + 700), now + 5));
    assert_eq!(
        ok(store.take_srp_check(4)),
        None,
        "swept: expired at the put"
    );
    let later = now + 10;
    let count = MAX_SRP_CHECKS_PER_USER as i64 + 3;
    for i in 0..count {
        ok(store.put_srp_check(&srp_check(100 + i, a, later + 600 + i), later));
    }
    let kept: Vec<i64> = (0..count)
        .filter(|i| ok(store.take_srp_check(100 + i)).is_some())
        .collect();
    assert_eq!(
        kept,
        (3..count).collect::<Vec<_>>(),
        "the newest MAX_SRP_CHECKS_PER_USER of a"
    );
    assert_eq!(
        ok(store.take_srp_check(-3)),
        Some(srp_check(-3, b, now + 600)),
        "b's checks are not a's"
    );
    assert_eq!(
        ok(store.take_srp_check(5)),
        Some(srp_check(5, b, now + 700))
    );
}

/// Sign-ins waiting for a password: none at first; put, read, replaced for the same key,
/// deleted; an expired one is returned until a later put sweeps it.
pub fn password_logins(store: &dyn Store) {
    let [a, b] = new_users(store);
    let now = 1_700_000_000;
    let login = |key_id, user_id, expires_at| PasswordLogin {
        key_id,
        user_id,
        expires_at,
    };
    assert_eq!(ok(store.password_login(42)), None);
    ok(store.put_password_login(&login(42, a, now + 10), now));
    ok(store.put_password_login(&login(-43, b, now + 900), now));
    assert_eq!(ok(store.password_login(42)), Some(login(42, a, now + 10)));
    ok(store.put_password_login(&login(42, b, now + 20), now));
    assert_eq!(
        ok(store.password_login(42)),
        Some(login(42, b, now + 20)),
        "replaced"
    );
    ok(store.delete_password_login(42));
    assert_eq!(ok(store.password_login(42)), None);
    ok(store.delete_password_login(42));
    ok(store.put_password_login(&login(44, a, now + 30), now));
    assert_eq!(
        ok(store.password_login(44)),
        Some(login(44, a, now + 30)),
        "expired by the caller's clock, not swept yet"
    );
    ok(store.put_password_login(&login(45, a, now + 900), now + 30));
    assert_eq!(ok(store.password_login(44)), None, "swept");
    assert_eq!(
        ok(store.password_login(-43)),
        Some(login(-43, b, now + 900))
    );
}

// ---------------------------------------------------------------------------------------------
// Durability.

/// Everything written survives closing and opening the store again (devices, notification
/// settings, passwords, SRP checks and sign-ins waiting for a password included); counters
/// (message ids, pts, user ids) and idempotency continue. `open` must return a store over the
/// same database each time, empty the first time; the first store is dropped before the second
/// is opened.
pub fn reopen(open: &dyn Fn() -> Box<dyn Store>) {
    let store = open();
    let [a, b] = new_users(&*store);
    ok(store.insert_auth_key(42, &[9u8; 256], 1_700_000_000));
    ok(store.set_key_user(42, Some(a)));
    let client = ClientInfo {
        api_id: 4,
        device_model: "box".into(),
        system_version: "os".into(),
        app_version: "9".into(),
    };
    ok(store.set_key_client(42, 229, &client));
    let code = LoginCode {
        phone: "15559999".into(),
        hash: "h".into(),
        code: "11111".into(),
        expires_at: 5_000,
        attempts: 0,
        verified: false,
    };
    ok(store.put_login_code(&code));
    ok(store.bump_login_attempts("15559999"));
    ok(store.set_username(a, Some("ann")));
    ok(store.update_profile(a, Some("Ann"), Some("Lee"), Some("about")));
    ok(store.add_contact(a, b, "Bob", ""));
    let first = send(&*store, a, b, "one", 1, 100);
    send(&*store, b, a, "two", 2, 110);
    ok(store.read_history(b, a, 0, 120));
    ok(store.edit_message(a, 1, "one edited", 130));
    ok(store.delete_messages(b, &[2], false, 140));
    ok(store.register_device(&device(b, "tok", 150)));
    ok(store.set_notify_settings(b, NotifyScope::User(a), &full_settings()));
    ok(store.set_password(a, Some(&password("hint", 4))));
    ok(store.put_srp_check(&srp_check(77, a, 1_700_000_600), 1_700_000_000));
    let waiting = PasswordLogin {
        key_id: 42,
        user_id: a,
        expires_at: 1_700_000_600,
    };
    ok(store.put_password_login(&waiting, 1_700_000_000));

    let snapshot = |store: &dyn Store| {
        (
            (
                ok(store.devices(b)),
                ok(store.notify_settings(b, NotifyScope::User(a))),
            ),
            key_rows(store),
            ok(store.login_code("15559999")),
            [ok(store.user(a)), ok(store.user(b))],
            ok(store.user_by_username("ANN")),
            sorted_contacts(store, a),
            [
                ok(store.history(a, b, query(100))),
                ok(store.history(b, a, query(100))),
            ],
            [
                ok(store.dialogs(a, None, 100)),
                ok(store.dialogs(b, None, 100)),
            ],
            [ok(store.pts(a)), ok(store.pts(b))],
            [
                ok(store.changes_since(a, 0, 100)),
                ok(store.changes_since(b, 0, 100)),
            ],
        )
    };
    let before = snapshot(&*store);
    assert_eq!(before.0.0, vec![device(b, "tok", 150)]);
    assert_eq!(before.0.1, Some(full_settings()));
    assert_eq!(before.2.as_ref().map(|c| c.attempts), Some(1));
    assert_eq!(before.6[0].1, 2);
    drop(store);

    let store = open();
    assert_eq!(
        snapshot(&*store),
        before,
        "everything is there after reopening"
    );
    assert_eq!(ok(store.password(a)), Some(password("hint", 4)));
    assert_eq!(
        ok(store.take_srp_check(77)),
        Some(srp_check(77, a, 1_700_000_600))
    );
    assert_eq!(ok(store.password_login(42)), Some(waiting));
    let [pa, pb] = before.8;
    let again = ok(store.send_message(a, b, "one", 1, 100));
    assert!(again.duplicate, "idempotency survives reopening");
    assert_eq!(again.own.entry, first.own.entry);
    let third = send(&*store, a, b, "three", 3, 150);
    assert_eq!(
        (own(&third).id, copy(&third).id),
        (3, 3),
        "ids continue (B's 2 was deleted, not reused)"
    );
    assert_eq!(
        (third.own.entry.pts, third.peer.expect("copy").entry.pts),
        (pa + 1, pb + 1),
        "pts continue"
    );
    let next = ok(store.create_user("15550100", "Cid", "", 1));
    assert!(next.id > b, "user ids continue: {} after {b}", next.id);
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// Pts under concurrent writers: `threads` threads, spread round-robin over `nodes` (separate
/// store instances over one database, as several server nodes are; an embedded store passes
/// the same instance more than once), each write `per_thread` messages that land in one
/// user's box (alternately from that user and to it, so two boxes are written in both
/// orders) and as many posts into one channel. Then that box's pts and the channel's pts are
/// exactly `1..=threads * per_thread` past where they started, each taken once, its log holds
/// each once in order, the message ids of the box are `1..=threads * per_thread`, and each
/// other box took exactly its own share. The store must be empty when given.
pub fn concurrent_pts(nodes: &[&dyn Store], threads: usize, per_thread: usize) {
    assert!(!nodes.is_empty(), "at least one store");
    let first = nodes[0];
    let owner = ok(first.create_user("15551000000", "Box", "", 1)).id;
    let others: Vec<i64> = (0..threads)
        .map(|t| ok(first.create_user(&format!("1555200{t:04}"), &format!("T{t}"), "", 2)).id)
        .collect();
    let channel = ok(first.create_channel(owner, "Busy", "", false, true, 3, 100)).id;
    let base = ok(first.pts(owner));
    let channel_base = ok(first.channel(channel)).map_or(0, |c| c.pts);
    let total = threads * per_thread;

    let results: Vec<(Vec<i32>, Vec<i32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let node = nodes[t % nodes.len()];
                let other = others[t];
                scope.spawn(move || {
                    let (mut box_pts, mut channel_pts) = (Vec::new(), Vec::new());
                    for j in 0..per_thread {
                        let random_id = (t * per_thread + j) as i64 + 1;
                        let date = 1000 + j as i32;
                        let sent = if (t + j) % 2 == 0 {
                            let s = ok(node.send_message(other, owner, "in", random_id, date));
                            s.peer.expect("the box's copy").entry
                        } else {
                            ok(node.send_message(owner, other, "out", random_id, date))
                                .own
                                .entry
                        };
                        assert_eq!(sent.pts_count, 1);
                        box_pts.push(sent.pts);
                        let posted =
                            ok(node.post(channel, other, "post", random_id, date, no_extras()));
                        assert!(!posted.duplicate, "a new post reported as duplicate");
                        channel_pts.push(posted.entry.pts);
                    }
                    (box_pts, channel_pts)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });

    let expected: Vec<i32> = (1..=total as i32).collect();
    let mut box_pts: Vec<i32> = results
        .iter()
        .flat_map(|r| r.0.iter().map(|p| p - base))
        .collect();
    box_pts.sort_unstable();
    assert_eq!(box_pts, expected, "the box's pts: each once, no gap");
    let mut channel_pts: Vec<i32> = results
        .iter()
        .flat_map(|r| r.1.iter().map(|p| p - channel_base))
        .collect();
    channel_pts.sort_unstable();
    assert_eq!(
        channel_pts, expected,
        "the channel's pts: each once, no gap"
    );
    for (i, r) in results.iter().enumerate() {
        assert!(r.0.windows(2).all(|w| w[0] < w[1]), "thread {i}: pts go up");
    }

    for node in nodes {
        assert_eq!(
            ok(node.pts(owner)),
            base + total as i32,
            "every node agrees"
        );
    }
    let (entries, messages) = ok(first.changes_since(owner, base, total + 10));
    assert_eq!(
        entries.iter().map(|e| e.pts - base).collect::<Vec<_>>(),
        expected,
        "the log, in pts order"
    );
    assert!(entries.iter().all(|e| e.pts_count == 1));
    let mut ids: Vec<i32> = messages.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, expected, "the box's message ids");
    for other in others {
        assert_eq!(
            ok(first.pts(other)),
            per_thread as i32,
            "user {other}'s own box"
        );
    }
    let (posts, count) = ok(first.channel_history(channel, query(100)));
    assert_eq!(count, total as i32);
    assert_eq!(posts.first().map(|p| p.id), Some(total as i32));
}

/// Expands to one `#[test]` per check of [`CHECKS`](crate::conformance::CHECKS), each on a new
/// empty store from `$make` (any expression that can be called with no arguments and returns
/// a `Box<dyn Store>`), and one test that fails if a check of `CHECKS` is missing here.
///
/// ```ignore
/// mod conformance {
///     server_kit_store::store_conformance_tests!(|| -> Box<dyn server_kit_store::Store> {
///         Box::new(my_store::MyStore::in_memory().unwrap())
///     });
/// }
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::__store_conformance_tests!(
            $make;
            auth_keys,
            auth_key_by_id,
            users_by_ids,
            login_codes,
            users,
            usernames,
            update_profile,
            bots,
            contacts,
            last_seen_and_watchers,
            delete_contacts,
            block_unblock,
            blocked_paging,
            search_users,
            search_users_unicode,
            send_message,
            send_message_idempotent,
            send_message_to_self,
            send_message_unknown_user,
            replies_and_forwards,
            pins,
            channel_replies_and_forwards,
            history_order_and_limit,
            history_offset_id,
            history_add_offset,
            history_min_max_id,
            history_offset_date,
            history_paging_same_second,
            dialogs,
            dialogs_paging_same_second,
            read_history,
            edit_message,
            delete_messages,
            delete_messages_revoke,
            changes_since,
            nul_bytes,
            devices,
            notify_settings,
            channel_push_recipients,
            passwords,
            srp_checks,
            password_logins,
            search_words,
            search_isolation,
            search_from_and_filters,
            search_paging,
            search_edits_and_deletes,
            search_channel,
            search_odd_text,
            chat_create_and_send,
            chat_replies,
            chat_member_changes,
            chat_edit_and_delete,
            chat_read_history,
            chat_pins,
            drafts,
            profile_photos,
            status_visibility,
            reactions_private,
            reactions_single_copy,
            reactions_channel,
            reactions_isolation,
            scheduled_keep_and_list,
            scheduled_claims,
            pinned_dialogs,
            channel_pins,
            secret_chat_lifecycle,
            qts_queue,
            secret_device_end,
            rich_messages,
            callback_queries,
            bot_commands
        );
    };
}

/// The expansion of [`store_conformance_tests!`]; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_tests {
    ($make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let store: Box<dyn $crate::Store> = ($make)();
                $crate::conformance::$check(&*store);
            }
        )*

        #[test]
        fn every_conformance_check_runs() {
            let here = [$(stringify!($check)),*];
            let all: Vec<&str> = $crate::conformance::CHECKS.iter().map(|(name, _)| *name).collect();
            assert_eq!(all, here);
        }
    };
}
