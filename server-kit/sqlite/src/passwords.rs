//! Cloud passwords in SQLite: see [`server_kit_store::passwords`].

use crate::{SqliteStore, db, via};
use rusqlite::{OptionalExtension, Row, params};
use server_kit_store::StoreError;
use server_kit_store::passwords::*;
use server_kit_store::rows::{self, PASSWORD_COLUMNS};

/// The SQLite tables of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS passwords(
    user_id INTEGER PRIMARY KEY, salt1 BLOB NOT NULL, salt2 BLOB NOT NULL, g INTEGER NOT NULL,
    p BLOB NOT NULL, verifier BLOB NOT NULL, hint TEXT NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srp_checks(
    srp_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, b BLOB NOT NULL,
    verifier BLOB NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS srp_checks_by_user ON srp_checks(user_id, expires_at);
CREATE INDEX IF NOT EXISTS srp_checks_by_expiry ON srp_checks(expires_at);
CREATE TABLE IF NOT EXISTS password_logins(
    key_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS password_logins_by_expiry ON password_logins(expires_at);
";

fn password_from_row(r: &Row<'_>) -> rusqlite::Result<Password> {
    via(r, rows::password_at)
}

impl PasswordStore for SqliteStore {
    fn password(&self, user_id: i64) -> Result<Option<Password>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {PASSWORD_COLUMNS} FROM passwords WHERE user_id = ?1"),
                [user_id],
                password_from_row,
            )
            .optional()
        })
    }

    fn set_password(&self, user_id: i64, password: Option<&Password>) -> Result<(), StoreError> {
        self.with(|c| {
            match password {
                Some(p) => c.execute(
                    "INSERT INTO passwords(user_id, salt1, salt2, g, p, verifier, hint)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(user_id) DO UPDATE SET
                         salt1 = excluded.salt1, salt2 = excluded.salt2, g = excluded.g,
                         p = excluded.p, verifier = excluded.verifier, hint = excluded.hint",
                    params![user_id, p.salt1, p.salt2, p.g, p.p, p.verifier, p.hint],
                )?,
                None => c.execute("DELETE FROM passwords WHERE user_id = ?1", [user_id])?,
            };
            Ok(())
        })
    }

    fn lock_password(&self, user_id: i64, until: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE passwords SET locked_until = ?2 WHERE user_id = ?1",
                params![user_id, until],
            )?;
            Ok(())
        })
    }

    fn put_srp_check(&self, check: &SrpCheck, now: i64) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM srp_checks WHERE expires_at <= ?1", [now])
                .map_err(db)?;
            tx.execute(
                "DELETE FROM srp_checks WHERE user_id = ?1 AND srp_id NOT IN (
                     SELECT srp_id FROM srp_checks WHERE user_id = ?1
                     ORDER BY expires_at DESC, srp_id LIMIT ?2)",
                params![check.user_id, MAX_SRP_CHECKS_PER_USER as i64 - 1],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT OR REPLACE INTO srp_checks(srp_id, user_id, b, verifier, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    check.srp_id,
                    check.user_id,
                    check.b,
                    check.verifier,
                    check.expires_at
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn take_srp_check(&self, srp_id: i64) -> Result<Option<SrpCheck>, StoreError> {
        self.with(|c| {
            c.query_row(
                "DELETE FROM srp_checks WHERE srp_id = ?1
                 RETURNING srp_id, user_id, b, verifier, expires_at",
                [srp_id],
                |r| {
                    Ok(SrpCheck {
                        srp_id: r.get(0)?,
                        user_id: r.get(1)?,
                        b: r.get(2)?,
                        verifier: r.get(3)?,
                        expires_at: r.get(4)?,
                    })
                },
            )
            .optional()
        })
    }

    fn put_password_login(&self, login: &PasswordLogin, now: i64) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM password_logins WHERE expires_at <= ?1", [now])
                .map_err(db)?;
            tx.execute(
                "INSERT OR REPLACE INTO password_logins(key_id, user_id, expires_at)
                 VALUES (?1, ?2, ?3)",
                params![login.key_id, login.user_id, login.expires_at],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn password_login(&self, key_id: i64) -> Result<Option<PasswordLogin>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT key_id, user_id, expires_at FROM password_logins WHERE key_id = ?1",
                [key_id],
                |r| {
                    Ok(PasswordLogin {
                        key_id: r.get(0)?,
                        user_id: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                },
            )
            .optional()
        })
    }

    fn delete_password_login(&self, key_id: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM password_logins WHERE key_id = ?1", [key_id])?;
            Ok(())
        })
    }
}
