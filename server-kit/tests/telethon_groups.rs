//! End to end: the real server binary over loopback, Telethon 1.45 as four users
//! (`tests/telethon/groups.py`): basic groups — creating one, messages and replies to every
//! member, typing, the full chat, a new title, adding and removing members (with their
//! service messages), dialogs, migration to a megagroup; after a server kill -9 the history
//! is whole on every side and getDifference catches a member up. Drafts (saveDraft,
//! getAllDrafts, clear_draft, the dialog's draft) ride along and survive the restart; so do
//! profile photos (upload, seen and downloaded by another user, deleted).
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it);
//! without it the test fails, naming the install command.

mod common;

use common::{ServerProcess, free_port, scratch_dir};

#[test]
fn telethon_basic_groups() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/groups.py");
    let dir = scratch_dir("telethon-groups");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let avatar = image::RgbImage::from_fn(800, 800, |x, y| {
        image::Rgb([(x / 4) as u8, (y / 4) as u8, ((x + y) / 8) as u8])
    });
    avatar.save(dir.join("avatar.png")).expect("test avatar");
    let mut server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    for phase in ["signup", "groups", "restart"] {
        common::run_telethon_phase(script, port, &data, &state, phase);
        // kill -9 between phases: what was answered must be durable.
        server.kill();
        server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
