//! The server's logs: `--log-format json` writes one JSON object per line, each call runs in
//! an `rpc` span with its method and user id and ends with a `call answered` event (elapsed
//! time, outcome), and what users write or hold never reaches the log, not even at debug
//! level (message texts, names, the login code they type, auth key bytes).

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
    // ServerProcess sets RUST_LOG=server_kit=debug unless the caller chose otherwise. A
    // fixed login code sends no SMS, so the development SMS provider does not log it.
    let code = "8317402965";
    let server = ServerProcess::start_exactly(
        BINARY,
        port,
        &data,
        &["--log-format", "json", "--login-code", code],
    );
    let addr = format!("127.0.0.1:{port}").parse().expect("address");
    let key = server_key(&data);
    let mut a = MiniClient::connect(addr, &key, Kind::Intermediate)
        .await
        .expect("connect");
    let mut b = MiniClient::connect(addr, &key, Kind::Abridged)
        .await
        .expect("connect");
    let sign_up = async |c: &mut MiniClient, phone: &str, first: &str, last: &str| {
        let hash = c.send_code(phone).await.expect("sendCode");
        c.sign_up_with_code(phone, &hash, code, first, last)
            .await
            .expect("sign up")
    };
    let alice = sign_up(&mut a, "15550199001", "Zyxwvutsrq", "Alice").await;
    let bob = sign_up(&mut b, "15550199002", "Qrstuvwxyz", "Bob").await;
    let peer = enums::InputPeer::User(types::InputPeerUser {
        user_id: bob.id,
        access_hash: bob.access_hash.unwrap_or_default(),
    });
    let secret = "the-text-only-users-may-read-3f9a";
    // Alice again, on a new key, signing in with the code she was "sent".
    let mut c = MiniClient::connect(addr, &key, Kind::PaddedIntermediate)
        .await
        .expect("connect");
    let enums::auth::SentCode::SentCode(sent) = c
        .invoke(&functions::auth::SendCode {
            phone_number: "15550199001".into(),
            api_id: 1,
            api_hash: "x".into(),
            settings: types::CodeSettings::default().into(),
        })
        .await
        .expect("sendCode")
    else {
        panic!("sendCode: not a code");
    };
    c.invoke(&functions::auth::SignIn {
        phone_number: "15550199001".into(),
        phone_code_hash: sent.phone_code_hash,
        phone_code: Some(code.into()),
        email_verification: None,
    })
    .await
    .expect("signIn");
    c.invoke(&functions::messages::SendMessage::new(
        peer,
        secret.to_owned(),
        77,
    ))
    .await
    .expect("sendMessage");
    let keys: Vec<[u8; 256]> = [&mut a, &mut b, &mut c]
        .into_iter()
        .map(|client| *client.session().auth_key().bytes())
        .collect();
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
    let events: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // The call that sent the message: its span names the method and the signed-in user, its
    // last event how long it took and how it ended.
    let answered = events
        .iter()
        .find(|e| {
            e["fields"]["message"] == "call answered"
                && e["span"]["name"] == "rpc"
                && e["span"]["method"] == "messages.sendMessage"
        })
        .unwrap_or_else(|| panic!("no answered sendMessage:\n{log}"));
    assert_eq!(answered["span"]["user_id"], alice.id, "{answered}");
    assert_eq!(answered["fields"]["outcome"], "ok", "{answered}");
    assert!(answered["fields"]["elapsed_ms"].is_f64(), "{answered}");
    // Before signing in a call has no user; signIn itself is named.
    let sign_in = events
        .iter()
        .find(|e| e["span"]["method"] == "auth.signIn")
        .unwrap_or_else(|| panic!("no auth.signIn span:\n{log}"));
    assert!(sign_in["span"].get("user_id").is_none(), "{sign_in}");

    for private in [secret, "Zyxwvutsrq", "Qrstuvwxyz", code] {
        assert!(!log.contains(private), "{private:?} is in the log:\n{log}");
    }
    // Auth keys, in any of the forms a careless log line would take: hex (either case) of
    // any part of a key, or a Debug list of its bytes.
    for key in &keys {
        for window in key.chunks(16) {
            let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!log.contains(&hex), "auth key bytes (hex) in the log");
            assert!(
                !log.contains(&hex.to_uppercase()),
                "auth key bytes (HEX) in the log"
            );
            let list: Vec<String> = window[..6].iter().map(u8::to_string).collect();
            assert!(
                !log.contains(&list.join(", ")),
                "auth key bytes (a list) in the log"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
