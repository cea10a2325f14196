//! End to end: the real server binary over loopback, Telethon 1.45 as three users
//! (`tests/telethon/contacts.py`): contacts by phone, people search by name and username,
//! contact statuses, blocking (messages refused both ways with Telegram's errors, the
//! blocklist, `userFull.blocked`), unblocking, deleting contacts; a block survives a server
//! restart (SIGKILL).
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it);
//! without it the test fails, naming the install command.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::path::Path;

fn run_phase(port: u16, data: &Path, state: &Path, phase: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/contacts.py");
    common::run_telethon_phase(script, port, data, state, phase);
}

#[test]
fn telethon_users_search_block_and_delete_contacts() {
    let dir = scratch_dir("telethon-contacts");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    let mut server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    for phase in ["signup", "contacts", "restart"] {
        run_phase(port, &data, &state, phase);
        // kill -9 between phases: what was answered must be durable.
        server.kill();
        server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
