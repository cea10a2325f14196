//! The server's logs: `--log-format json` writes one JSON object per line, and what users
//! write never reaches the log, not even at debug level (message texts, names).

mod common;

use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_without_user_text() {
    let dir = scratch_dir("logs-json");
    let data = dir.join("data");
    let port = free_port();
    // ServerProcess sets RUST_LOG=server_kit=debug unless the caller chose otherwise.
    let server = ServerProcess::start_with(BINARY, port, &data, &["--log-format", "json"]);
    let addr = format!("127.0.0.1:{port}").parse().expect("address");
    let key = server_key(&data);
    let mut a = MiniClient::connect(addr, &key, Kind::Intermediate)
        .await
        .expect("connect");
    let mut b = MiniClient::connect(addr, &key, Kind::Abridged)
        .await
        .expect("connect");
    a.sign_up("15550199001", "Zyxwvutsrq", "Alice")
        .await
        .expect("sign up");
    let bob = b
        .sign_up("15550199002", "Qrstuvwxyz", "Bob")
        .await
        .expect("sign up");
    let peer = enums::InputPeer::User(types::InputPeerUser {
        user_id: bob.id,
        access_hash: bob.access_hash.unwrap_or_default(),
    });
    let secret = "the-text-only-users-may-read-3f9a";
    a.invoke(&functions::messages::SendMessage::new(
        peer,
        secret.to_owned(),
        77,
    ))
    .await
    .expect("sendMessage");
    server.kill();
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 3, "{log}");
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON object: {line}: {e}"));
        assert!(
            value.get("level").is_some() && value.get("fields").is_some(),
            "{line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("\"message\":\"serving\"")),
        "no serving line: {log}"
    );
    for private in [secret, "Zyxwvutsrq", "Qrstuvwxyz"] {
        assert!(!log.contains(private), "{private:?} is in the log:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
