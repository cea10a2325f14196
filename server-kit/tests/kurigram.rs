//! End to end: kurigram 2.2.26 (PyPI, import name `pyrogram`, layer 229) against the real
//! server binary with a Telethon 1.45 peer (`tests/kurigram/flow.py`): sign up and in, send,
//! receive (kurigram fetches full messages through getDifference), download on its media
//! session.
//!
//! Needs `python3` with `kurigram==2.2.26` and `telethon==1.45.0`.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "pip install kurigram==2.2.26 telethon==1.45.0";

/// Waits for `child` at most `limit` (then kills it); whether it exited successfully, and
/// what it wrote (to `out`).
fn wait(mut child: Child, limit: Duration, out: &Path) -> (bool, String) {
    let deadline = Instant::now() + limit;
    let ok = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    (ok, std::fs::read_to_string(out).unwrap_or_default())
}

/// A file for a child's stdout and stderr.
fn output_file(path: &Path) -> (Stdio, Stdio) {
    let file = File::create(path).expect("output file");
    let copy = file.try_clone().expect("output file");
    (Stdio::from(file), Stdio::from(copy))
}

#[test]
fn kurigram_signs_in_sends_receives_and_downloads() {
    let work = scratch_dir("kurigram");
    let data = work.join("data");
    let port = free_port();
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    let out = work.join("kurigram.out");
    let (stdout, stderr) = output_file(&out);
    let python = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kurigram/flow.py"
        ))
        .arg(port.to_string())
        .arg(&data)
        .current_dir(&work)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): `{INSTALL}`"));
    let (ok, text) = wait(python, Duration::from_secs(180), &out);
    drop(server);
    assert!(
        !text.contains("No module named 'pyrogram'"),
        "kurigram is missing: `{INSTALL}`"
    );
    assert!(
        ok && text.contains("kurigram ok"),
        "kurigram failed:\n{text}\nserver log: {}",
        data.with_extension("log").display()
    );
    let _ = std::fs::remove_dir_all(&work);
}
