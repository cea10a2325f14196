//! The store conformance suite (`server_kit_store::conformance`) against the SQLite store:
//! one test per check on a new in-memory database, concurrent writers, and a database file
//! reopened.

use server_kit_sqlite::SqliteStore;
use server_kit_store::Store;
use server_kit_store::conformance::{concurrent_pts, reopen, run_all};
use std::panic::{AssertUnwindSafe, catch_unwind};

fn fresh() -> Box<dyn Store> {
    Box::new(SqliteStore::in_memory().expect("in-memory store"))
}

mod checks {
    server_kit_store::store_conformance_tests!(super::fresh);
}

#[test]
fn concurrent_pts_on_sqlite() {
    let store = fresh();
    concurrent_pts(&[&*store, &*store], 4, 25);
}

#[test]
fn run_all_on_sqlite() {
    run_all(&fresh);
}

#[test]
fn reopen_sqlite_file() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = std::env::temp_dir().join(format!(
        "server-kit-conformance-{}-{nanos}.db",
        std::process::id()
    ));
    let open = || -> Box<dyn Store> {
        Box::new(SqliteStore::open(&path).expect("open the database file"))
    };
    let result = catch_unwind(AssertUnwindSafe(|| reopen(&open)));
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
