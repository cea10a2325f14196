//! End to end: messaging as people use it, through Telethon 1.45's high-level API against the
//! real server binary (`tests/telethon/messaging.py`): replies in private chats (each side's
//! copy names its own copy of the replied message) and in a megagroup, surviving a restart;
//! forwards from a channel and from a private chat, forwarded on, without their author, and
//! into a megagroup; typing shown to the other user and to a group's members; online status
//! following connections and `account.updateStatus`, last seen kept across restarts; pins for
//! both sides and for one; reactions in a private chat and a megagroup, pushed to the other
//! side, replaced, taken back, refused when bad, and kept across a restart. The server is
//! killed (SIGKILL) and restarted between phases.
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it).

mod common;

use common::{ServerProcess, free_port, run_telethon_phase, scratch_dir};

#[test]
fn replies_forwards_typing_status_pins_and_reactions_through_telethon() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/messaging.py");
    let dir = scratch_dir("telethon-messaging");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    let binary = env!("CARGO_BIN_EXE_server-kit");
    let mut server = ServerProcess::start(binary, port, &data);
    for phase in [
        "signup",
        "replies",
        "restarted",
        "forwards",
        "typing",
        "status",
        "last_seen",
        "pins",
        "reactions",
        "reactions_kept",
    ] {
        run_telethon_phase(script, port, &data, &state, phase);
        server.kill();
        server = ServerProcess::start(binary, port, &data);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
