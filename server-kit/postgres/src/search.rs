//! Message search in PostgreSQL: see [`server_kit_store::search`].
//!
//! Texts are `bytea` here (they may hold U+0000, which `text` refuses: see `SCHEMA_V2`), so
//! the database cannot derive a `tsvector` from them itself (`convert_from` fails on a NUL),
//! and its own parser and case folding would depend on the database's locale. Instead each
//! message row has a `search tsvector` column ([`SCHEMA_V10`], GIN-indexed) that the store
//! writes with the row, at every insert and edit of a message or post: the distinct words of
//! the text as [`index_words`] finds them (split and lowercased in Rust, NULs separate words
//! like any other non-letter), turned into lexemes as they are by [`search_vector`]
//! (`array_to_tsvector`, which neither parses nor folds again). A query asks for each of its
//! words as a prefix (`'word':* & 'other':*`, [`tsquery`]), the words being made of letters
//! and digits only and quoted besides, so nothing a user types is tsquery syntax.
//!
//! Rows written before the column existed have `search` NULL; [`backfill`] fills them when
//! the store opens (each node may run it at once: a row is filled only while still NULL, so
//! an edit made meanwhile is never overwritten), in batches along a partial index of the
//! rows left. Until it is done, those rows are not found by words.

use crate::{Conn, PgStore, R, col, count, via};
use ::postgres::types::ToSql;
use server_kit_store::channels::ChannelMessage;
use server_kit_store::rows::{self, MESSAGE_COLUMNS, POST_COLUMNS};
use server_kit_store::search::{
    LINK_MARKERS, MediaFilter, SearchQuery, SearchStore, Terms, index_words,
};
use server_kit_store::{MediaRef, Message, StoreError};

/// The `search` columns, their GIN indexes, and partial indexes of the rows [`backfill`] has
/// still to fill.
pub(crate) const SCHEMA_V10: &str = "
ALTER TABLE messages ADD COLUMN search TSVECTOR;
ALTER TABLE channel_messages ADD COLUMN search TSVECTOR;
CREATE INDEX messages_search ON messages USING GIN (search);
CREATE INDEX channel_messages_search ON channel_messages USING GIN (search);
CREATE INDEX messages_unindexed ON messages(owner, id) WHERE search IS NULL;
CREATE INDEX channel_messages_unindexed ON channel_messages(channel, id) WHERE search IS NULL;
";

/// The SQL of a `search` value from the parameter `$n` holding [`index_words`] of the text.
pub(crate) fn search_vector(n: usize) -> String {
    format!("array_to_tsvector(string_to_array(${n}::text, ' '))")
}

/// The tsquery text of some words: each quoted, as a prefix, all required.
pub(crate) fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}':*", w.replace('\\', "\\\\").replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// How many rows one statement of [`backfill`] fills.
const BACKFILL_BATCH: i64 = 1000;

/// Fills `search` of the rows written before it existed (see the module's documentation).
pub(crate) fn backfill(conn: &mut Conn) -> R<()> {
    for (table, scope) in [("messages", "owner"), ("channel_messages", "channel")] {
        let mut after: (i64, i32) = (i64::MIN, i32::MIN);
        let mut filled = 0u64;
        loop {
            let rows = conn.client.query(
                &format!(
                    "SELECT {scope}, id, text FROM {table}
                     WHERE search IS NULL AND ({scope}, id) > ($1, $2)
                     ORDER BY {scope}, id LIMIT $3"
                ),
                &[&after.0, &after.1, &BACKFILL_BATCH],
            )?;
            let Some(last) = rows.last() else {
                break;
            };
            after = (col(last, 0)?, col(last, 1)?);
            let (mut scopes, mut ids, mut words) = (Vec::new(), Vec::new(), Vec::new());
            for row in &rows {
                scopes.push(col::<i64>(row, 0)?);
                ids.push(col::<i32>(row, 1)?);
                let text: &[u8] = col(row, 2)?;
                words.push(index_words(&String::from_utf8_lossy(text)));
            }
            filled += conn.client.execute(
                &format!(
                    "UPDATE {table} t SET search = array_to_tsvector(string_to_array(v.words, ' '))
                     FROM unnest($1::bigint[], $2::integer[], $3::text[]) AS v(scope, id, words)
                     WHERE t.{scope} = v.scope AND t.id = v.id AND t.search IS NULL"
                ),
                &[&scopes, &ids, &words],
            )?;
        }
        if filled > 0 {
            tracing::info!(table, filled, "PostgreSQL search index filled");
        }
    }
    Ok(())
}

/// One search over `table`: the rows that `scope` (SQL with its values) and the query keep,
/// one page newest first (read with `map`), and how many there are; in one snapshot.
fn run<T>(
    store: &PgStore,
    table: &str,
    columns: &str,
    scope: (&str, Vec<Box<dyn ToSql + Sync + Send>>),
    q: &SearchQuery,
    map: fn(&dyn rows::Row, usize) -> Result<T, StoreError>,
    id_of: fn(&T) -> i32,
) -> Result<(Vec<T>, i32), StoreError>
where
    T: Send,
{
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
            let at = bind(&mut values, Box::new(tsquery(&words)));
            conditions.push(format!("search @@ {at}::text::tsquery"));
        }
    }
    if let Some(from) = q.from_id {
        let at = bind(&mut values, Box::new(from));
        conditions.push(format!("from_id = {at}::bigint"));
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
        // The text as escaped ASCII (a NUL, a backslash and non-ASCII bytes as escapes),
        // where the ASCII markers are found in any case.
        MediaFilter::Url => conditions.push(format!(
            "({})",
            LINK_MARKERS
                .iter()
                .map(|m| format!("encode(text, 'escape') ILIKE '%{m}%'"))
                .collect::<Vec<_>>()
                .join(" OR ")
        )),
    }
    if q.min_date > 0 {
        let at = bind(&mut values, Box::new(q.min_date));
        conditions.push(format!("date > {at}::integer"));
    }
    if q.max_date > 0 {
        let at = bind(&mut values, Box::new(q.max_date));
        conditions.push(format!("date < {at}::integer"));
    }
    let filter = conditions.join(" AND ");
    let page = q.page;
    store.snapshot(move |c| {
        // Telegram's pagination over the matches: see HistoryQuery::window.
        let mut counted: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
        let (below_id, below_date) = (page.below_id(), page.below_date());
        counted.push(&below_id);
        counted.push(&below_date);
        let (id_at, date_at) = (counted.len() - 1, counted.len());
        let row = c.query_one(
            &format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE NOT (id < ${id_at}::bigint AND date < ${date_at}::bigint))
                 FROM {table} WHERE {filter}"
            ),
            &counted,
        )?;
        let (total, newer): (i32, i64) = (count(&row, 0)?, col(&row, 1)?);
        let Some((skip, take)) = page.window(newer) else {
            return Ok((Vec::new(), total));
        };
        let mut paged: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
        paged.push(&take);
        paged.push(&skip);
        let (take_at, skip_at) = (paged.len() - 1, paged.len());
        let rows = c.query(
            &format!(
                "SELECT {columns} FROM {table} WHERE {filter}
                 ORDER BY id DESC LIMIT ${take_at}::bigint OFFSET ${skip_at}::bigint"
            ),
            &paged,
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let m = via(row, map, 0)?;
            if page.keeps(id_of(&m)) {
                out.push(m);
            }
        }
        Ok((out, total))
    })
}

/// Adds a value to bind and names its parameter.
fn bind(
    values: &mut Vec<Box<dyn ToSql + Sync + Send>>,
    value: Box<dyn ToSql + Sync + Send>,
) -> String {
    values.push(value);
    format!("${}", values.len())
}

impl SearchStore for PgStore {
    fn search(
        &self,
        owner: i64,
        peer: Option<i64>,
        query: &SearchQuery,
    ) -> Result<(Vec<Message>, i32), StoreError> {
        let scope: (&str, Vec<Box<dyn ToSql + Sync + Send>>) = match peer {
            Some(peer) => (
                "owner = $1::bigint AND peer = $2::bigint",
                vec![Box::new(owner), Box::new(peer)],
            ),
            None => ("owner = $1::bigint", vec![Box::new(owner)]),
        };
        run(
            self,
            "messages",
            MESSAGE_COLUMNS,
            scope,
            query,
            rows::message_at,
            |m| m.id,
        )
    }

    fn search_channel(
        &self,
        channel: i64,
        query: &SearchQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError> {
        let scope: (&str, Vec<Box<dyn ToSql + Sync + Send>>) =
            ("channel = $1::bigint", vec![Box::new(channel)]);
        run(
            self,
            "channel_messages",
            POST_COLUMNS,
            scope,
            query,
            rows::post_at,
            |m| m.id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsquery_quotes_each_word_as_a_prefix() {
        let words = vec!["it's".to_owned(), "a\\b".to_owned(), "c".to_owned()];
        assert_eq!(tsquery(&words), "'it''s':* & 'a\\\\b':* & 'c':*");
    }

    /// The statements that write messages in one round trip set `search` from the
    /// parameter their documentation names.
    #[test]
    fn the_send_statements_write_the_search_column() {
        assert_eq!(crate::SEND_TWO.matches(&search_vector(19)).count(), 2);
        assert_eq!(crate::SEND_SELF.matches(&search_vector(15)).count(), 1);
    }
}
