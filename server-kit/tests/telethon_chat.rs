//! End to end: the real server binary over loopback, Telethon 1.45 as both users
//! (`tests/telethon/chat.py`). Two users sign up, chat with pushed updates, read, and one
//! catches up through getDifference after being offline. The server is killed (SIGKILL) and
//! restarted between every phase: nothing a client was told succeeded may be lost.
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/run` makes a venv with it);
//! without it the test fails, naming the install command.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "pip install telethon==1.45.0";

/// The server process; killed when dropped.
struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    fn start(port: u16, data: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))
            .expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_server-kit"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(data)
            .args(["--login-code", "12345"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the server");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ServerProcess { child }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "server-kit-{name}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run_phase(port: u16, data: &Path, state: &Path, phase: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/chat.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(data)
        .arg(state)
        .arg(phase)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3, then `{INSTALL}`"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'telethon'") {
        panic!("Telethon is missing: `{INSTALL}`");
    }
    assert!(
        output.status.success() && stdout.trim_end().ends_with(&format!("{phase} ok")),
        "phase {phase} failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log: {}",
        data.with_extension("log").display()
    );
}

#[test]
fn two_telethon_users_chat_across_server_restarts() {
    let dir = scratch_dir("telethon-chat");
    let data = dir.join("data");
    let state = dir.join("state.json");
    let port = free_port();
    let mut server = ServerProcess::start(port, &data);
    for phase in ["signup", "chat", "offline", "catchup"] {
        run_phase(port, &data, &state, phase);
        // kill -9 between phases: what was answered must be durable.
        server.kill();
        server = ServerProcess::start(port, &data);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
