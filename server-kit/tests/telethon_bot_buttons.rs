//! End to end over MTProto: a Telethon 1.45 bot signed in with its token and a Telethon user
//! (`tests/telethon/bot_buttons.py`): inline keyboards (callback and URL buttons) sent and
//! edited by the bot and seen by the user, reply keyboards, their removal and forced replies;
//! a button press reaching the bot as `updateBotCallbackQuery`, its answer returned by the
//! user's `click()`, an unanswered press timing out; bot commands in `users.getFullUser`.
//!
//! Needs `python3` with `pip install telethon==1.45.0`.

mod common;

use common::{ServerProcess, TELETHON_INSTALL, free_port, scratch_dir};
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

#[test]
fn telethon_bot_keyboards_and_callback_queries() {
    let dir = scratch_dir("telethon-bot-buttons");
    let data = dir.join("data");
    let out = Command::new(BINARY)
        .arg("create-bot")
        .arg("--data")
        .arg(&data)
        .args(["buttons_bot", "Buttons"])
        .output()
        .expect("create-bot");
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout)
        .expect("token")
        .trim()
        .to_owned();
    let port = free_port();
    let server = ServerProcess::start(BINARY, port, &data);
    let run = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/telethon/bot_buttons.py"
        ))
        .arg(port.to_string())
        .arg(&data)
        .arg(&token)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): `{TELETHON_INSTALL}`"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success() && stdout.trim_end().ends_with("ok"),
        "stdout:\n{stdout}\nstderr:\n{stderr}\nserver log: {}",
        data.with_extension("log").display()
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
