//! End to end across layers: GramJS (npm `telegram@2.26.22`, layer 198) against the real
//! server binary, while Telethon 1.45 (layer 229) chats with it. `tests/gramjs/e2e.js` is
//! GramJS's side (sign up and in, chat with pushed updates, history, dialogs, a 3 MiB file up
//! with parallel workers and down, a channel created, posted to, joined and read);
//! `tests/gramjs/telethon_peer.py` is Telethon's. Each sees the other's messages.
//!
//! Needs Node.js with GramJS installed from the committed lock file
//! (`npm ci --prefix server-kit/tests/gramjs`) and `python3` with `telethon==1.45.0`.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "npm ci --prefix server-kit/tests/gramjs";

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
fn gramjs_and_telethon_through_one_server() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let gramjs = Path::new(dir).join("tests/gramjs");
    assert!(
        gramjs.join("node_modules/telegram/package.json").exists(),
        "GramJS is not installed: run `{INSTALL}` from the workspace root"
    );
    let work = scratch_dir("gramjs");
    let data = work.join("data");
    let port = free_port();
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    let (node_out, node_err) = output_file(&work.join("gramjs.out"));
    let (py_out, py_err) = output_file(&work.join("telethon.out"));
    let node = Command::new("node")
        .arg(gramjs.join("e2e.js"))
        .arg(port.to_string())
        .arg(&data)
        .arg(&work)
        .current_dir(&gramjs)
        .stdout(node_out)
        .stderr(node_err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js, then `{INSTALL}`"));
    let python = Command::new("python3")
        .arg(gramjs.join("telethon_peer.py"))
        .arg(port.to_string())
        .arg(&data)
        .arg(&work)
        .stdout(py_out)
        .stderr(py_err)
        .spawn()
        .expect("python3 with telethon==1.45.0");
    let (node_ok, node_text) = wait(node, Duration::from_secs(240), &work.join("gramjs.out"));
    let (py_ok, py_text) = wait(python, Duration::from_secs(60), &work.join("telethon.out"));
    drop(server);
    let log = data.with_extension("log");
    assert!(
        node_ok && node_text.contains("gramjs ok"),
        "GramJS failed:\n{node_text}\nTelethon:\n{py_text}\nserver log: {}",
        log.display()
    );
    assert!(
        py_ok && py_text.contains("telethon ok"),
        "Telethon failed:\n{py_text}\nserver log: {}",
        log.display()
    );
    println!("GramJS:\n{node_text}\nTelethon:\n{py_text}");
    let _ = std::fs::remove_dir_all(&work);
}
