//! Storage: the interface is the `server-kit-store` crate (re-exported here whole, so
//! `server_kit::store::Store` and the rest keep their paths); the embedded default is
//! [`SqliteStore`] (`server-kit-sqlite`), and with the feature `postgres` there is `PgStore`
//! (`server-kit-postgres`), for several server nodes on one database. [`StoreLocation`] turns
//! the binary's `--store` flag into one of them.

pub use server_kit_sqlite::SqliteStore;
pub use server_kit_store::*;

#[cfg(feature = "postgres")]
pub use server_kit_postgres::{
    CertificateProblem, MIGRATIONS as POSTGRES_MIGRATIONS, PgOptions, PgSslMode, PgStore,
    PgTlsError,
};

use std::sync::Arc;

/// Where the store lives, as the server's `--store` flag gives it: `sqlite:PATH` (the
/// embedded store in one file) or `postgres://user:password@host:port/database` (also
/// `postgresql://`; needs the feature `postgres`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database, by its connection URL.
    Postgres(String),
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("expected sqlite:PATH".into());
            }
            return Ok(StoreLocation::Sqlite(path.into()));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(s.to_owned()));
        }
        Err("expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE".into())
    }
}

impl std::fmt::Display for StoreLocation {
    /// The location with any password left out (for logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreLocation::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((user, host)) => {
                        let user = user.split_once(':').map_or(user, |(u, _)| u);
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{scheme}://{rest}"),
                }
            }
        }
    }
}

impl StoreLocation {
    /// Opens the store (creating or migrating its schema). Blocking: call it outside async
    /// code, e.g. in `spawn_blocking`.
    pub fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
            #[cfg(feature = "postgres")]
            StoreLocation::Postgres(url) => Ok(Arc::new(PgStore::open(url)?)),
            #[cfg(not(feature = "postgres"))]
            StoreLocation::Postgres(_) => Err(StoreError::Database(
                "this server was built without PostgreSQL support (cargo feature `postgres`)"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StoreLocation;

    #[test]
    fn store_locations() {
        assert_eq!(
            "sqlite:data/x.db".parse(),
            Ok(StoreLocation::Sqlite("data/x.db".into()))
        );
        let url = "postgres://app:secret@db.internal:5432/chat";
        assert_eq!(url.parse(), Ok(StoreLocation::Postgres(url.into())));
        assert!("postgresql://db/chat".parse::<StoreLocation>().is_ok());
        for bad in ["", "sqlite:", "mysql://db", "data/x.db"] {
            assert!(bad.parse::<StoreLocation>().is_err(), "{bad:?}");
        }
        let shown = StoreLocation::Postgres(url.into()).to_string();
        assert_eq!(
            shown, "postgres://app@db.internal:5432/chat",
            "no password in logs"
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_needs_the_feature() {
        let location = StoreLocation::Postgres("postgres://127.0.0.1:1/x".into());
        assert!(matches!(
            location.open(),
            Err(super::StoreError::Database(message)) if message.contains("feature")
        ));
    }
}
