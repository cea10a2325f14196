//! End to end: the real server binary over loopback, Telethon 1.45 as both users
//! (`tests/telethon/chat.py`). Two users sign up, chat with pushed updates, read, and one
//! catches up through getDifference after being offline; A runs a broadcast channel that B
//! joins and reads; a photo arrives with its sizes; then a 3 MiB and a 12 MiB file go
//! from one to the other and come back byte-exact; last, 300 messages and 300 posts sent at
//! once are paged whole by Telethon's `iter_messages`, forwards and in reverse. The server is killed (SIGKILL) and
//! restarted between every phase: nothing a client was told succeeded may be lost.
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it);
//! without it the test fails, naming the install command.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::path::Path;
use std::process::Command;

const INSTALL: &str = common::TELETHON_INSTALL;

fn run_phase(port: u16, data: &Path, state: &Path, phase: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/chat.py");
    common::run_telethon_phase(script, port, data, state, phase);
}

#[test]
fn two_telethon_users_chat_across_server_restarts() {
    let dir = scratch_dir("telethon-chat");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    // The photo A sends in the "photo" phase.
    let photo = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x / 7) as u8, (y / 5) as u8, ((x + y) / 11) as u8])
    });
    photo.save(dir.join("photo.png")).expect("test photo");
    let mut server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    for phase in [
        "signup", "chat", "offline", "catchup", "channel", "photo", "files", "paging",
    ] {
        run_phase(port, &data, &state, phase);
        // kill -9 between phases: what was answered must be durable.
        server.kill();
        server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's quick start: `examples/telethon/hello.py` signs up a new number, then (run
/// again) signs the same number in, and each time reads back the message it sent itself.
#[test]
fn readme_quick_start_telethon_script() {
    let dir = scratch_dir("telethon-hello");
    let data = dir.join("data");
    let port = free_port();
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/telethon/hello.py");
    for run in ["sign-up", "sign-in"] {
        let output = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&data)
            .arg("+15550177")
            .output()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}): `{INSTALL}`"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.trim_end() == "hello from Telethon",
            "{run}: hello.py failed\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
