//! End to end: message search through Telethon 1.45's high-level API against the real server
//! binary (`tests/telethon/search.py`): A sends B 10,000 messages through the server, a few
//! with distinct words, and a photo, a document and a link; after a restart,
//! `iter_messages(chat, search=...)` finds exactly the right ones (by prefix, in any case,
//! several words), with `filter=` and `from_user=`, pages through 500 hits seeing each once,
//! searches a channel; and one search over the 10,000 answers in under 50 ms (round trip,
//! printed). The server is killed (SIGKILL) and restarted between phases.
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it).

mod common;

use common::{ServerProcess, free_port, run_telethon_phase, scratch_dir};

#[test]
fn message_search_through_telethon() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/search.py");
    let dir = scratch_dir("telethon-search");
    let data = dir.join("data");
    let state = dir.join("state.json");
    // The photo A sends.
    let photo = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x / 2) as u8, (y / 2) as u8, ((x + y) / 3) as u8])
    });
    photo.save(dir.join("photo.png")).expect("test photo");
    let port = free_port();
    let binary = env!("CARGO_BIN_EXE_server-kit");
    let mut server = ServerProcess::start(binary, port, &data);
    for phase in ["signup", "fill", "search"] {
        // Its figures (send rate, search times) go to the test's output.
        print!("{}", run_telethon_phase(script, port, &data, &state, phase));
        server.kill();
        server = ServerProcess::start(binary, port, &data);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
