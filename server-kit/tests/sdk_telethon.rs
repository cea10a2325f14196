//! The project's client (client-sdk) and Telethon 1.45 talk to each other through the
//! reference server: Telethon receives what our client sends and the reverse
//! (tests/telethon/interop.py is Telethon's side).
//!
//! Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it).

mod common;

use client_sdk::api::{enums, functions};
use client_sdk::{Client, Config, FileSessionStore, SignInError};
use common::{ServerProcess, free_port, scratch_dir, server_key};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

#[test]
fn our_client_and_telethon_message_each_other() {
    let port = free_port();
    let data = scratch_dir("sdk-telethon");
    let _server = ServerProcess::start(BINARY, port, &data);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = Config::for_server(
            2,
            addr.to_string(),
            server_key(&data),
            Arc::new(FileSessionStore::new(data.join("rust.session"))),
        );
        let client = Client::connect(config).await.unwrap();
        let token = client.request_login_code("+1 555 0401").await.unwrap();
        assert!(matches!(
            client.sign_in(&token, "12345").await,
            Err(SignInError::SignUpRequired)
        ));
        client.sign_up(&token, "Rusty", "").await.unwrap();
        client
            .invoke(&functions::account::UpdateUsername {
                username: "sdk_interop".into(),
            })
            .await
            .unwrap();

        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/interop.py");
        let mut telethon = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&data)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with telethon 1.45.0 (see .ci/test.sh)");
        let mut lines = BufReader::new(telethon.stdout.take().unwrap()).lines();
        let ready = tokio::task::spawn_blocking(move || {
            let first = lines.next();
            (first, lines)
        });
        let (first, lines) = ready.await.unwrap();
        assert_eq!(first.unwrap().unwrap(), "READY");

        let tele = client.resolve_username("tele_interop").await.unwrap();
        client.send_message(&tele, "hi from rust").await.unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            let Some(update) = client.next_update_timeout(Duration::from_secs(30)).await else {
                panic!("Telethon's messages did not arrive; got {got:?}");
            };
            if let enums::Update::NewMessage(u) = update {
                if let enums::Message::Message(m) = u.message {
                    if !m.out {
                        assert_eq!(
                            m.from_id.as_ref().or(Some(&m.peer_id)),
                            Some(&enums::Peer::User(client_sdk::api::types::PeerUser {
                                user_id: tele.id
                            }))
                        );
                        got.push(m.message);
                    }
                }
            }
        }
        assert_eq!(got, ["echo: hi from rust", "from telethon"]);
        client.send_message(&tele, "bye").await.unwrap();
        let rest: Vec<String> =
            tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect())
                .await
                .unwrap();
        assert_eq!(rest, ["GOT hi from rust", "DONE"]);
        assert!(telethon.wait().unwrap().success(), "Telethon's side failed");
    });
}
