//! End to end: the real server binary over loopback, Telethon 1.45 as two users playing the
//! whole secret chat protocol on the raw API (`tests/telethon/secret.py`: the DH exchange
//! through getDhConfig, requestEncryption and acceptEncryption with the key fingerprint
//! checked on both sides, MTProto 2.0 end-to-end encryption of decryptedMessageLayer,
//! messages both ways, typing, a read receipt, receivedQueue, the qts box recovered by
//! getDifference after a kill -9, encrypted files small and big, discard, a chat ended by
//! auth.logOut), a third session of one user that sees none of it, and a second device of
//! the other that sees the request go once the first accepted it, and nothing more. Afterwards no plaintext the clients exchanged
//! is anywhere in the server's data directory (database, write-ahead log, media) or its log.
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it);
//! without it the test fails, naming the install command.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::path::Path;

/// What every plaintext of the Python side holds (`MARKER` in secret.py).
const MARKER: &[u8] = b"PLAINTEXT-MARKER-5ec7e7";

/// The files under `dir` (recursively) that contain `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read the data dir") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .expect("read a data file")
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[test]
fn telethon_secret_chats() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/secret.py");
    let dir = scratch_dir("telethon-secret");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let mut server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    for phase in ["signup", "chat", "restart"] {
        common::run_telethon_phase(script, port, &data, &state, phase);
        // kill -9 between phases: what was answered must be durable.
        server.kill();
        server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    }
    server.kill();
    // The clients' own state (outside the data directory) keeps some texts: the scan sees them.
    assert!(
        files_holding(&dir, MARKER)
            .iter()
            .any(|f| f.ends_with("state.json"))
    );
    let leaked = files_holding(&data, MARKER);
    assert!(
        leaked.is_empty(),
        "plaintext in the server's files: {leaked:?}"
    );
    let log = std::fs::read(data.with_extension("log")).expect("the server log");
    assert!(
        !log.windows(MARKER.len()).any(|w| w == MARKER),
        "plaintext in the server's log"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real third-party secret chat peer: `telethon-secret-chat` 0.2.4 (PyPI, pinned in
/// `.ci/test.sh`) as one user and the raw-API peer of secret.py as the other, each starting
/// a chat once, messages both ways in each.
#[test]
fn telethon_secret_chat_plugin() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/secret.py");
    let dir = scratch_dir("telethon-secret-plugin");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    for phase in ["signup", "plugin"] {
        common::run_telethon_phase(script, port, &data, &state, phase);
    }
    server.kill();
    let leaked = files_holding(&data, MARKER);
    assert!(
        leaked.is_empty(),
        "plaintext in the server's files: {leaked:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
