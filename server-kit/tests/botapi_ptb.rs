//! End to end: real bot frameworks, each an ordinary long-polling bot program changed from a
//! Telegram bot only by its base URL, against our `--bot-api`: python-telegram-bot 22.8
//! (`tests/botapi/ptb_echo_bot.py`) and aiogram 3.31.0 (`tests/botapi/aiogram_bot.py`). A
//! Telethon user (`tests/botapi/telethon_user.py`) talks to each: /start is answered with an
//! inline keyboard it sees (`message.buttons`); a press is answered (`click()` returns the
//! answer text) and the bot edits the message; text is echoed as a reply; /bold comes back
//! formatted (HTML parse mode, entities); /delete's answer is deleted by the bot; the commands
//! the bot set are in users.getFullUser.
//!
//! Needs each framework in a venv of its own: `$PTB_PYTHON`, else `.venv-ptb/bin/python3`
//! at the workspace root, and `$AIOGRAM_PYTHON`, else `.venv-aiogram/bin/python3`
//! (`.ci/test.sh` makes both with the pinned versions); and `python3` with Telethon
//! (`pip install telethon==1.45.0`).

mod common;

use common::{ServerProcess, TELETHON_INSTALL, free_port, scratch_dir};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

/// The Python of a framework's venv: `$VAR`, else `DIR/bin/python3` at the workspace root.
fn framework_python(var: &str, dir: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .join(dir)
            .join("bin/python3")
    })
}

/// Runs `script` (a bot program taking BASE TOKEN; `base` makes BASE from the Bot API port)
/// with `python` against a new server, and the Telethon user against it.
fn run_with_a_telethon_user(name: &str, python: PathBuf, script: &str, base: fn(u16) -> String) {
    let dir = scratch_dir(&format!("botapi-{name}"));
    let data = dir.join("data");
    let username = format!("{name}_echo_bot");
    let out = Command::new(BINARY)
        .arg("create-bot")
        .arg("--data")
        .arg(&data)
        .args([username.as_str(), "Echo"])
        .output()
        .expect("create-bot");
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout)
        .expect("token")
        .trim()
        .to_owned();
    let (port, bot_port) = (free_port(), free_port());
    let server = ServerProcess::start_with(
        BINARY,
        port,
        &data,
        &["--bot-api", &format!("127.0.0.1:{bot_port}")],
    );
    assert!(
        python.exists(),
        "no {name} venv at {} (run .ci/test.sh --setup-only)",
        python.display()
    );
    let bot_log = dir.join(format!("{name}.log"));
    let mut bot = Command::new(&python)
        .arg(script)
        .arg(base(bot_port))
        .arg(&token)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&bot_log).expect("bot log"))
        .spawn()
        .expect("start the bot program");
    let user = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/botapi/telethon_user.py"
        ))
        .arg(port.to_string())
        .arg(&data)
        .arg(&username)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): `{TELETHON_INSTALL}`"));
    let _ = bot.kill();
    let _ = bot.wait();
    let stdout = String::from_utf8_lossy(&user.stdout);
    let stderr = String::from_utf8_lossy(&user.stderr);
    assert!(
        user.status.success() && stdout.trim_end().ends_with("ok"),
        "the user's side failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nbot log:\n{}\nserver log: {}",
        std::fs::read_to_string(&bot_log).unwrap_or_default(),
        data.with_extension("log").display()
    );
    // The bot saw no error from the server.
    let log = std::fs::read_to_string(&bot_log).unwrap_or_default();
    assert!(
        !log.contains("Traceback") && !log.contains(" ERROR "),
        "the bot logged errors:\n{log}"
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn python_telegram_bot_serves_a_telethon_user() {
    run_with_a_telethon_user(
        "ptb",
        framework_python("PTB_PYTHON", ".venv-ptb"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/botapi/ptb_echo_bot.py"),
        |port| format!("http://127.0.0.1:{port}/bot"),
    );
}

#[test]
fn aiogram_serves_a_telethon_user() {
    run_with_a_telethon_user(
        "aiogram",
        framework_python("AIOGRAM_PYTHON", ".venv-aiogram"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/botapi/aiogram_bot.py"),
        |port| format!("http://127.0.0.1:{port}"),
    );
}
