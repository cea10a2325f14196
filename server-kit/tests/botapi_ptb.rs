//! End to end: a real python-telegram-bot 22.8 echo bot (`tests/botapi/ptb_echo_bot.py`),
//! long polling our `--bot-api`, changed from a Telegram bot only by its base URL; a Telethon
//! user (`tests/botapi/telethon_user.py`) sends it /start (a CommandHandler answers) and
//! "ping", and gets "ping" back as a reply.
//!
//! Needs PTB in a venv of its own: `$PTB_PYTHON`, else `.venv-ptb/bin/python3` at the
//! workspace root (`.ci/test.sh` makes it with `python-telegram-bot==22.8`); and `python3`
//! with Telethon (`pip install telethon==1.45.0`).

mod common;

use common::{ServerProcess, TELETHON_INSTALL, free_port, scratch_dir};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

/// The Python with python-telegram-bot.
fn ptb_python() -> PathBuf {
    std::env::var_os("PTB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../.venv-ptb/bin/python3"
            ))
        })
}

#[test]
fn python_telegram_bot_echoes_to_a_telethon_user() {
    let dir = scratch_dir("botapi-ptb");
    let data = dir.join("data");
    let out = Command::new(BINARY)
        .arg("create-bot")
        .arg("--data")
        .arg(&data)
        .args(["ptb_echo_bot", "PTB Echo"])
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
    let python = ptb_python();
    assert!(
        python.exists(),
        "no python-telegram-bot venv at {} (run .ci/test.sh --setup-only, or set PTB_PYTHON)",
        python.display()
    );
    let bot_log = dir.join("ptb.log");
    let mut bot = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/botapi/ptb_echo_bot.py"
        ))
        .arg(format!("http://127.0.0.1:{bot_port}/bot"))
        .arg(&token)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&bot_log).expect("bot log"))
        .spawn()
        .expect("start the PTB bot");
    let user = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/botapi/telethon_user.py"
        ))
        .arg(port.to_string())
        .arg(&data)
        .arg("ptb_echo_bot")
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
