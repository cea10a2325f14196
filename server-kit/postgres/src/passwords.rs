//! Cloud passwords, SRP checks and sign-ins waiting for a password in PostgreSQL (migration 3).

use super::{PgStore, R, col, via};
use ::postgres::Row;
use server_kit_store::StoreError;
use server_kit_store::passwords::{
    MAX_SRP_CHECKS_PER_USER, Password, PasswordLogin, PasswordStore, SrpCheck,
};
use server_kit_store::rows::{self, CHECK_COLUMNS, PASSWORD_COLUMNS};

/// Migration 3: the tables of [`PasswordStore`]. The hint is user text, kept as UTF-8 bytes
/// like the other user-written strings (migration 2).
pub(super) const SCHEMA_V3: &str = "
CREATE TABLE passwords(
    user_id BIGINT PRIMARY KEY, salt1 BYTEA NOT NULL, salt2 BYTEA NOT NULL, g INTEGER NOT NULL,
    p BYTEA NOT NULL, verifier BYTEA NOT NULL, hint BYTEA NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0);
CREATE TABLE srp_checks(
    srp_id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, b BYTEA NOT NULL,
    verifier BYTEA NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX srp_checks_by_user ON srp_checks(user_id, expires_at);
CREATE INDEX srp_checks_by_expiry ON srp_checks(expires_at);
CREATE TABLE password_logins(
    key_id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX password_logins_by_expiry ON password_logins(expires_at);
";

fn password_from_row(r: &Row) -> R<Password> {
    via(r, rows::password_at, 0)
}

fn check_from_row(r: &Row) -> R<SrpCheck> {
    via(r, rows::check_at, 0)
}

impl PasswordStore for PgStore {
    fn password(&self, user_id: i64) -> Result<Option<Password>, StoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {PASSWORD_COLUMNS} FROM passwords WHERE user_id = $1"),
                &[&user_id],
            )?
            .map(|r| password_from_row(&r))
            .transpose()
        })
    }

    fn set_password(&self, user_id: i64, password: Option<&Password>) -> Result<(), StoreError> {
        self.read(|c| {
            match password {
                Some(p) => c.execute(
                    "INSERT INTO passwords(user_id, salt1, salt2, g, p, verifier, hint)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT(user_id) DO UPDATE SET
                         salt1 = EXCLUDED.salt1, salt2 = EXCLUDED.salt2, g = EXCLUDED.g,
                         p = EXCLUDED.p, verifier = EXCLUDED.verifier, hint = EXCLUDED.hint",
                    &[
                        &user_id,
                        &p.salt1,
                        &p.salt2,
                        &p.g,
                        &p.p,
                        &p.verifier,
                        &p.hint.as_bytes(),
                    ],
                )?,
                None => c.execute("DELETE FROM passwords WHERE user_id = $1", &[&user_id])?,
            };
            Ok(())
        })
    }

    fn lock_password(&self, user_id: i64, until: i64) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE passwords SET locked_until = $2 WHERE user_id = $1",
                &[&user_id, &until],
            )?;
            Ok(())
        })
    }

    fn put_srp_check(&self, check: &SrpCheck, now: i64) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM srp_checks WHERE expires_at <= $1", &[&now])?;
            tx.execute(
                "DELETE FROM srp_checks WHERE user_id = $1 AND srp_id NOT IN (
                     SELECT srp_id FROM srp_checks WHERE user_id = $1
                     ORDER BY expires_at DESC, srp_id LIMIT $2)",
                &[&check.user_id, &(MAX_SRP_CHECKS_PER_USER as i64 - 1)],
            )?;
            tx.execute(
                &format!(
                    "INSERT INTO srp_checks({CHECK_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT(srp_id) DO UPDATE SET user_id = EXCLUDED.user_id,
                         b = EXCLUDED.b, verifier = EXCLUDED.verifier,
                         expires_at = EXCLUDED.expires_at"
                ),
                &[
                    &check.srp_id,
                    &check.user_id,
                    &check.b,
                    &check.verifier,
                    &check.expires_at,
                ],
            )?;
            Ok(())
        })
    }

    fn take_srp_check(&self, srp_id: i64) -> Result<Option<SrpCheck>, StoreError> {
        // One statement: of two nodes taking the same check at once, one gets the row and
        // the other finds it gone.
        self.read(|c| {
            c.query_opt(
                &format!("DELETE FROM srp_checks WHERE srp_id = $1 RETURNING {CHECK_COLUMNS}"),
                &[&srp_id],
            )?
            .map(|r| check_from_row(&r))
            .transpose()
        })
    }

    fn put_password_login(&self, login: &PasswordLogin, now: i64) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM password_logins WHERE expires_at <= $1",
                &[&now],
            )?;
            tx.execute(
                "INSERT INTO password_logins(key_id, user_id, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT(key_id) DO UPDATE SET user_id = EXCLUDED.user_id,
                     expires_at = EXCLUDED.expires_at",
                &[&login.key_id, &login.user_id, &login.expires_at],
            )?;
            Ok(())
        })
    }

    fn password_login(&self, key_id: i64) -> Result<Option<PasswordLogin>, StoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT key_id, user_id, expires_at FROM password_logins WHERE key_id = $1",
                &[&key_id],
            )?
            .map(|r| {
                Ok(PasswordLogin {
                    key_id: col(&r, 0)?,
                    user_id: col(&r, 1)?,
                    expires_at: col(&r, 2)?,
                })
            })
            .transpose()
        })
    }

    fn delete_password_login(&self, key_id: i64) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute("DELETE FROM password_logins WHERE key_id = $1", &[&key_id])?;
            Ok(())
        })
    }
}
