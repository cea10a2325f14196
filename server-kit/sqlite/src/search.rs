//! Message search in SQLite: see [`server_kit_store::search`].
//!
//! Two FTS5 tables index the texts of `messages` and `channel_messages` as *external
//! content* (the index keeps no second copy of the texts; it names rows by their `rowid`),
//! kept in step by triggers on insert, delete and each change of `text`. The `unicode61`
//! tokenizer splits words where [`server_kit_store::search::words`] does (letters and digits
//! make words) and folds case; diacritics are kept, as in the PostgreSQL store. A database
//! from before the index gets it filled once, when the tables are created.
//!
//! A query becomes `"word"* "word"* ...`: each word quoted (it holds only letters and
//! digits, and a `"` would be doubled anyway), so nothing a user types reaches FTS5 as
//! syntax. The other conditions and the paging are plain SQL on the message tables.
//!
//! The index names rows by `rowid`, which `VACUUM` may renumber in these tables (they have
//! no `INTEGER PRIMARY KEY`): whoever vacuums a database file must rebuild the index
//! afterwards (`INSERT INTO messages_search(messages_search) VALUES('rebuild')`, the same for
//! `channel_messages_search`). The store itself never vacuums.

use crate::{SqliteStore, db, via};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use server_kit_store::channels::ChannelMessage;
use server_kit_store::rows::{self, MESSAGE_COLUMNS, POST_COLUMNS};
use server_kit_store::search::{LINK_MARKERS, MediaFilter, SearchQuery, SearchStore, Terms};
use server_kit_store::{MediaRef, Message, StoreError};

/// The index of one table: its FTS5 table and the triggers that keep it.
fn index_schema(table: &str) -> String {
    let fts = format!("{table}_search");
    format!(
        "CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(
             text, content='{table}', content_rowid='rowid',
             tokenize='unicode61 remove_diacritics 0');
         CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN
             INSERT INTO {fts}(rowid, text) VALUES (new.rowid, new.text);
         END;
         CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN
             INSERT INTO {fts}({fts}, rowid, text) VALUES ('delete', old.rowid, old.text);
         END;
         CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF text ON {table} BEGIN
             INSERT INTO {fts}({fts}, rowid, text) VALUES ('delete', old.rowid, old.text);
             INSERT INTO {fts}(rowid, text) VALUES (new.rowid, new.text);
         END;"
    )
}

/// The tables searched.
const INDEXED: [&str; 2] = ["messages", "channel_messages"];

/// Creates the indexes and their triggers if missing (after the message tables exist); an
/// index created now over a table that already has rows is filled from them.
pub(crate) fn setup(conn: &Connection) -> Result<(), StoreError> {
    for table in INDEXED {
        let fts = format!("{table}_search");
        let present: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [&fts],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db)?
            > 0;
        conn.execute_batch(&index_schema(table)).map_err(db)?;
        if !present {
            conn.execute_batch(&format!("INSERT INTO {fts}({fts}) VALUES ('rebuild')"))
                .map_err(db)?;
        }
    }
    Ok(())
}

/// The FTS5 query of some words: each quoted, as a prefix, all required.
pub(crate) fn match_expression(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One search over `table` (`messages` or `channel_messages`): the rows that `scope` (SQL
/// with its values, e.g. the owner) and the query keep, one page of them newest first (read
/// with `map`), and how many there are.
fn run<T>(
    c: &Connection,
    table: &str,
    columns: &str,
    scope: (&str, Vec<Value>),
    q: &SearchQuery,
    map: fn(&dyn rows::Row, usize) -> Result<T, StoreError>,
    id_of: fn(&T) -> i32,
) -> rusqlite::Result<(Vec<T>, i32)> {
    let (scope, mut values) = scope;
    let mut conditions = vec![scope.to_owned()];
    if table == "messages" {
        // Service messages (a basic group's changes) are no text to find.
        conditions.push("action_kind = 0".to_owned());
    }
    match q.terms() {
        Terms::Any => {}
        Terms::Nothing => return Ok((Vec::new(), 0)),
        Terms::Words(words) => {
            let at = bind(&mut values, Value::Text(match_expression(&words)));
            conditions.push(format!(
                "rowid IN (SELECT rowid FROM {table}_search WHERE {table}_search MATCH {at})"
            ));
        }
    }
    if let Some(from) = q.from_id {
        let at = bind(&mut values, Value::Integer(from));
        conditions.push(format!("from_id = {at}"));
    }
    let media_kind = |m| MediaRef::to_columns(Some(m)).0;
    match q.filter {
        MediaFilter::Any => {}
        MediaFilter::Photos => {
            conditions.push(format!("media_kind = {}", media_kind(MediaRef::Photo(0))))
        }
        MediaFilter::Documents => conditions.push(format!(
            "media_kind = {}",
            media_kind(MediaRef::Document(0))
        )),
        // instr and lower read the whole text (LIKE would stop at a NUL).
        MediaFilter::Url => conditions.push(format!(
            "({})",
            LINK_MARKERS
                .iter()
                .map(|m| format!("instr(lower(text), '{m}') > 0"))
                .collect::<Vec<_>>()
                .join(" OR ")
        )),
    }
    if q.min_date > 0 {
        let at = bind(&mut values, Value::Integer(q.min_date.into()));
        conditions.push(format!("date > {at}"));
    }
    if q.max_date > 0 {
        let at = bind(&mut values, Value::Integer(q.max_date.into()));
        conditions.push(format!("date < {at}"));
    }
    let filter = conditions.join(" AND ");
    // Telegram's pagination over the matches: see HistoryQuery::window.
    let page = q.page;
    let mut counted = values.clone();
    let below_id = bind(&mut counted, Value::Integer(page.below_id()));
    let below_date = bind(&mut counted, Value::Integer(page.below_date()));
    let (count, newer): (i64, i64) = c.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(NOT (id < {below_id} AND date < {below_date})), 0)
             FROM {table} WHERE {filter}"
        ),
        params_from_iter(counted.iter()),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    let Some((skip, take)) = page.window(newer) else {
        return Ok((Vec::new(), count));
    };
    let take = bind(&mut values, Value::Integer(take));
    let skip = bind(&mut values, Value::Integer(skip));
    let mut stmt = c.prepare(&format!(
        "SELECT {columns} FROM {table} WHERE {filter} ORDER BY id DESC LIMIT {take} OFFSET {skip}"
    ))?;
    let mut out = stmt
        .query_map(params_from_iter(values.iter()), |r| via(r, map))?
        .collect::<Result<Vec<_>, _>>()?;
    out.retain(|m| page.keeps(id_of(m)));
    Ok((out, count))
}

/// Adds a value to bind and names its parameter.
fn bind(values: &mut Vec<Value>, value: Value) -> String {
    values.push(value);
    format!("?{}", values.len())
}

impl SearchStore for SqliteStore {
    fn search(
        &self,
        owner: i64,
        peer: Option<i64>,
        query: &SearchQuery,
    ) -> Result<(Vec<Message>, i32), StoreError> {
        let scope = match peer {
            Some(peer) => (
                "owner = ?1 AND peer = ?2",
                vec![Value::Integer(owner), Value::Integer(peer)],
            ),
            None => ("owner = ?1", vec![Value::Integer(owner)]),
        };
        self.with(|c| {
            run(
                c,
                "messages",
                MESSAGE_COLUMNS,
                scope,
                query,
                rows::message_at,
                |m| m.id,
            )
        })
    }

    fn search_channel(
        &self,
        channel: i64,
        query: &SearchQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError> {
        let scope = ("channel = ?1", vec![Value::Integer(channel)]);
        self.with(|c| {
            run(
                c,
                "channel_messages",
                POST_COLUMNS,
                scope,
                query,
                rows::post_at,
                |m| m.id,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_kit_store::Store;

    #[test]
    fn the_match_expression_quotes_each_word() {
        let words = vec!["a\"b".to_owned(), "c".to_owned()];
        assert_eq!(match_expression(&words), "\"a\"\"b\"* \"c\"*");
    }

    /// A database written before the index existed gets it filled when opened again.
    #[test]
    fn an_older_file_gets_its_index() {
        let dir = std::env::temp_dir().join(format!("sk-search-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("store.db");
        {
            let store = SqliteStore::open(&path).expect("open");
            let a = store.create_user("1555", "A", "", 1).expect("user").id;
            store
                .send_message(a, a, "ancient wisdom", 1, 10)
                .expect("send");
            store
                .with(|c| {
                    c.execute_batch(
                        "DROP TABLE messages_search; DROP TABLE channel_messages_search;",
                    )
                })
                .expect("drop the index");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        let a = store.user_by_phone("1555").expect("user").expect("a").id;
        let (found, count) = store
            .search(a, None, &SearchQuery::text("anc", 10))
            .expect("search");
        assert_eq!(count, 1);
        assert_eq!(found[0].text, "ancient wisdom");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
