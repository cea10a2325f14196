//! The PostgreSQL store against a real PostgreSQL: the store conformance suite (one test per
//! check), durability across reopening, pts under two nodes writing at once,
//! migrations, channels, errors that are values, not panics, and TLS (`sslmode`,
//! `sslrootcert`).
//!
//! The server is given by `TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:54329/postgres`,
//! what `bash .ci/postgres.sh start` prints), and the CA of its TLS certificate by
//! `TEST_POSTGRES_CA` (what `bash .ci/postgres.sh ca` prints; the TLS tests also use the
//! password user that script makes). Without them these tests fail: a silent skip would not
//! check anything (so this crate is not among the workspace's default members; `.ci/run`
//! runs it with a PostgreSQL started). Each test
//! works in schemas of its own, named after the process and the clock and dropped at the end,
//! so runs never see each other's data and reruns start clean.

use server_kit_postgres::{
    CertificateProblem, MIGRATIONS as POSTGRES_MIGRATIONS, PgOptions, PgSslMode, PgStore,
    PgTlsError,
};
use server_kit_store::channels::Role;
use server_kit_store::{ChannelStore, Db, HistoryQuery, Store, StoreError, conformance};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TEST_POSTGRES_URL is not set: the `postgres` feature's tests need a PostgreSQL. \
             Start one with `bash .ci/postgres.sh start` and run with \
             TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:54329/postgres"
        ),
    }
}

/// Schemas made by this process, dropped when the guard goes.
struct Schemas {
    names: Mutex<Vec<String>>,
}

impl Schemas {
    fn new() -> Self {
        Schemas {
            names: Mutex::new(Vec::new()),
        }
    }

    /// A schema name no other run or test uses.
    fn fresh(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "sk_test_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.names.lock().expect("names").push(name.clone());
        name
    }

    fn open(&self, schema: &str) -> PgStore {
        PgStore::open_with(&url(), PgOptions::default().schema(schema).pool_size(4))
            .unwrap_or_else(|e| panic!("open PostgreSQL at TEST_POSTGRES_URL={}: {e}", url()))
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        let names = std::mem::take(&mut *self.names.lock().unwrap_or_else(|e| e.into_inner()));
        if names.is_empty() {
            return;
        }
        // Not url(): this runs while a failed test unwinds, where a second panic aborts.
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
            return;
        };
        if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
            for name in names {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"));
            }
        }
    }
}

/// A store in a new schema for one check of the conformance suite. A static is never
/// dropped, so these schemas (one per check) stay in the database: the throwaway server of
/// `.ci/postgres.sh` is made anew for every run.
fn fresh_store() -> Box<dyn Store> {
    static SCHEMAS: std::sync::OnceLock<Schemas> = std::sync::OnceLock::new();
    let schemas = SCHEMAS.get_or_init(Schemas::new);
    Box::new(schemas.open(&schemas.fresh()))
}

mod checks {
    server_kit_store::store_conformance_tests!(super::fresh_store);
}

#[test]
fn conformance_reopen() {
    let schemas = Schemas::new();
    let schema = schemas.fresh();
    conformance::reopen(&|| Box::new(schemas.open(&schema)));
}

/// Two store instances (two pools, as two server nodes) over one schema, 8 threads × 50
/// messages into one box and as many posts into one channel: pts exactly 1..=400 on both.
#[test]
fn concurrent_pts_on_two_nodes() {
    let schemas = Schemas::new();
    let schema = schemas.fresh();
    let (node1, node2) = (schemas.open(&schema), schemas.open(&schema));
    let started = std::time::Instant::now();
    conformance::concurrent_pts(&[&node1, &node2], 8, 50);
    eprintln!(
        "concurrent_pts: 8 threads x 50 (a message and a post each) on two nodes in {:?}",
        started.elapsed()
    );
}

/// Migrations: applied once, recorded, a second open (or a second node) applies nothing,
/// and a database from a newer server is refused with a clear error.
#[test]
fn migrations_are_versioned_and_idempotent() {
    let schemas = Schemas::new();
    let schema = schemas.fresh();
    let latest = POSTGRES_MIGRATIONS.last().expect("a migration").0;
    let first = schemas.open(&schema);
    assert_eq!(first.schema_version().expect("version"), latest);
    let user = first.create_user("1555", "A", "", 1).expect("user");
    // Opened again, and by two nodes at once: nothing re-applied, data kept.
    std::thread::scope(|s| {
        let a = s.spawn(|| schemas.open(&schema));
        let b = s.spawn(|| schemas.open(&schema));
        for store in [a.join().expect("open"), b.join().expect("open")] {
            assert_eq!(store.schema_version().expect("version"), latest);
            assert_eq!(store.user(user.id).expect("user"), Some(user.clone()));
        }
    });
    let mut client = postgres::Client::connect(&url(), postgres::NoTls).expect("connect");
    let rows: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".schema_version"),
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(rows, POSTGRES_MIGRATIONS.len() as i64);
    client
        .execute(
            &format!("INSERT INTO \"{schema}\".schema_version(version) VALUES ($1)"),
            &[&(latest + 1)],
        )
        .expect("a newer version");
    match PgStore::open_with(&url(), PgOptions::default().schema(&schema)) {
        Err(StoreError::Database(message)) => {
            assert!(message.contains("newer"), "{message}")
        }
        other => panic!("a newer schema must be refused, got {other:?}"),
    }
}

/// Migration 2 (strings as UTF-8 `bytea`) keeps what a database at version 1 holds: names,
/// texts, titles, client info and tokens, non-ASCII included, read back unchanged.
#[test]
fn migration_2_keeps_strings() {
    let schemas = Schemas::new();
    let schema = schemas.fresh();
    let mut client = postgres::Client::connect(&url(), postgres::NoTls).expect("connect");
    let (version, v1) = POSTGRES_MIGRATIONS[0];
    assert_eq!(version, 1);
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\";
             CREATE TABLE schema_version(
                 version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             {v1}
             INSERT INTO schema_version(version) VALUES (1);
             INSERT INTO users(id, access_hash, phone, first_name, last_name, about, pts,
                               next_msg_id)
                 VALUES (99, 1, '1555', 'Zoë', 'Ñ', 'über', 1, 2);
             INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id)
                 VALUES (99, 1, 99, true, 99, 'héllo ✓', 10, 1);
             INSERT INTO dialogs(owner, peer, top_message, top_date)
                 VALUES (99, 99, 1, 10);
             INSERT INTO changes(owner, pts, pts_count, date, kind, peer, value, ids)
                 VALUES (99, 1, 1, 10, 1, 0, 1, '{{}}');
             INSERT INTO auth_keys(id, key, created, device_model) VALUES (9, '\\x00', 1, 'Pixel 9');
             INSERT INTO channels(access_hash, title, about, broadcast, megagroup, creator, date)
                 VALUES (1, 'Café', '', true, false, 99, 10);"
        ))
        .expect("a database at version 1");
    let store = schemas.open(&schema);
    assert_eq!(
        store.schema_version().expect("version"),
        POSTGRES_MIGRATIONS.last().expect("a migration").0
    );
    let user = store.user(99).expect("user").expect("the user");
    assert_eq!(
        (
            user.first_name.as_str(),
            user.last_name.as_str(),
            user.about.as_str()
        ),
        ("Zoë", "Ñ", "über")
    );
    let query = HistoryQuery {
        limit: 10,
        ..Default::default()
    };
    let (history, _) = store.history(99, 99, query).expect("history");
    assert_eq!(history[0].text, "héllo ✓");
    let key = store.auth_key(9).expect("key").expect("the key");
    assert_eq!(key.client.device_model, "Pixel 9");
    assert_eq!(key.client.app_version, "", "the default");
    assert_eq!(
        store.channel(1_000_000).expect("channel").map(|c| c.title),
        Some("Café".to_owned())
    );
    // Defaults still work for rows written after the migration.
    let b = store.create_user("1556", "B\0", "", 2).expect("user");
    assert_eq!(
        store.user(b.id).expect("user").map(|u| u.about),
        Some(String::new())
    );
    store.insert_auth_key(10, &[1u8; 256], 2).expect("key");
    assert_eq!(
        store.auth_key(10).expect("key").map(|k| k.client),
        Some(Default::default())
    );
}

/// Channels: one row and one log entry per post, ids and pts per channel, idempotent posts,
/// deletions, membership, usernames (as the SQLite store's unit test).
#[test]
fn channels() {
    let schemas = Schemas::new();
    let s = schemas.open(&schemas.fresh());
    let a = s.create_user("1", "A", "", 1).unwrap().id;
    let b = s.create_user("2", "B", "", 2).unwrap().id;
    let ch = s
        .create_channel(a, "News", "", true, false, 7, 100)
        .unwrap();
    assert_eq!(ch.id, 1_000_000);
    assert_eq!(ch.members, 1);
    assert_eq!(s.member(ch.id, a).unwrap().unwrap().role, Role::Creator);
    assert!(s.add_member(ch.id, b, Role::Member, b, 101).unwrap());
    assert!(!s.add_member(ch.id, b, Role::Member, b, 101).unwrap());
    assert!(s.add_member(ch.id, b, Role::Admin, a, 101).unwrap());
    assert_eq!(s.members(ch.id, 0, 10).unwrap().1, 2);
    let p1 = s.post(ch.id, a, "one", 1, 102, Default::default()).unwrap();
    let p2 = s.post(ch.id, a, "two", 2, 103, Default::default()).unwrap();
    assert_eq!((p1.message.id, p1.entry.pts), (1, 1));
    assert_eq!((p2.message.id, p2.entry.pts), (2, 2));
    let again = s.post(ch.id, a, "two", 2, 104, Default::default()).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.entry, p2.entry);
    let q = HistoryQuery {
        limit: 10,
        ..Default::default()
    };
    let (history, count) = s.channel_history(ch.id, q).unwrap();
    assert_eq!(count, 2);
    assert_eq!(history.iter().map(|m| m.id).collect::<Vec<_>>(), [2, 1]);
    let newer = HistoryQuery {
        offset_id: 1,
        add_offset: -2,
        limit: 2,
        ..Default::default()
    };
    assert_eq!(
        s.channel_history(ch.id, newer)
            .unwrap()
            .0
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        [2, 1]
    );
    let (changes, posts) = s.channel_changes_since(ch.id, 1, 10).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(posts[0].text, "two");
    let deleted = s
        .delete_channel_messages(ch.id, &[1, 1, 9], 105)
        .unwrap()
        .unwrap();
    assert_eq!((deleted.pts, deleted.pts_count), (3, 1));
    assert_eq!(s.delete_channel_messages(ch.id, &[9], 106).unwrap(), None);
    s.read_channel(ch.id, b, 2).unwrap();
    s.read_channel(ch.id, b, 1).unwrap();
    assert_eq!(s.member(ch.id, b).unwrap().unwrap().read_max_id, 2);
    let mut ids = s.member_ids(ch.id).unwrap();
    ids.sort_unstable();
    assert_eq!(ids, [a, b]);
    let of_b = s.channels_of(b).unwrap();
    assert_eq!(of_b.len(), 1);
    assert_eq!(
        (of_b[0].0.id, of_b[0].0.members, of_b[0].1.role),
        (ch.id, 2, Role::Admin)
    );
    assert!(s.remove_member(ch.id, b).unwrap());
    assert!(!s.remove_member(ch.id, b).unwrap());
    assert!(s.channels_of(b).unwrap().is_empty());
    s.set_channel_username(ch.id, Some("news_ch")).unwrap();
    assert_eq!(s.channel_by_username("NEWS_CH").unwrap().unwrap().id, ch.id);
    let other = s
        .create_channel(b, "Other", "", true, false, 8, 100)
        .unwrap();
    assert!(matches!(
        s.set_channel_username(other.id, Some("News_Ch")),
        Err(StoreError::Taken { .. })
    ));
    assert!(matches!(
        s.set_channel_username(42, Some("x")),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.post(42, a, "x", 1, 1, Default::default()),
        Err(StoreError::NotFound { .. })
    ));
}

/// What PostgreSQL rejects comes back as an error value: a username with a NUL byte (a
/// `text` column; message texts and names are `bytea` and keep NUL, see the conformance
/// check `nul_bytes`), an address that does not parse, a server that is not there.
#[test]
fn failures_are_errors_not_panics() {
    let schemas = Schemas::new();
    let s = schemas.open(&schemas.fresh());
    let a = s.create_user("1", "A", "", 1).unwrap().id;
    match s.set_username(a, Some("nul\0byte")) {
        Err(StoreError::Database(message)) => eprintln!("NUL in a username: {message}"),
        other => panic!("expected a database error, got {other:?}"),
    }
    assert_eq!(
        s.user(a).unwrap().and_then(|u| u.username),
        None,
        "nothing written"
    );
    let sent = s
        .send_message(a, a, "nul \0 byte", 1, 1)
        .expect("NUL in a text is kept");
    assert_eq!(
        sent.own.message.map(|m| m.text).as_deref(),
        Some("nul \0 byte")
    );
    assert!(matches!(
        PgStore::open("not a url at all ==="),
        Err(StoreError::Database(_))
    ));
    assert!(matches!(
        PgStore::open("postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2"),
        Err(StoreError::Database(_))
    ));
}

/// The store as the server uses it: calls through [`Db::run`] on tokio's blocking pool, and
/// its last handle dropped inside async code.
#[test]
fn runs_on_the_blocking_pool() {
    let schemas = Schemas::new();
    let schema = schemas.fresh();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = url();
        let store = tokio::task::spawn_blocking(move || {
            PgStore::open_with(&url, PgOptions::default().schema(schema).pool_size(2))
        })
        .await
        .expect("join")
        .expect("open");
        let db: Db<dyn Store> = Db(std::sync::Arc::new(store));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.run(move |s| s.create_user(&format!("1555{i}"), "N", "", i))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("join").expect("create_user");
        }
        let a = db.run(|s| s.user_by_phone("15550")).await.expect("read");
        assert!(a.is_some());
        // Called from async code directly (as a synchronous setup step may): no panic.
        assert_eq!(db.0.user_by_phone("15550").expect("direct read"), a);
        drop(db);
    });
    // The same on a current-thread runtime, the store opened and dropped inside it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = schemas.open(&schemas.fresh());
        let user = store.create_user("1555", "C", "", 3).expect("create_user");
        assert_eq!(store.user(user.id).expect("read"), Some(user));
        drop(store);
    });
}

// ---------------------------------------------------------------------------------------------
// TLS.

/// The CA that signed the test server's certificate (for 127.0.0.1 and localhost).
fn ca() -> String {
    match std::env::var("TEST_POSTGRES_CA") {
        Ok(path) if !path.is_empty() => path,
        _ => panic!(
            "TEST_POSTGRES_CA is not set: the TLS tests need the CA of the server's certificate. \
             `bash .ci/postgres.sh start` makes one; run with \
             TEST_POSTGRES_CA=$(bash .ci/postgres.sh ca)"
        ),
    }
}

/// The test server's port, user and database (from `TEST_POSTGRES_URL`) with `extra`, in the
/// key=value form, its host given as `host` and reached at 127.0.0.1 (`hostaddr`), so that
/// the name the certificate is checked against can differ from where the server is.
fn key_value(host: &str, extra: &str) -> String {
    let config: postgres::Config = url().parse().expect("TEST_POSTGRES_URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let dbname = config.get_dbname().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| {
            format!(
                " password='{}'",
                String::from_utf8_lossy(p).replace('\'', "\\'")
            )
        })
        .unwrap_or_default();
    format!(
        "host={host} hostaddr=127.0.0.1 port={port} user={user} dbname={dbname}{password} {extra}"
    )
}

/// `TEST_POSTGRES_URL` with more query parameters.
fn url_with(params: &str) -> String {
    let url = url();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

/// A name for the store's connections, to find them in `pg_stat_activity`.
fn application_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "sk_tls_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether the store's open connections (by their application name) are encrypted, by the
/// server's own account: `Some(true)` if all are, `None` if there are none.
fn encrypted(application_name: &str) -> Option<bool> {
    let mut client = postgres::Client::connect(&url(), postgres::NoTls).expect("connect");
    let row = client
        .query_one(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&application_name],
        )
        .expect("pg_stat_ssl");
    let count: i64 = row.get(0);
    (count > 0).then(|| row.get(1))
}

/// Opens a store on its own schema; on success, writes and reads through it.
/// Why a store did not open: TLS (the PostgreSQL store's own error, found inside
/// [`StoreError::Backend`]) or anything else.
#[derive(Debug)]
enum OpenFailed {
    Tls(PgTlsError),
    Store(StoreError),
}

impl std::fmt::Display for OpenFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenFailed::Tls(e) => write!(f, "TLS: {e}"),
            OpenFailed::Store(e) => write!(f, "{e}"),
        }
    }
}

fn open_tls(schemas: &Schemas, url: &str) -> Result<PgStore, OpenFailed> {
    let store = PgStore::open_with(
        url,
        PgOptions::default().schema(schemas.fresh()).pool_size(2),
    )
    .map_err(|e| match e {
        StoreError::Backend(b) => match b.downcast::<PgTlsError>() {
            Ok(tls) => OpenFailed::Tls(*tls),
            Err(other) => OpenFailed::Store(StoreError::Backend(other)),
        },
        other => OpenFailed::Store(other),
    })?;
    let user = store.create_user("1555", "T", "", 1).expect("create_user");
    assert_eq!(store.user(user.id).expect("read"), Some(user));
    Ok(store)
}

/// A CA certificate that signed nothing the server has.
const UNRELATED_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBvTCCAWOgAwIBAgIUcgPmJfvG25N982sVbgMjuWaE7X8wCgYIKoZIzj0EAwIw
KzEpMCcGA1UEAwwgc2VydmVyLWtpdCB0ZXN0OiBhbiB1bnJlbGF0ZWQgQ0EwIBcN
MjYxMTIyMDI0NDAyWhgPMjEyNjEwMjkwMjQ0MDJaMCsxKTAnBgNVBAMMIHNlcnZl
ci1raXQgdGVzdDogYW4gdW5yZWxhdGVkIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEsaX5XPQbfoUJ6kq2mJf9ON/wVUd0Ge7E+mt7bx7R/VGTdSF9r2/e/cYc
d6oAQeFJqrkNSN7ZrwcgjJZEH8Ao2qNjMGEwHQYDVR0OBBYEFJn+1K5GMPl5XukN
Otv0KcDv/3FmMB8GA1UdIwQYMBaAFJn+1K5GMPl5XukNOtv0KcDv/3FmMA8GA1Ud
EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0gAMEUCIB2s
jPasaFlP4ZteHhvSDUD51a/qV7iRB+WyWFxYCR5sAiEAjPJsmSY43n6iH1vSRyKH
2RBW+ZVR9Z8nhxzIm8kbHtI=
-----END CERTIFICATE-----
";

/// `verify-full` with the server's CA: the store works, over TLS (the server says so in
/// `pg_stat_ssl`), for the address (URL form) and for the DNS name (key=value form) the
/// certificate is made for.
#[test]
fn tls_verify_full() {
    let schemas = Schemas::new();
    let name = application_name();
    let store = open_tls(
        &schemas,
        &url_with(&format!(
            "sslmode=verify-full&sslrootcert={}&application_name={name}",
            ca()
        )),
    )
    .unwrap_or_else(|e| panic!("verify-full with TEST_POSTGRES_CA={}: {e}", ca()));
    assert_eq!(
        encrypted(&name),
        Some(true),
        "the store's connections use TLS"
    );
    drop(store);

    let name = application_name();
    let store = open_tls(
        &schemas,
        &key_value(
            "localhost",
            &format!(
                "sslmode=verify-full sslrootcert='{}' application_name={name}",
                ca()
            ),
        ),
    )
    .unwrap_or_else(|e| panic!("verify-full for localhost: {e}"));
    assert_eq!(encrypted(&name), Some(true));
    drop(store);
}

/// `verify-full` for a name the certificate is not made for is refused, and says why;
/// `verify-ca` takes the same server (the chain is good, the name is not its business).
#[test]
fn tls_verify_full_refuses_another_name() {
    let schemas = Schemas::new();
    let url = key_value(
        "db.invalid",
        &format!("sslmode=verify-full sslrootcert='{}'", ca()),
    );
    match open_tls(&schemas, &url) {
        Err(OpenFailed::Tls(PgTlsError::CertificateRejected {
            host,
            mode: PgSslMode::VerifyFull,
            problem: CertificateProblem::WrongName,
            ..
        })) => assert_eq!(host, "db.invalid"),
        other => panic!("verify-full for db.invalid must be refused, got {other:?}"),
    }
    let name = application_name();
    let url = key_value(
        "db.invalid",
        &format!(
            "sslmode=verify-ca sslrootcert='{}' application_name={name}",
            ca()
        ),
    );
    let store = open_tls(&schemas, &url).unwrap_or_else(|e| panic!("verify-ca: {e}"));
    assert_eq!(encrypted(&name), Some(true));
    drop(store);
}

/// A CA that did not sign the server's certificate: refused under `verify-ca` and
/// `verify-full` (and under `require`, which checks the chain when given a CA, as libpq).
#[test]
fn tls_another_ca_is_refused() {
    let schemas = Schemas::new();
    let other = std::env::temp_dir().join(format!("sk-unrelated-ca-{}.pem", std::process::id()));
    std::fs::write(&other, UNRELATED_CA).expect("write the CA");
    for mode in ["verify-ca", "verify-full", "require"] {
        let url = url_with(&format!("sslmode={mode}&sslrootcert={}", other.display()));
        match open_tls(&schemas, &url) {
            Err(OpenFailed::Tls(PgTlsError::CertificateRejected {
                problem: CertificateProblem::UnknownIssuer,
                ..
            })) => {}
            other => panic!("sslmode={mode} with another CA must be refused, got {other:?}"),
        }
    }
    let _ = std::fs::remove_file(&other);
}

/// `require` without a CA: encrypted, the certificate not checked (libpq's meaning); `prefer`
/// (the default) takes TLS when the server offers it; `disable` does not.
#[test]
fn tls_require_prefer_disable() {
    let schemas = Schemas::new();
    for (mode, tls) in [
        ("sslmode=require&", true),
        ("sslmode=prefer&", true),
        ("", true),
        ("sslmode=disable&", false),
    ] {
        let name = application_name();
        let store = open_tls(
            &schemas,
            &url_with(&format!("{mode}application_name={name}")),
        )
        .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(encrypted(&name), Some(tls), "{mode}");
        drop(store);
    }
}

/// A password user that must authenticate with SCRAM over TLS: with `channel_binding=require`
/// the client must bind the exchange to the server's certificate (SCRAM-SHA-256-PLUS), which
/// fails unless the store's TLS offers it.
#[test]
fn tls_scram_channel_binding() {
    let schemas = Schemas::new();
    let config: postgres::Config = url().parse().expect("TEST_POSTGRES_URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    for tls in [
        format!("sslmode=verify-full sslrootcert='{}'", ca()),
        "sslmode=require".to_owned(),
    ] {
        let url = format!(
            "host=127.0.0.1 port={port} user=sk_tls_scram password=sk_tls_scram \
             dbname=postgres channel_binding=require {tls}"
        );
        let store = open_tls(&schemas, &url).unwrap_or_else(|e| {
            panic!(
                "{tls}: SCRAM with channel binding as sk_tls_scram (made by \
                 `bash .ci/postgres.sh start`): {e}"
            )
        });
        drop(store);
    }
}

/// Settings that cannot work are typed errors at open: a missing `sslrootcert`, a mode
/// libpq does not have, and `verify-full` with the system's roots (which do not know the
/// test CA).
#[test]
fn tls_settings_errors() {
    let schemas = Schemas::new();
    let missing = std::env::temp_dir().join("sk-no-such-dir/ca.pem");
    match open_tls(
        &schemas,
        &url_with(&format!(
            "sslmode=verify-full&sslrootcert={}",
            missing.display()
        )),
    ) {
        Err(OpenFailed::Tls(PgTlsError::RootCertUnreadable { path, source })) => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("a missing sslrootcert must be an error, got {other:?}"),
    }
    assert!(matches!(
        open_tls(&schemas, &url_with("sslmode=verify-everything")),
        Err(OpenFailed::Tls(PgTlsError::UnknownMode { .. }))
    ));
    match open_tls(&schemas, &url_with("sslmode=verify-full")) {
        Err(OpenFailed::Tls(
            PgTlsError::CertificateRejected {
                problem: CertificateProblem::UnknownIssuer,
                ..
            }
            | PgTlsError::NoSystemRoots { .. },
        )) => {}
        other => panic!("the system's roots do not know the test CA, got {other:?}"),
    }
}
