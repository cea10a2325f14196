//! Push notifications end to end: the server binary with `--push-webhook`, our own client
//! endpoint, and a local HTTP receiver that refuses the first delivery with 500 to prove the
//! retry.

mod common;

use common::{CallError, MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_server-kit");

/// One request the receiver got, and the status it answered.
#[derive(Debug)]
struct Received {
    status: u16,
    request_line: String,
    content_type: Option<String>,
    body: serde_json::Value,
}

/// An HTTP/1.1 receiver on loopback that answers 500 to the first `fail_first` requests and
/// 200 to the rest, reporting each one.
async fn receiver(fail_first: usize) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, count) = (tx.clone(), count.clone());
            tokio::spawn(async move {
                let _ = serve(stream, tx, count, fail_first).await;
            });
        }
    });
    (addr, rx)
}

/// Answers the requests of one connection (keep-alive: several may come on it).
async fn serve(
    mut stream: TcpStream,
    tx: mpsc::UnboundedSender<Received>,
    count: Arc<AtomicUsize>,
    fail_first: usize,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                return Ok(());
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let header = |name: &str| {
            head.split("\r\n").skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .expect("a content-length");
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buf.drain(..head_end + length).skip(head_end).collect();
        let status = if count.fetch_add(1, Ordering::SeqCst) < fail_first {
            500
        } else {
            200
        };
        let reason = if status == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        stream
            .write_all(
                format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n").as_bytes(),
            )
            .await?;
        let _ = tx.send(Received {
            status,
            request_line,
            content_type: header("content-type"),
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        });
    }
}

async fn sign_up(addr: SocketAddr, data: &Path, phone: &str, name: &str) -> (MiniClient, i64) {
    let mut c = MiniClient::connect(addr, &server_key(data), Kind::Intermediate)
        .await
        .expect("connect");
    let user = c.sign_up(phone, name, "Tester").await.expect("sign up");
    c.invoke(&functions::account::UpdateUsername {
        username: name.into(),
    })
    .await
    .expect("username");
    (c, user.id)
}

fn register(token_type: i32, token: &str) -> functions::account::RegisterDevice {
    functions::account::RegisterDevice {
        no_muted: false,
        token_type,
        token: token.into(),
        app_sandbox: false,
        secret: vec![7u8; 32].into(),
        other_uids: Vec::new(),
    }
}

fn unregister(token_type: i32, token: &str) -> functions::account::UnregisterDevice {
    functions::account::UnregisterDevice {
        token_type,
        token: token.into(),
        other_uids: Vec::new(),
    }
}

fn rpc_error<T: std::fmt::Debug>(result: Result<T, CallError>) -> String {
    match result {
        Err(CallError::Rpc(e)) => e.message,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

async fn send(a: &mut MiniClient, to: &enums::InputPeer, text: &str, random_id: i64) {
    a.invoke(&functions::messages::SendMessage::new(
        to.clone(),
        text.into(),
        random_id,
    ))
    .await
    .expect("sendMessage");
}

/// Asserts that nothing reaches the receiver for `wait`.
async fn nothing_posted(rx: &mut mpsc::UnboundedReceiver<Received>, wait: Duration, why: &str) {
    if let Ok(Some(got)) = tokio::time::timeout(wait, rx.recv()).await {
        panic!("{why}: the webhook got {got:?}");
    }
}

/// Waits until the server has seen a client's connection close.
async fn disconnect(client: MiniClient) {
    drop(client);
    tokio::time::sleep(Duration::from_millis(700)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_user_gets_one_webhook_post_per_message() {
    let (hook, mut posts) = receiver(1).await;
    let dir = scratch_dir("push");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://{hook}/push");
    let _server = ServerProcess::start_with(BIN, port, &data, &["--push-webhook", &url]);

    let (mut a, a_id) = sign_up(addr, &data, "31633333331", "anna_push").await;
    let (mut b, b_id) = sign_up(addr, &data, "31633333332", "bert_push").await;

    // Bad registrations get Telegram's errors.
    assert_eq!(rpc_error(b.invoke(&register(2, "")).await), "TOKEN_EMPTY");
    assert_eq!(
        rpc_error(b.invoke(&register(99, "x")).await),
        "TOKEN_TYPE_INVALID"
    );
    assert_eq!(
        rpc_error(b.invoke(&register(10, "not json")).await),
        "WEBPUSH_TOKEN_INVALID"
    );
    assert_eq!(
        rpc_error(b.invoke(&unregister(2, "")).await),
        "TOKEN_INVALID"
    );
    assert!(
        b.invoke(&register(2, "fcm-token-of-bert"))
            .await
            .expect("register")
    );
    // Registering the same token again replaces it.
    assert!(
        b.invoke(&register(2, "fcm-token-of-bert"))
            .await
            .expect("again")
    );

    let resolved = a
        .invoke(&functions::contacts::ResolveUsername {
            username: "bert_push".into(),
            referer: None,
        })
        .await
        .expect("resolve");
    let enums::contacts::ResolvedPeer::ResolvedPeer(resolved) = resolved;
    let enums::User::User(bert) = &resolved.users[0] else {
        panic!()
    };
    let bert_peer: enums::InputPeer = types::InputPeerUser {
        user_id: b_id,
        access_hash: bert.access_hash.expect("access hash"),
    }
    .into();

    // While B is online, B gets the update and nothing is posted.
    send(&mut a, &bert_peer, "while you are here", 1).await;
    assert!(b.next_update(Duration::from_secs(10)).await.is_some());
    nothing_posted(&mut posts, Duration::from_millis(1500), "B is online").await;

    // B goes away; A writes: one notification, refused once with 500, then delivered.
    let b_key = b.session().auth_key().clone();
    disconnect(b).await;
    send(&mut a, &bert_peer, "hello while you are away", 2).await;
    let first = tokio::time::timeout(Duration::from_secs(10), posts.recv())
        .await
        .expect("a POST within 10 s")
        .expect("receiver alive");
    assert_eq!(first.status, 500);
    let second = tokio::time::timeout(Duration::from_secs(10), posts.recv())
        .await
        .expect("the retry within 10 s")
        .expect("receiver alive");
    assert_eq!(second.status, 200);
    assert_eq!(second.request_line, "POST /push HTTP/1.1");
    assert_eq!(second.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        first.body, second.body,
        "the retry sends the same notification"
    );
    let body = &second.body;
    assert_eq!(body["user_id"], b_id);
    assert_eq!(body["sender_id"], a_id);
    assert_eq!(body["sender_name"], "anna_push Tester");
    assert_eq!(body["preview"], "hello while you are away");
    assert!(body["message_id"].as_i64().is_some_and(|id| id > 0));
    let devices = body["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 1, "{body}");
    assert_eq!(devices[0]["token"], "fcm-token-of-bert");
    assert_eq!(devices[0]["token_type"], 2);
    assert!(body.get("secret").is_none() && devices[0].get("secret").is_none());
    // Exactly one delivery: nothing more comes.
    nothing_posted(&mut posts, Duration::from_secs(3), "delivered already").await;

    // B mutes A: no notification while muted.
    let mut b = MiniClient::resume(addr, b_key.clone(), Kind::Intermediate)
        .await
        .expect("reconnect");
    let resolved = b
        .invoke(&functions::contacts::ResolveUsername {
            username: "anna_push".into(),
            referer: None,
        })
        .await
        .expect("resolve");
    let enums::contacts::ResolvedPeer::ResolvedPeer(resolved) = resolved;
    let enums::User::User(anna) = &resolved.users[0] else {
        panic!()
    };
    let anna_peer: enums::InputPeer = types::InputPeerUser {
        user_id: a_id,
        access_hash: anna.access_hash.expect("access hash"),
    }
    .into();
    let mute = types::InputPeerNotifySettings {
        mute_until: Some(i32::MAX),
        ..Default::default()
    };
    assert!(
        b.invoke(&update_settings(notify_peer(&anna_peer), mute))
            .await
            .expect("mute A")
    );
    disconnect(b).await;
    send(&mut a, &bert_peer, "while muted", 5).await;
    nothing_posted(&mut posts, Duration::from_secs(3), "B muted A").await;

    // B comes back, unmutes A and unregisters the device: no more notifications.
    let mut b = MiniClient::resume(addr, b_key.clone(), Kind::Intermediate)
        .await
        .expect("reconnect");
    assert!(
        b.invoke(&update_settings(
            notify_peer(&anna_peer),
            types::InputPeerNotifySettings::default()
        ))
        .await
        .expect("unmute A")
    );
    assert!(
        b.invoke(&unregister(2, "fcm-token-of-bert"))
            .await
            .expect("unregister")
    );
    disconnect(b).await;
    send(&mut a, &bert_peer, "after unregistering", 3).await;
    nothing_posted(
        &mut posts,
        Duration::from_secs(3),
        "the device is unregistered",
    )
    .await;

    // A device registered by an authorization that then logs out gets nothing either.
    let mut b = MiniClient::resume(addr, b_key, Kind::Intermediate)
        .await
        .expect("reconnect");
    assert!(
        b.invoke(&register(2, "fcm-token-2"))
            .await
            .expect("register")
    );
    b.invoke(&functions::auth::LogOut {}).await.expect("logOut");
    disconnect(b).await;
    send(&mut a, &bert_peer, "after logging out", 4).await;
    nothing_posted(&mut posts, Duration::from_secs(3), "B logged out").await;
}

/// Creates a public channel (broadcast or megagroup) with `a` as its creator.
async fn public_channel(
    a: &mut MiniClient,
    title: &str,
    username: &str,
    broadcast: bool,
) -> (enums::InputChannel, enums::InputPeer, i64) {
    let created = a
        .invoke(&functions::channels::CreateChannel {
            broadcast,
            megagroup: !broadcast,
            title: title.into(),
            ..Default::default()
        })
        .await
        .expect("createChannel");
    let enums::Updates::Updates(created) = created else {
        panic!("{created:?}")
    };
    let enums::Chat::Channel(ch) = &created.chats[0] else {
        panic!("{created:?}")
    };
    let access_hash = ch.access_hash.expect("access hash");
    let input_channel: enums::InputChannel = types::InputChannel {
        channel_id: ch.id,
        access_hash,
    }
    .into();
    assert!(
        a.invoke(&functions::channels::UpdateUsername {
            channel: input_channel.clone(),
            username: username.into(),
        })
        .await
        .expect("channel username")
    );
    let peer = types::InputPeerChannel {
        channel_id: ch.id,
        access_hash,
    }
    .into();
    (input_channel, peer, ch.id)
}

fn notify_peer(peer: &enums::InputPeer) -> enums::InputNotifyPeer {
    types::InputNotifyPeer { peer: peer.clone() }.into()
}

fn update_settings(
    peer: enums::InputNotifyPeer,
    settings: types::InputPeerNotifySettings,
) -> functions::account::UpdateNotifySettings {
    functions::account::UpdateNotifySettings {
        peer,
        settings: settings.into(),
    }
}

async fn get_settings(
    c: &mut MiniClient,
    peer: enums::InputNotifyPeer,
) -> types::PeerNotifySettings {
    let enums::PeerNotifySettings::PeerNotifySettings(s) = c
        .invoke(&functions::account::GetNotifySettings { peer })
        .await
        .expect("getNotifySettings");
    s
}

/// Waits for `n` webhook posts (each answered 200) and returns their bodies by user id.
async fn collect(rx: &mut mpsc::UnboundedReceiver<Received>, n: usize) -> Vec<serde_json::Value> {
    let mut bodies = Vec::new();
    while bodies.len() < n {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{} of {n} posts within 10 s: {bodies:?}", bodies.len()))
            .expect("receiver alive");
        assert_eq!(got.status, 200);
        bodies.push(got.body);
    }
    bodies.sort_by_key(|b| b["user_id"].as_i64());
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_posts_notify_offline_members_as_their_settings_say() {
    let (hook, mut posts) = receiver(0).await;
    let dir = scratch_dir("push-channel");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://{hook}/push");
    let server = ServerProcess::start_with(BIN, port, &data, &["--push-webhook", &url]);

    // A posts; B is an offline member; C muted the channel; D stays online; E turned
    // previews off and sound off for every broadcast channel (the default, not the channel).
    let (mut a, a_id) = sign_up(addr, &data, "31644444441", "anna_chan").await;
    let (mut b, b_id) = sign_up(addr, &data, "31644444442", "bert_chan").await;
    let (mut c, _) = sign_up(addr, &data, "31644444443", "cora_chan").await;
    let (mut d, _) = sign_up(addr, &data, "31644444444", "dirk_chan").await;
    let (mut e, e_id) = sign_up(addr, &data, "31644444445", "emma_chan").await;
    let (news, news_peer, news_id) = public_channel(&mut a, "News", "push_news", true).await;
    let (group, group_peer, group_id) =
        public_channel(&mut a, "Chatter", "push_chatter", false).await;
    for (client, token) in [
        (&mut a, "tok-a"),
        (&mut b, "tok-b"),
        (&mut c, "tok-c"),
        (&mut d, "tok-d"),
        (&mut e, "tok-e"),
    ] {
        if token != "tok-a" {
            client
                .invoke(&functions::channels::JoinChannel {
                    channel: news.clone(),
                })
                .await
                .expect("join the channel");
        }
        assert!(client.invoke(&register(2, token)).await.expect("register"));
    }
    b.invoke(&functions::channels::JoinChannel {
        channel: group.clone(),
    })
    .await
    .expect("join the group");

    // Settings never set: a peerNotifySettings with no flags, as Telegram answers.
    assert_eq!(
        get_settings(&mut c, notify_peer(&news_peer)).await,
        types::PeerNotifySettings::default()
    );
    let muted = types::InputPeerNotifySettings {
        mute_until: Some(i32::MAX),
        ..Default::default()
    };
    assert!(
        c.invoke(&update_settings(notify_peer(&news_peer), muted))
            .await
            .expect("mute")
    );
    let quiet = types::InputPeerNotifySettings {
        show_previews: Some(false),
        silent: Some(true),
        sound: Some(enums::NotificationSound::None),
        ..Default::default()
    };
    assert!(
        e.invoke(&update_settings(
            enums::InputNotifyPeer::InputNotifyBroadcasts,
            quiet
        ))
        .await
        .expect("broadcast defaults")
    );
    // Bad peers get Telegram's errors.
    let forged: enums::InputPeer = types::InputPeerChannel {
        channel_id: news_id,
        access_hash: 1,
    }
    .into();
    assert_eq!(
        rpc_error(
            c.invoke(&functions::account::GetNotifySettings {
                peer: notify_peer(&forged)
            })
            .await
        ),
        "CHANNEL_INVALID"
    );
    assert_eq!(
        rpc_error(
            c.invoke(&functions::account::GetNotifySettings {
                peer: notify_peer(&types::InputPeerChat { chat_id: 5 }.into())
            })
            .await
        ),
        "PEER_ID_INVALID"
    );

    let c_key = c.session().auth_key().clone();
    let e_key = e.session().auth_key().clone();
    disconnect(b).await;
    disconnect(c).await;
    disconnect(e).await;
    nothing_posted(&mut posts, Duration::from_millis(300), "nothing posted yet").await;

    // The post: B and E get a push, C (muted), D (online) and A (the author) do not.
    a.invoke(&functions::messages::SendMessage::new(
        news_peer.clone(),
        "breaking news".into(),
        10,
    ))
    .await
    .expect("post");
    assert!(
        d.next_update(Duration::from_secs(10)).await.is_some(),
        "D, online, gets the post as an update"
    );
    let bodies = collect(&mut posts, 2).await;
    let news_origin = serde_json::json!({"id": news_id, "title": "News", "broadcast": true});
    let (to_b, to_e) = (&bodies[0], &bodies[1]);
    assert_eq!(to_b["user_id"], b_id, "{bodies:?}");
    assert_eq!(to_b["channel"], news_origin);
    assert_eq!(
        to_b["sender_id"],
        serde_json::Value::Null,
        "a broadcast keeps its author"
    );
    assert_eq!(to_b["sender_name"], "News");
    assert_eq!(to_b["preview"], "breaking news");
    assert_eq!(to_b["silent"], false);
    assert!(to_b["message_id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(to_b["devices"][0]["token"], "tok-b");
    assert_eq!(to_e["user_id"], e_id, "{bodies:?}");
    assert_eq!(to_e["channel"], news_origin);
    assert_eq!(to_e["preview"], "", "previews off: no text");
    assert_eq!(to_e["silent"], true);
    assert_eq!(to_e["devices"][0]["token"], "tok-e");
    nothing_posted(
        &mut posts,
        Duration::from_secs(2),
        "C muted the channel, D is online, A wrote it",
    )
    .await;

    // A message in a megagroup: B, its only offline member, gets one from A by name.
    a.invoke(&functions::messages::SendMessage::new(
        group_peer.clone(),
        "hello group".into(),
        11,
    ))
    .await
    .expect("group message");
    let bodies = collect(&mut posts, 1).await;
    assert_eq!(bodies[0]["user_id"], b_id);
    assert_eq!(bodies[0]["sender_id"], a_id);
    assert_eq!(bodies[0]["sender_name"], "anna_chan Tester");
    assert_eq!(
        bodies[0]["channel"],
        serde_json::json!({"id": group_id, "title": "Chatter", "broadcast": false})
    );
    assert_eq!(bodies[0]["preview"], "hello group");
    nothing_posted(&mut posts, Duration::from_secs(1), "one offline member").await;

    // The settings survive a restart.
    drop(a);
    drop(d);
    server.kill();
    let _server = ServerProcess::start_with(BIN, port, &data, &["--push-webhook", &url]);
    let mut c = MiniClient::resume(addr, c_key, Kind::Intermediate)
        .await
        .expect("reconnect C");
    let stored = get_settings(&mut c, notify_peer(&news_peer)).await;
    assert_eq!(
        stored,
        types::PeerNotifySettings {
            mute_until: Some(i32::MAX),
            ..Default::default()
        }
    );
    assert_eq!(
        get_settings(&mut c, enums::InputNotifyPeer::InputNotifyBroadcasts).await,
        types::PeerNotifySettings::default(),
        "C's default is not set"
    );
    let mut e = MiniClient::resume(addr, e_key, Kind::Intermediate)
        .await
        .expect("reconnect E");
    let stored = get_settings(&mut e, enums::InputNotifyPeer::InputNotifyBroadcasts).await;
    assert_eq!(stored.show_previews, Some(false));
    assert_eq!(stored.silent, Some(true));
    assert_eq!(stored.mute_until, None);
    assert_eq!(stored.other_sound, Some(enums::NotificationSound::None));
    assert_eq!(
        get_settings(&mut e, notify_peer(&news_peer)).await,
        types::PeerNotifySettings::default(),
        "the channel's own settings stay unset"
    );
    // Unmuting (settings with no field) forgets them.
    assert!(
        c.invoke(&update_settings(
            notify_peer(&news_peer),
            types::InputPeerNotifySettings::default()
        ))
        .await
        .expect("unmute")
    );
    assert_eq!(
        get_settings(&mut c, notify_peer(&news_peer)).await,
        types::PeerNotifySettings::default()
    );
}
