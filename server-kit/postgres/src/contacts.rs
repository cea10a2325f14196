//! Contacts and privacy in PostgreSQL (migration 9): see [`server_kit_store::contacts`].
//!
//! People search folds names with `lower()`, which follows the database's `LC_CTYPE`: under
//! a UTF-8 locale (`C.UTF-8`, `en_US.UTF-8`, ...) it folds the letters of every alphabet as
//! [`search_fold`] does; under the plain `C` locale only ASCII. Names are kept as UTF-8
//! bytes (migration 2) and read as text up to their first zero byte, which `text` cannot
//! hold. The search reads every user row: no index serves a prefix of three folded columns.

use super::{PgStore, R, col, count, via};
use ::postgres::Row;
use server_kit_store::contacts::{ContactStore, MAX_SEARCH_RESULTS, search_fold};
use server_kit_store::rows::{self, USER_COLUMNS};
use server_kit_store::{StoreError, User};

/// Migration 6: the blocklist ([`ContactStore::block`]), newest first per owner.
pub(super) const SCHEMA_V9: &str = "
CREATE TABLE blocked(
    owner BIGINT NOT NULL, user_id BIGINT NOT NULL, date INTEGER NOT NULL,
    PRIMARY KEY(owner, user_id));
CREATE INDEX blocked_by_date ON blocked(owner, date DESC, user_id DESC);
";

/// The SQL of a name column (`bytea`, UTF-8) as folded text, up to its first zero byte.
/// `convert_from` gives text of the `C` collation, which `lower()` folds as ASCII: the
/// database's default collation is named instead.
fn folded(column: &str) -> String {
    format!(
        "lower(convert_from(CASE WHEN position('\\x00'::bytea IN {column}) > 0
             THEN substring({column} FROM 1 FOR position('\\x00'::bytea IN {column}) - 1)
             ELSE {column} END, 'UTF8') COLLATE \"default\")"
    )
}

fn user_from_row(r: &Row) -> R<User> {
    via(r, rows::user_at, 0)
}

impl ContactStore for PgStore {
    fn delete_contacts(&self, owner: i64, users: &[i64]) -> Result<Vec<i64>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut removed = self.read(|c| {
            c.query(
                "DELETE FROM contacts WHERE owner = $1 AND user_id = ANY($2) RETURNING user_id",
                &[&owner, &users],
            )?
            .iter()
            .map(|r| col::<i64>(r, 0))
            .collect::<R<Vec<i64>>>()
        })?;
        removed.sort_unstable();
        Ok(removed)
    }

    fn block(&self, owner: i64, user: i64, date: i32) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.execute(
                "INSERT INTO blocked(owner, user_id, date) VALUES ($1, $2, $3)
                 ON CONFLICT(owner, user_id) DO NOTHING",
                &[&owner, &user, &date],
            )? > 0)
        })
    }

    fn unblock(&self, owner: i64, user: i64) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.execute(
                "DELETE FROM blocked WHERE owner = $1 AND user_id = $2",
                &[&owner, &user],
            )? > 0)
        })
    }

    fn blocked(
        &self,
        owner: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<(i64, i32)>, i32), StoreError> {
        let (offset, limit) = (i64::from(offset.max(0)), i64::from(limit.max(0)));
        self.snapshot(|tx| {
            let total = count(
                &tx.query_one("SELECT count(*) FROM blocked WHERE owner = $1", &[&owner])?,
                0,
            )?;
            let page = tx
                .query(
                    "SELECT user_id, date FROM blocked WHERE owner = $1
                     ORDER BY date DESC, user_id DESC LIMIT $2 OFFSET $3",
                    &[&owner, &limit, &offset],
                )?
                .iter()
                .map(|r| Ok((col::<i64>(r, 0)?, col::<i32>(r, 1)?)))
                .collect::<R<Vec<_>>>()?;
            Ok((page, total))
        })
    }

    fn is_blocked(&self, owner: i64, user: i64) -> Result<bool, StoreError> {
        self.read(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM blocked WHERE owner = $1 AND user_id = $2",
                &[&owner, &user],
            )?
            .is_some())
        })
    }

    fn search_users(&self, query: &str, limit: usize) -> Result<Vec<User>, StoreError> {
        let query = search_fold(query);
        let limit = limit.min(MAX_SEARCH_RESULTS) as i64;
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE starts_with({first}, lower($1)) OR starts_with({last}, lower($1))
                OR starts_with(lower(username), lower($1))
             ORDER BY id LIMIT $2",
            first = folded("first_name"),
            last = folded("last_name"),
        );
        self.read(|c| {
            c.query(&sql, &[&query, &limit])?
                .iter()
                .map(user_from_row)
                .collect()
        })
    }
}
