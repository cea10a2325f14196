//! The HTTP Bot API frontend (`--bot-api ADDR`, crate `server-kit-botapi`) over raw HTTP/1.1
//! against the real binary: the error shapes and statuses frameworks pick exceptions from,
//! getMe, getUpdates long polling (an empty answer after the timeout, an early one when a
//! message arrives), offsets confirming updates (kept across a SIGKILL; negative ones), 409 for a second concurrent getUpdates,
//! sendMessage replying, seen by the user over MTProto; and a webhook: a receiver on loopback
//! gets the updates POSTed in order with the secret token header, a failure is retried and
//! reported by getWebhookInfo, getUpdates answers 409 meanwhile, and the webhook outlives a
//! SIGKILL.

mod common;

use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

/// One HTTP/1.1 request (`Connection: close`): the status and the JSON body.
fn http(port: u16, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the Bot API");
    stream
        .set_read_timeout(Some(Duration::from_secs(70)))
        .expect("timeout");
    let content_type = if content_type.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {content_type}\r\n")
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{content_type}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let answer = String::from_utf8(answer).expect("UTF-8 answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(body).expect("a JSON body"))
}

/// POSTs a form to `/bot<token>/<method>`; the `result` of a 200, or the error's status and
/// body.
fn call(port: u16, token: &str, method: &str, form: &str) -> Result<Value, (u16, Value)> {
    let path = format!("/bot{token}/{method}");
    let (status, body) = http(
        port,
        "POST",
        &path,
        "application/x-www-form-urlencoded",
        form,
    );
    if status == 200 {
        assert_eq!(body["ok"], true, "{body}");
        Ok(body["result"].clone())
    } else {
        Err((status, body))
    }
}

/// `server-kit create-bot`: the token.
fn create_bot(data: &Path, username: &str) -> String {
    let out = std::process::Command::new(BINARY)
        .arg("create-bot")
        .arg("--data")
        .arg(data)
        .args([username, "Echo Bot"])
        .output()
        .expect("create-bot");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .expect("token")
        .trim()
        .to_owned()
}

/// A server with a bot and the Bot API: (server, MTProto port, Bot API port, token).
fn start(name: &str) -> (ServerProcess, std::path::PathBuf, u16, u16, String) {
    let dir = scratch_dir(name);
    let data = dir.join("data");
    let token = create_bot(&data, "echo_bot");
    let (port, bot_port) = (free_port(), free_port());
    let server = ServerProcess::start_with(
        BINARY,
        port,
        &data,
        &["--bot-api", &format!("127.0.0.1:{bot_port}")],
    );
    (server, data, port, bot_port, token)
}

#[test]
fn errors_have_the_bot_api_shape() {
    let (server, _data, _port, bot_port, token) = start("botapi-errors");
    let bot_id: i64 = token.split(':').next().unwrap().parse().unwrap();
    // getMe, by GET and by POST with no body, any case.
    for (method, path) in [
        ("GET", format!("/bot{token}/getMe")),
        ("POST", format!("/bot{token}/GETME")),
    ] {
        let (status, body) = http(bot_port, method, &path, "", "");
        assert_eq!(status, 200, "{body}");
        let me = &body["result"];
        assert_eq!(me["id"], bot_id);
        assert_eq!(me["is_bot"], true);
        assert_eq!(me["first_name"], "Echo Bot");
        assert_eq!(me["username"], "echo_bot");
        assert_eq!(me["can_join_groups"], true);
    }
    // Bad tokens: malformed, another bot's id, a wrong secret.
    let wrong_secret = format!("{bot_id}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for bad in ["nonsense", "999999:abc", wrong_secret.as_str()] {
        let (status, body) = call(bot_port, bad, "getMe", "").unwrap_err();
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["ok"], false);
        assert_eq!(body["error_code"], 401);
        assert_eq!(body["description"], "Unauthorized: invalid token specified");
    }
    let (status, body) = call(bot_port, &token, "noSuchMethod", "").unwrap_err();
    assert_eq!((status, &body["error_code"]), (404, &Value::from(404)));
    assert_eq!(body["description"], "Not Found: method not found");
    let (status, _) = http(bot_port, "GET", "/favicon.ico", "", "");
    assert_eq!(status, 404);
    // Bad parameters: 400 with a description, never a dropped connection.
    for (method, form) in [
        ("getUpdates", "offset=abc"),
        ("sendMessage", "text=hi"),
        ("sendMessage", "chat_id=424242&text=hi"),
        ("sendMessage", "chat_id=x&text=hi"),
        ("sendMessage", "chat_id=1&text=hi&reply_parameters=%7Bnot"),
    ] {
        let (status, body) = call(bot_port, &token, method, form).unwrap_err();
        assert_eq!(status, 400, "{method} {form}: {body}");
        assert_eq!(body["error_code"], 400);
        assert!(
            body["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Bad Request: ")),
            "{body}"
        );
    }
    let path = format!("/bot{token}/getUpdates");
    let (status, body) = http(bot_port, "POST", &path, "application/json", "{oops");
    assert_eq!(status, 400, "{body}");
    // JSON bodies and query strings work too.
    let (status, body) = http(
        bot_port,
        "POST",
        &path,
        "application/json",
        r#"{"timeout":0}"#,
    );
    assert_eq!((status, &body["result"]), (200, &Value::Array(vec![])));
    let (status, _) = http(
        bot_port,
        "GET",
        &format!("{path}?timeout=0&limit=5"),
        "",
        "",
    );
    assert_eq!(status, 200);
    let info = call(bot_port, &token, "getWebhookInfo", "").unwrap();
    assert_eq!(info["url"], "");
    assert_eq!(call(bot_port, &token, "deleteWebhook", "").unwrap(), true);
    server.kill();
}

/// A signed-up user over MTProto, and the bot as that user's peer.
async fn user_and_bot(port: u16, data: &Path) -> (MiniClient, enums::InputPeer) {
    user_and_bot_as(port, data, "+1 555 0401").await
}

/// [`user_and_bot`] with this phone number.
async fn user_and_bot_as(port: u16, data: &Path, phone: &str) -> (MiniClient, enums::InputPeer) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut user = MiniClient::connect(addr, &server_key(data), Kind::Intermediate)
        .await
        .expect("connect");
    user.sign_up(phone, "Ann", "Lee").await.expect("sign up");
    let enums::contacts::ResolvedPeer::ResolvedPeer(resolved) = user
        .invoke(&functions::contacts::ResolveUsername {
            username: "echo_bot".into(),
            referer: None,
        })
        .await
        .expect("resolve the bot");
    let enums::User::User(bot) = &resolved.users[0] else {
        panic!("{resolved:?}")
    };
    let peer = types::InputPeerUser {
        user_id: bot.id,
        access_hash: bot.access_hash.expect("access hash"),
    }
    .into();
    (user, peer)
}

async fn say(user: &mut MiniClient, bot: &enums::InputPeer, text: &str, random_id: i64) {
    user.invoke(&functions::messages::SendMessage::new(
        bot.clone(),
        text.into(),
        random_id,
    ))
    .await
    .expect("send to the bot");
}

/// getUpdates on a blocking thread: the answer and how long it took.
async fn poll(bot_port: u16, token: &str, form: &str) -> (Vec<Value>, Duration) {
    let (token, form) = (token.to_owned(), form.to_owned());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let result = call(bot_port, &token, "getUpdates", &form).expect("getUpdates");
        let updates = result.as_array().expect("an array").clone();
        (updates, started.elapsed())
    })
    .await
    .expect("poll")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_offsets_and_replies() {
    let (server, data, port, bot_port, token) = start("botapi-updates");
    let (mut user, bot) = user_and_bot(port, &data).await;
    say(&mut user, &bot, "/start", 1).await;
    say(&mut user, &bot, "hello", 2).await;

    let info = tokio::task::spawn_blocking({
        let token = token.clone();
        move || call(bot_port, &token, "getWebhookInfo", "").expect("getWebhookInfo")
    })
    .await
    .unwrap();
    assert_eq!(info["pending_update_count"], 2, "{info}");
    // Both are pending, in order, with what frameworks check.
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    let first = &updates[0];
    let message = &first["message"];
    assert_eq!(message["text"], "/start");
    assert_eq!(message["entities"][0]["type"], "bot_command");
    assert_eq!(message["entities"][0]["length"], 6);
    assert_eq!(message["from"]["first_name"], "Ann");
    assert_eq!(message["from"]["is_bot"], false);
    assert_eq!(message["chat"]["type"], "private");
    assert_eq!(message["chat"]["id"], message["from"]["id"]);
    assert!(message["date"].as_i64().is_some_and(|d| d > 0));
    let second_id = updates[1]["update_id"].as_i64().expect("update_id");
    assert!(second_id > first["update_id"].as_i64().unwrap());
    assert_eq!(updates[1]["message"]["text"], "hello");
    // limit; not confirmed yet: the same again.
    let (updates, _) = poll(bot_port, &token, "timeout=0&limit=1").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["message"]["text"], "/start");
    // An offset confirms everything below it.
    let (updates, _) = poll(bot_port, &token, &format!("offset={second_id}&timeout=0")).await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["update_id"], second_id);
    let next = second_id + 1;
    // Nothing pending: the long poll answers [] after its timeout.
    let (updates, took) = poll(bot_port, &token, &format!("offset={next}&timeout=2")).await;
    assert!(updates.is_empty(), "{updates:?}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Confirmed updates stay confirmed when the bot starts over from offset 0.
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    assert!(updates.is_empty(), "{updates:?}");

    // A message during a long poll ends it at once.
    let waiting = tokio::spawn({
        let token = token.clone();
        async move { poll(bot_port, &token, &format!("offset={next}&timeout=20")).await }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sent = Instant::now();
    say(&mut user, &bot, "ping", 3).await;
    let (updates, took) = waiting.await.expect("poll");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(took < Duration::from_secs(5), "held {took:?}");
    assert!(sent.elapsed() < Duration::from_secs(3));
    let ping = &updates[0]["message"];
    assert_eq!(ping["text"], "ping");

    // The bot replies; the user gets it pushed over MTProto, as a reply.
    let chat_id = ping["chat"]["id"].as_i64().unwrap();
    let ping_id = ping["message_id"].as_i64().unwrap();
    let reply = tokio::task::spawn_blocking({
        let token = token.clone();
        move || {
            let form = format!(
                "chat_id={chat_id}&text=pong&reply_parameters=%7B%22message_id%22%3A{ping_id}%7D"
            );
            call(bot_port, &token, "sendMessage", &form).expect("sendMessage")
        }
    })
    .await
    .unwrap();
    assert_eq!(reply["text"], "pong");
    assert_eq!(reply["from"]["username"], "echo_bot");
    assert_eq!(reply["chat"]["id"], chat_id);
    assert_eq!(reply["reply_to_message"]["text"], "ping");
    assert_eq!(reply["reply_to_message"]["message_id"], ping_id);
    let deadline = Instant::now() + Duration::from_secs(10);
    let pushed = loop {
        let (_, update) = user
            .next_update(deadline.saturating_duration_since(Instant::now()))
            .await
            .expect("the reply pushed to the user");
        let Ok(updates) = <enums::Updates as tl_runtime::Deserialize>::from_bytes(update) else {
            continue;
        };
        let found = match updates {
            enums::Updates::Updates(u) => u.updates.into_iter().find_map(|u| match u {
                enums::Update::NewMessage(n) => Some(n.message),
                _ => None,
            }),
            _ => None,
        };
        if let Some(enums::Message::Message(m)) = found {
            break m;
        }
    };
    assert_eq!(pushed.message, "pong");
    assert!(pushed.reply_to.is_some(), "{pushed:?}");
    // The bot's own message is no update for it.
    let (updates, _) = poll(
        bot_port,
        &token,
        &format!(
            "offset={}&timeout=0",
            updates[0]["update_id"].as_i64().unwrap() + 1
        ),
    )
    .await;
    assert!(updates.is_empty(), "{updates:?}");

    // A second getUpdates ends the first with 409, as Telegram's.
    let first = tokio::task::spawn_blocking({
        let token = token.clone();
        move || {
            let started = Instant::now();
            (
                call(bot_port, &token, "getUpdates", "timeout=20"),
                started.elapsed(),
            )
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (second, _) = poll(bot_port, &token, "timeout=0").await;
    assert!(second.is_empty(), "{second:?}");
    let (first, took) = first.await.unwrap();
    let (status, body) = first.expect_err("the first poll ends in a conflict");
    assert_eq!(
        (status, &body["error_code"]),
        (409, &Value::from(409)),
        "{body}"
    );
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Conflict: terminated by other getUpdates")),
        "{body}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    let info = call(bot_port, &token, "getWebhookInfo", "").unwrap();
    assert_eq!(info["pending_update_count"], 0);

    // A negative offset drops all but the last -offset pending updates.
    for (i, text) in ["a", "b", "c"].into_iter().enumerate() {
        say(&mut user, &bot, text, 10 + i as i64).await;
    }
    for _ in 0..2 {
        let (updates, _) = poll(bot_port, &token, "offset=-2&timeout=0").await;
        let texts: Vec<&Value> = updates.iter().map(|u| &u["message"]["text"]).collect();
        assert_eq!(texts, [&Value::from("b"), &Value::from("c")]);
    }
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_updates_stay_confirmed_across_a_kill() {
    let (server, data, port, bot_port, token) = start("botapi-restart");
    let (mut user, bot) = user_and_bot(port, &data).await;
    say(&mut user, &bot, "one", 1).await;
    say(&mut user, &bot, "two", 2).await;
    drop(user);
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    let second = updates[1]["update_id"].as_i64().unwrap();
    // "one" confirmed, "two" not; then SIGKILL.
    poll(bot_port, &token, &format!("offset={second}&timeout=0")).await;
    server.kill();
    let flags = ["--bot-api".to_owned(), format!("127.0.0.1:{bot_port}")];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServerProcess::start_with(BINARY, port, &data, &flags);
    // A bot starting over from offset 0 gets "two" only: nothing lost, nothing twice.
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    let texts: Vec<&Value> = updates.iter().map(|u| &u["message"]["text"]).collect();
    assert_eq!(texts, [&Value::from("two")]);
    assert_eq!(updates[0]["update_id"], second);
    poll(
        bot_port,
        &token,
        &format!("offset={}&timeout=0", second + 1),
    )
    .await;
    server.kill();
    let server = ServerProcess::start_with(BINARY, port, &data, &flags);
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    assert!(updates.is_empty(), "{updates:?}");
    server.kill();
}

/// What a webhook receiver accepted: the secret token header and the JSON body.
type Received = (Option<String>, Value);

/// A webhook receiver on loopback: answers the first `failures` POSTs 500 and the others
/// 200, each on its own connection (`Connection: close`), and hands over what it accepted.
fn receiver(failures: usize) -> (u16, std::sync::mpsc::Receiver<Received>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut failures = failures;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, then as many bytes as Content-Length says.
            let (head, mut body) = loop {
                let Ok(n) = stream.read(&mut buf) else {
                    break (String::new(), Vec::new());
                };
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                request.extend_from_slice(&buf[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..at]).to_string();
                    break (head, request[at + 4..].to_vec());
                }
            };
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_owned())
                })
            };
            let length: usize = header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while body.len() < length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&buf[..n]),
                }
            }
            let status = if failures > 0 {
                failures -= 1;
                "500 Internal Server Error"
            } else {
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = tx.send((header("x-telegram-bot-api-secret-token"), json));
                "200 OK"
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (port, rx)
}

/// The next update the receiver accepts, within 20 s.
async fn received(rx: &std::sync::mpsc::Receiver<Received>) -> Received {
    let wait = |rx: &std::sync::mpsc::Receiver<Received>| rx.recv_timeout(Duration::from_secs(20));
    tokio::task::block_in_place(|| wait(rx)).expect("a webhook POST within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_in_order_with_the_secret_and_retries() {
    let (server, data, port, bot_port, token) = start("botapi-webhook");
    let (mut user, bot) = user_and_bot(port, &data).await;
    say(&mut user, &bot, "/start", 1).await;
    let (hook_port, rx) = receiver(1);
    let url = format!("http://127.0.0.1:{hook_port}/hook");
    let set = |form: String| {
        let token = token.clone();
        move || call(bot_port, &token, "setWebhook", &form)
    };
    // Only HTTP(S) URLs and allowed secret characters.
    let bad = tokio::task::spawn_blocking(set("url=ftp://x".into()))
        .await
        .unwrap();
    assert_eq!(bad.unwrap_err().0, 400);
    let form = format!("url={url}&secret_token=bad%20secret");
    let bad = tokio::task::spawn_blocking(set(form)).await.unwrap();
    assert_eq!(bad.unwrap_err().0, 400);
    let form = format!("url={url}&secret_token=s3cret_-x&max_connections=7");
    let ok = tokio::task::spawn_blocking(set(form)).await.unwrap();
    assert_eq!(ok.unwrap(), true);

    // getUpdates is refused while the webhook is set.
    let token2 = token.clone();
    let refused = tokio::task::spawn_blocking(move || call(bot_port, &token2, "getUpdates", ""))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.0, 409, "{refused:?}");
    assert!(
        refused.1["description"]
            .as_str()
            .unwrap_or("")
            .contains("webhook is active"),
        "{refused:?}"
    );

    // The first POST fails (500), the retry delivers it, with the secret token.
    let (secret, update) = received(&rx).await;
    assert_eq!(secret.as_deref(), Some("s3cret_-x"));
    assert_eq!(update["message"]["text"], "/start", "{update}");
    let first_id = update["update_id"].as_i64().expect("update_id");
    say(&mut user, &bot, "second", 2).await;
    say(&mut user, &bot, "third", 3).await;
    for text in ["second", "third"] {
        let (_, update) = received(&rx).await;
        assert_eq!(update["message"]["text"], text, "{update}");
        assert!(update["update_id"].as_i64().unwrap() > first_id);
    }
    let token2 = token.clone();
    let info = tokio::task::spawn_blocking(move || {
        call(bot_port, &token2, "getWebhookInfo", "").expect("getWebhookInfo")
    })
    .await
    .unwrap();
    assert_eq!(info["url"], url.as_str(), "{info}");
    assert_eq!(info["max_connections"], 7, "{info}");
    assert!(
        info["last_error_date"].as_i64().is_some_and(|d| d > 0),
        "{info}"
    );
    assert!(
        info["last_error_message"]
            .as_str()
            .unwrap_or("")
            .contains("500"),
        "{info}"
    );

    // The webhook outlives a SIGKILL; what was delivered is not delivered again (once
    // nothing is pending and the offsets file had time to be written).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let token2 = token.clone();
        let info = tokio::task::spawn_blocking(move || {
            call(bot_port, &token2, "getWebhookInfo", "").expect("getWebhookInfo")
        })
        .await
        .unwrap();
        if info["pending_update_count"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(user);
    server.kill();
    let flags = ["--bot-api".to_owned(), format!("127.0.0.1:{bot_port}")];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServerProcess::start_with(BINARY, port, &data, &flags);
    let (mut other, bot) = user_and_bot_as(port, &data, "+1 555 0402").await;
    say(&mut other, &bot, "after the restart", 4).await;
    let (secret, update) = received(&rx).await;
    assert_eq!(secret.as_deref(), Some("s3cret_-x"));
    assert_eq!(update["message"]["text"], "after the restart", "{update}");

    // Deleted: getUpdates works again, with nothing left to deliver.
    let token2 = token.clone();
    let deleted = tokio::task::spawn_blocking(move || call(bot_port, &token2, "deleteWebhook", ""))
        .await
        .unwrap();
    assert_eq!(deleted.unwrap(), true);
    let (updates, _) = poll(bot_port, &token, "timeout=0").await;
    assert!(updates.is_empty(), "{updates:?}");
    server.kill();
}
