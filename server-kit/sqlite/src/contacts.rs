//! Contacts and privacy in SQLite: see [`server_kit_store::contacts`].
//!
//! People search compares names with `sk_prefix(name, query)`, a function of this
//! connection ([`register_functions`]): SQLite's own `lower()` and `LIKE` fold ASCII only,
//! and the search folds as [`search_fold`] does.

use crate::{SqliteStore, db, via};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params};
use server_kit_store::contacts::{ContactStore, MAX_SEARCH_RESULTS, search_fold};
use server_kit_store::rows::{self, USER_COLUMNS};
use server_kit_store::{StoreError, User};

/// The SQLite tables of this module, created when the store opens (an older file gets them
/// then too).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blocked(
    owner INTEGER NOT NULL, user_id INTEGER NOT NULL, date INTEGER NOT NULL,
    PRIMARY KEY(owner, user_id));
CREATE INDEX IF NOT EXISTS blocked_by_date ON blocked(owner, date DESC, user_id DESC);
";

/// Creates this module's tables and registers `sk_prefix(text, folded query)`: whether the
/// text, folded with [`search_fold`], starts with the query (already folded). NULL text
/// matches nothing.
pub(crate) fn setup(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SQLITE_SCHEMA).map_err(db)?;
    conn.create_scalar_function(
        "sk_prefix",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let Some(text) = ctx.get::<Option<String>>(0)? else {
                return Ok(false);
            };
            let query = ctx.get::<String>(1)?;
            Ok(search_fold(&text).starts_with(&query))
        },
    )
    .map_err(db)
}

impl ContactStore for SqliteStore {
    fn delete_contacts(&self, owner: i64, users: &[i64]) -> Result<Vec<i64>, StoreError> {
        let mut wanted = users.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        self.tx(|tx| {
            let mut removed = Vec::new();
            for user in wanted {
                let n = tx
                    .execute(
                        "DELETE FROM contacts WHERE owner = ?1 AND user_id = ?2",
                        params![owner, user],
                    )
                    .map_err(db)?;
                if n > 0 {
                    removed.push(user);
                }
            }
            Ok(removed)
        })
    }

    fn block(&self, owner: i64, user: i64, date: i32) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO blocked(owner, user_id, date) VALUES (?1, ?2, ?3)
                 ON CONFLICT(owner, user_id) DO NOTHING",
                params![owner, user, date],
            )
        })
        .map(|n| n > 0)
    }

    fn unblock(&self, owner: i64, user: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM blocked WHERE owner = ?1 AND user_id = ?2",
                params![owner, user],
            )
        })
        .map(|n| n > 0)
    }

    fn blocked(
        &self,
        owner: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<(i64, i32)>, i32), StoreError> {
        self.with(|c| {
            let total: i32 = c.query_row(
                "SELECT count(*) FROM blocked WHERE owner = ?1",
                [owner],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(
                "SELECT user_id, date FROM blocked WHERE owner = ?1
                 ORDER BY date DESC, user_id DESC LIMIT ?2 OFFSET ?3",
            )?;
            let page = stmt
                .query_map(params![owner, limit.max(0), offset.max(0)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((page, total))
        })
    }

    fn is_blocked(&self, owner: i64, user: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM blocked WHERE owner = ?1 AND user_id = ?2",
                params![owner, user],
                |_| Ok(()),
            )
            .optional()
        })
        .map(|found| found.is_some())
    }

    fn search_users(&self, query: &str, limit: usize) -> Result<Vec<User>, StoreError> {
        let query = search_fold(query);
        let limit = limit.min(MAX_SEARCH_RESULTS);
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE sk_prefix(first_name, ?1) OR sk_prefix(last_name, ?1)
                    OR sk_prefix(username, ?1)
                 ORDER BY id LIMIT ?2"
            ))?;
            let found = stmt
                .query_map(params![query, limit as i64], |r| via(r, rows::user_at))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found)
        })
    }
}
