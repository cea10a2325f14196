//! End to end, several client families at once against one real server binary: mtcute (npm
//! `@mtcute/node` 0.30.3, layer 227, TCP intermediate; `tests/mtcute/flow.mjs`) and
//! pyrotgfork (PyPI 2.2.24.1, layer 227, obfuscated abridged; `tests/pyrotgfork/flow.py`),
//! with Telethon 1.45 (layer 229; `tests/telethon/peer.py`) answering both. Each signs in,
//! chats with Telethon through pushed updates, pages the whole of a chat into which it sent
//! 160 messages at once with its own history iterator, sends a file that Telethon downloads
//! and sends back and downloads both, and creates a channel that it reads and Telethon joins
//! and reads.
//!
//! mtcute refuses to sign up, so its account is made first, here, with the test client.
//!
//! Needs Node.js with mtcute installed from the committed lock file
//! (`npm ci --prefix server-kit/tests/mtcute`), `python3` with `telethon==1.45.0`, and
//! pyrotgfork in a venv of its own (it installs the `pyrogram` module, as kurigram does):
//! `.venv-test-pyrotgfork/` at the workspace root, or the interpreter named by
//! `PYROTGFORK_PYTHON`. `.ci/test.sh --setup-only` makes all of them.

mod common;

use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SETUP: &str = "run `.ci/test.sh --setup-only` from the workspace root";
const MTCUTE_PHONE: &str = "+15550911";

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

/// Starts `program` with `args`, its stdout and stderr going to `out`.
fn spawn(program: &Path, args: &[&dyn AsRef<std::ffi::OsStr>], cwd: &Path, out: &Path) -> Child {
    let file = File::create(out).expect("output file");
    let copy = file.try_clone().expect("output file");
    let mut command = Command::new(program);
    for arg in args {
        command.arg(arg);
    }
    command
        .current_dir(cwd)
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(copy))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): {SETUP}", program.display()))
}

/// The interpreter of pyrotgfork's venv.
fn pyrotgfork_python() -> PathBuf {
    let path = std::env::var_os("PYROTGFORK_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-test-pyrotgfork/bin/python3"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "pyrotgfork's venv is missing ({}): {SETUP}",
        path.display()
    );
    path
}

/// Makes the account mtcute signs in to.
fn sign_up_mtcute_account(port: u16, data: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let addr = format!("127.0.0.1:{port}").parse().expect("address");
        let mut client = MiniClient::connect(addr, &server_key(data), Kind::Intermediate)
            .await
            .expect("connect");
        client
            .sign_up(MTCUTE_PHONE, "Mt", "A")
            .await
            .expect("sign up mtcute's account");
    });
}

#[test]
fn mtcute_and_pyrotgfork_with_telethon_through_one_server() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mtcute = dir.join("mtcute");
    assert!(
        mtcute
            .join("node_modules/@mtcute/node/package.json")
            .exists(),
        "mtcute is not installed: {SETUP}"
    );
    let pyro_python = pyrotgfork_python();
    let work = scratch_dir("peers");
    let data = work.join("data");
    let port = free_port();
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    sign_up_mtcute_account(port, &data);

    let port_arg = port.to_string();
    let outs = ["telethon", "mtcute", "pyrotgfork"].map(|name| work.join(format!("{name}.out")));
    let telethon = spawn(
        Path::new("python3"),
        &[
            &dir.join("telethon/peer.py"),
            &port_arg,
            &data,
            &work,
            &"mtcute_a,pyro_a",
        ],
        &work,
        &outs[0],
    );
    let node = spawn(
        Path::new("node"),
        &[
            &mtcute.join("flow.mjs"),
            &port_arg,
            &data,
            &work,
            &MTCUTE_PHONE,
        ],
        &mtcute,
        &outs[1],
    );
    let pyro = spawn(
        &pyro_python,
        &[&dir.join("pyrotgfork/flow.py"), &port_arg, &data, &work],
        &work,
        &outs[2],
    );
    let limit = Duration::from_secs(300);
    let (node_ok, node_text) = wait(node, limit, &outs[1]);
    let (pyro_ok, pyro_text) = wait(pyro, limit, &outs[2]);
    let (tele_ok, tele_text) = wait(telethon, Duration::from_secs(30), &outs[0]);
    drop(server);
    let results = [
        (
            "mtcute",
            node_ok && node_text.contains("mtcute ok"),
            &node_text,
        ),
        (
            "pyrotgfork",
            pyro_ok && pyro_text.contains("pyrotgfork ok"),
            &pyro_text,
        ),
        (
            "Telethon",
            tele_ok && tele_text.contains("telethon ok"),
            &tele_text,
        ),
    ];
    let report: String = results
        .iter()
        .map(|(name, ok, text)| {
            let verdict = if *ok { "passed" } else { "FAILED" };
            format!("--- {name}: {verdict}\n{text}\n")
        })
        .collect();
    assert!(
        results.iter().all(|(_, ok, _)| *ok),
        "{report}server log: {}",
        data.with_extension("log").display()
    );
    println!("{report}");
    let _ = std::fs::remove_dir_all(&work);
}
