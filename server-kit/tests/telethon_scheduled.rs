//! End to end: the real server binary over loopback, Telethon 1.45 as three users
//! (`tests/telethon/scheduled.py`): scheduled messages to a user and a group (text and a
//! photo) arrive at their time, deleted ones never, "send now" at once; one falls due while
//! the server is down (killed with -9) and arrives once after the restart.
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it);
//! without it the test fails, naming the install command.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::time::Duration;

/// Longer than the script's `OUTAGE_DUE_SECONDS`: the message falls due while the server is
/// down.
const OUTAGE: Duration = Duration::from_secs(8);

#[test]
fn telethon_scheduled_messages() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/scheduled.py");
    let dir = scratch_dir("telethon-scheduled");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let photo = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x / 2) as u8, (y / 2) as u8, ((x + y) / 4) as u8])
    });
    photo.save(dir.join("photo.png")).expect("test photo");
    let server_bin = env!("CARGO_BIN_EXE_server-kit");
    let mut server = ServerProcess::start(server_bin, port, &data);
    common::run_telethon_phase(script, port, &data, &state, "signup");
    common::run_telethon_phase(script, port, &data, &state, "schedule");
    server.kill();
    std::thread::sleep(OUTAGE);
    server = ServerProcess::start(server_bin, port, &data);
    common::run_telethon_phase(script, port, &data, &state, "restart");
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
