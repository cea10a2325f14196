//! The PostgreSQL store's search index on a database from before it (schema version 9): the
//! rows already there are indexed when the store opens, NUL bytes and non-ASCII included, and
//! rows written afterwards are indexed as they are written.
//!
//! Needs `TEST_POSTGRES_URL`, as `postgres_store.rs` (see there); works in a schema of its
//! own, dropped at the end.

use server_kit_postgres::{MIGRATIONS, PgOptions, PgStore};
use server_kit_store::search::{SearchQuery, SearchStore};
use server_kit_store::{ChannelStore, Extras, Store};

fn url() -> String {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("TEST_POSTGRES_URL is not set: start one with `bash .ci/postgres.sh start`"),
    }
}

/// Drops the schema when dropped.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
            return;
        };
        if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0));
        }
    }
}

#[test]
fn rows_from_before_the_index_are_found() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = Schema(format!("sk_search_{}_{nanos}", std::process::id()));
    let mut client = postgres::Client::connect(&url(), postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{0}\"; SET search_path TO \"{0}\";
             CREATE TABLE schema_version(
                 version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());",
            schema.0
        ))
        .expect("schema");
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 9) {
        client.batch_execute(sql).expect("an older migration");
        client
            .execute(
                "INSERT INTO schema_version(version) VALUES ($1)",
                &[version],
            )
            .expect("version");
    }
    // 2500 rows (more than one batch of the backfill), one with a NUL, one not ASCII.
    client
        .batch_execute(
            "INSERT INTO users(id, access_hash, phone, first_name, last_name, pts, next_msg_id)
                 VALUES (99, 1, '1555', 'A', '', 2500, 2501);
             INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id)
                 SELECT 99, i, 99, true, 99, convert_to('filler ' || i, 'UTF8'), 10 + i, i
                 FROM generate_series(3, 2500) AS i;
             INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id)
                 VALUES (99, 1, 99, true, 99, '\\x6e756c00627974652068657265'::bytea, 10, 1),
                        (99, 2, 99, true, 99, convert_to('Grüße aus Köln', 'UTF8'), 11, 2);
             INSERT INTO channels(id, access_hash, title, about, broadcast, megagroup, creator,
                                  date, pts, next_msg_id)
                 VALUES (1000000, 1, 'C', '', true, false, 99, 10, 1, 2);
             INSERT INTO channel_messages(channel, id, from_id, text, date, sender)
                 VALUES (1000000, 1, 99, convert_to('old post', 'UTF8'), 10, 99);",
        )
        .expect("a database at version 9");
    let store = PgStore::open_with(&url(), PgOptions::default().schema(&schema.0).pool_size(2))
        .expect("open");
    assert_eq!(
        store.schema_version().expect("version"),
        MIGRATIONS.last().expect("a migration").0
    );
    let find = |text: &str| {
        let (found, count) = store
            .search(99, None, &SearchQuery::text(text, 10))
            .expect("search");
        (found.iter().map(|m| m.id).collect::<Vec<i32>>(), count)
    };
    assert_eq!(find("byte"), (vec![1], 1), "a word after a NUL");
    assert_eq!(find("nul here"), (vec![1], 1));
    assert_eq!(find("KÖLN grü"), (vec![2], 1));
    assert_eq!(find("filler").1, 2498);
    assert_eq!(find("2499"), (vec![2499], 1));
    let (posts, count) = store
        .search_channel(1_000_000, &SearchQuery::text("post", 10))
        .expect("channel search");
    assert_eq!((posts.len(), count), (1, 1));
    let left: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM messages WHERE search IS NULL)
                  + (SELECT count(*) FROM channel_messages WHERE search IS NULL)",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "every row indexed");
    // Opening again finds nothing left to do; new rows are indexed as written.
    drop(store);
    let store = PgStore::open_with(&url(), PgOptions::default().schema(&schema.0).pool_size(2))
        .expect("reopen");
    store
        .send_message(99, 99, "brand new", 5000, 3000)
        .expect("send");
    store
        .post(1_000_000, 99, "new post", 7, 3000, Extras::default())
        .expect("post");
    let (found, _) = store
        .search(99, Some(99), &SearchQuery::text("bran", 10))
        .expect("search");
    assert_eq!(found.len(), 1);
    let (_, count) = store
        .search_channel(1_000_000, &SearchQuery::text("post", 10))
        .expect("channel search");
    assert_eq!(count, 2);
}
