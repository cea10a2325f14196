//! End to end with our own client endpoint (the mtproto crate's sans-IO session driven over
//! tokio): the same chat flows as the Telethon test, and hostile input over the socket.

mod common;

use common::{CallError, MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tl_runtime::Deserialize;

const BIN: &str = env!("CARGO_BIN_EXE_server-kit");

async fn sign_up(
    addr: SocketAddr,
    data: &Path,
    phone: &str,
    name: &str,
    kind: Kind,
) -> (MiniClient, i64) {
    let mut c = MiniClient::connect(addr, &server_key(data), kind)
        .await
        .expect("connect");
    let unauthorized = c
        .invoke(&functions::users::GetUsers {
            id: vec![enums::InputUser::InputUserSelf],
        })
        .await;
    assert!(
        matches!(&unauthorized, Err(CallError::Rpc(e)) if e.code == 401 && e.message == "AUTH_KEY_UNREGISTERED"),
        "{unauthorized:?}"
    );
    let sent = c
        .invoke(&functions::auth::SendCode {
            phone_number: phone.into(),
            api_id: 1,
            api_hash: "x".into(),
            settings: types::CodeSettings::default().into(),
        })
        .await
        .expect("sendCode");
    let enums::auth::SentCode::SentCode(sent) = sent else {
        panic!("{sent:?}")
    };
    let wrong = c
        .invoke(&functions::auth::SignIn {
            phone_number: phone.into(),
            phone_code_hash: sent.phone_code_hash.clone(),
            phone_code: Some("99999".into()),
            email_verification: None,
        })
        .await;
    assert!(matches!(&wrong, Err(CallError::Rpc(e)) if e.message == "PHONE_CODE_INVALID"));
    let sign_up = functions::auth::SignUp {
        no_joined_notifications: false,
        phone_number: phone.into(),
        phone_code_hash: sent.phone_code_hash.clone(),
        first_name: name.into(),
        last_name: String::new(),
    };
    // Knowing the phone_code_hash is not enough: the code must have been entered first.
    let unproven = c.invoke(&sign_up).await;
    assert!(
        matches!(&unproven, Err(CallError::Rpc(e)) if e.message == "PHONE_CODE_EMPTY"),
        "{unproven:?}"
    );
    let required = c
        .invoke(&functions::auth::SignIn {
            phone_number: phone.into(),
            phone_code_hash: sent.phone_code_hash.clone(),
            phone_code: Some("12345".into()),
            email_verification: None,
        })
        .await
        .expect("signIn");
    assert!(
        matches!(required, enums::auth::Authorization::SignUpRequired(_)),
        "{required:?}"
    );
    let auth = c.invoke(&sign_up).await.expect("signUp");
    let enums::auth::Authorization::Authorization(auth) = auth else {
        panic!("{auth:?}")
    };
    let enums::User::User(user) = auth.user else {
        panic!("empty user")
    };
    c.invoke(&functions::account::UpdateUsername {
        username: name.into(),
    })
    .await
    .expect("username");
    (c, user.id)
}

fn message_text(update: &[u8]) -> Option<String> {
    match enums::Updates::from_bytes(update.to_vec()).ok()? {
        enums::Updates::Updates(u) => u.updates.into_iter().find_map(|u| match u {
            enums::Update::NewMessage(m) => match m.message {
                enums::Message::Message(m) => Some(m.message),
                _ => None,
            },
            _ => None,
        }),
        _ => None,
    }
}

fn texts(messages: enums::messages::Messages) -> Vec<String> {
    let list = match messages {
        enums::messages::Messages::Messages(m) => m.messages,
        enums::messages::Messages::Slice(m) => m.messages,
        other => panic!("{other:?}"),
    };
    list.into_iter()
        .filter_map(|m| match m {
            enums::Message::Message(m) => Some(m.message),
            _ => None,
        })
        .collect()
}

async fn send(
    c: &mut MiniClient,
    to: enums::InputPeer,
    text: &str,
    random_id: i64,
) -> enums::Updates {
    c.invoke(&functions::messages::SendMessage::new(
        to,
        text.into(),
        random_id,
    ))
    .await
    .expect("sendMessage")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_with_our_own_client_across_a_restart() {
    let dir = scratch_dir("own-client");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut server = ServerProcess::start(BIN, port, &data);
    let (mut a, _a_id) = sign_up(
        addr,
        &data,
        "+31 6 1111 1111",
        "anna_own",
        Kind::Intermediate,
    )
    .await;
    let (mut b, b_id) = sign_up(addr, &data, "31622222222", "bert_own", Kind::Abridged).await;
    let resolved = a
        .invoke(&functions::contacts::ResolveUsername {
            username: "bert_own".into(),
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
    let answer = send(&mut a, bert_peer.clone(), "one", 1).await;
    let enums::Updates::Updates(u) = &answer else {
        panic!("{answer:?}")
    };
    assert!(matches!(u.updates[0], enums::Update::MessageID(ref m) if m.random_id == 1));
    // Idempotent on random_id: the same id again changes nothing.
    send(&mut a, bert_peer.clone(), "one", 1).await;
    let (_, update) = b
        .next_update(Duration::from_secs(10))
        .await
        .expect("pushed");
    assert_eq!(message_text(&update).as_deref(), Some("one"));
    // A wrong access hash is refused.
    let forged: enums::InputPeer = types::InputPeerUser {
        user_id: b_id,
        access_hash: 42,
    }
    .into();
    let refused = a
        .invoke(&functions::messages::SendMessage::new(
            forged,
            "x".into(),
            2,
        ))
        .await;
    assert!(matches!(&refused, Err(CallError::Rpc(e)) if e.message == "PEER_ID_INVALID"));
    // B goes away; A writes twice; the server is killed and restarted.
    let b_key = b.session().auth_key().clone();
    let enums::updates::State::State(state) = b
        .invoke(&functions::updates::GetState {})
        .await
        .expect("state");
    drop(b);
    send(&mut a, bert_peer.clone(), "two", 3).await;
    send(&mut a, bert_peer.clone(), "three", 4).await;
    server.kill();
    server = ServerProcess::start(BIN, port, &data);
    let mut b = MiniClient::resume(addr, b_key, Kind::Full)
        .await
        .expect("reconnect");
    let diff = b
        .invoke(&functions::updates::GetDifference {
            pts: state.pts,
            date: state.date,
            qts: 0,
            ..Default::default()
        })
        .await
        .expect("difference");
    let enums::updates::Difference::Difference(diff) = diff else {
        panic!("{diff:?}")
    };
    let got: Vec<String> = diff
        .new_messages
        .into_iter()
        .filter_map(|m| match m {
            enums::Message::Message(m) => Some(m.message),
            _ => None,
        })
        .collect();
    assert_eq!(got, ["two", "three"]);
    assert_eq!(b.new_sessions, 1, "the new session was announced");
    let history = b
        .invoke(&functions::messages::GetHistory {
            peer: enums::InputPeer::User(types::InputPeerUser {
                user_id: _a_id,
                access_hash: 0,
            }),
            offset_id: 0,
            offset_date: 0,
            add_offset: 0,
            limit: 10,
            max_id: 0,
            min_id: 0,
            hash: 0,
        })
        .await;
    // Without the right access hash the peer is refused; with InputPeerSelf-style lookups
    // through resolveUsername it works.
    assert!(history.is_err());
    let resolved = b
        .invoke(&functions::contacts::ResolveUsername {
            username: "anna_own".into(),
            referer: None,
        })
        .await
        .expect("resolve");
    let enums::contacts::ResolvedPeer::ResolvedPeer(resolved) = resolved;
    let enums::User::User(anna) = &resolved.users[0] else {
        panic!()
    };
    let history = b
        .invoke(&functions::messages::GetHistory {
            peer: types::InputPeerUser {
                user_id: anna.id,
                access_hash: anna.access_hash.unwrap_or_default(),
            }
            .into(),
            offset_id: 0,
            offset_date: 0,
            add_offset: 0,
            limit: 10,
            max_id: 0,
            min_id: 0,
            hash: 0,
        })
        .await
        .expect("history");
    assert_eq!(texts(history), ["three", "two", "one"]);
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_errors_and_others_keep_being_served() {
    let dir = scratch_dir("hostile");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start(BIN, port, &data);
    let (mut good, _) = sign_up(
        addr,
        &data,
        "4915111111111",
        "good_user",
        Kind::Intermediate,
    )
    .await;

    // Garbage instead of a transport prologue.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut raw, &mut buf),
    )
    .await
    .expect("closed in time")
    .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    still_serving(&mut good).await;

    // An unknown auth_key_id: transport error -404, then the connection closes.
    let mut c = MiniClient::connect(addr, &server_key(&data), Kind::Intermediate)
        .await
        .unwrap();
    let mut packet = vec![0x55u8; 8];
    packet.extend_from_slice(&[0u8; 80]);
    c.send_raw_frame(&packet).await.unwrap();
    let err = c
        .invoke(&functions::updates::GetState {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("-404"), "{err}");
    still_serving(&mut good).await;

    // A frame announcing 100 MB: refused before anything is allocated.
    let mut c = MiniClient::connect(addr, &server_key(&data), Kind::Intermediate)
        .await
        .unwrap();
    c.send_raw_bytes(&(100u32 << 20).to_le_bytes())
        .await
        .unwrap();
    assert!(c.closed_by_server(Duration::from_secs(5)).await);
    still_serving(&mut good).await;

    // A bit flipped in a valid encrypted message: dropped, connection closed.
    let mut c = MiniClient::connect(addr, &server_key(&data), Kind::Abridged)
        .await
        .unwrap();
    let mut packet = c.encrypted_call(vec![0x12, 0x34, 0x56, 0x78]);
    let last = packet.len() - 1;
    packet[last] ^= 1;
    c.send_raw_frame(&packet).await.unwrap();
    assert!(c.closed_by_server(Duration::from_secs(5)).await);
    still_serving(&mut good).await;

    // Malformed TL inside a valid message: an RPC error, and the connection goes on.
    let mut c = MiniClient::connect(addr, &server_key(&data), Kind::Full)
        .await
        .unwrap();
    let unknown = c.invoke(&RawCall(vec![0x12, 0x34, 0x56, 0x78])).await;
    assert!(
        matches!(&unknown, Err(CallError::Rpc(e)) if e.message == "INPUT_METHOD_INVALID"),
        "{unknown:?}"
    );
    // sendCode's id with its body cut short.
    let truncated = c
        .invoke(&RawCall(vec![0x4f, 0x24, 0x77, 0xa6, 1, 0x41, 0, 0]))
        .await;
    assert!(
        matches!(&truncated, Err(CallError::Rpc(e)) if e.code == 400),
        "{truncated:?}"
    );
    c.invoke(&functions::help::GetNearestDc {})
        .await
        .expect("still works");
    still_serving(&mut good).await;

    // A replayed packet is not executed twice.
    let enums::updates::State::State(before) =
        good.invoke(&functions::updates::GetState {}).await.unwrap();
    let me = before.pts;
    let packet = good.encrypted_call(tl_runtime::Serialize::to_bytes(
        &functions::messages::SendMessage::new(
            enums::InputPeer::InputPeerSelf,
            "note to self".into(),
            77,
        ),
    ));
    good.send_raw_frame(&packet).await.unwrap();
    good.send_raw_frame(&packet).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let enums::updates::State::State(after) =
        good.invoke(&functions::updates::GetState {}).await.unwrap();
    let after = after.pts;
    assert_eq!(after, me + 1, "one message, one pts");
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

async fn still_serving(c: &mut MiniClient) {
    c.invoke(&functions::updates::GetState {})
        .await
        .expect("the good client is still served");
}

/// Any bytes as a call whose answer is read as a raw object.
struct RawCall(Vec<u8>);

impl tl_runtime::Serialize for RawCall {
    fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl tl_runtime::RemoteCall for RawCall {
    type Return = tl_runtime::Blob;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn difference_comes_in_slices_and_too_long() {
    let dir = scratch_dir("difference");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start_with(BIN, port, &data, &["--difference-too-long", "200"]);
    let (mut c, _) = sign_up(addr, &data, "4420000000", "notes_user", Kind::Intermediate).await;
    let enums::updates::State::State(start) =
        c.invoke(&functions::updates::GetState {}).await.unwrap();
    for i in 0..150 {
        send(
            &mut c,
            enums::InputPeer::InputPeerSelf,
            &format!("note {i}"),
            1000 + i,
        )
        .await;
    }
    let difference = |pts: i32, date: i32| functions::updates::GetDifference {
        pts,
        pts_limit: None,
        pts_total_limit: None,
        date,
        qts: 0,
        qts_limit: None,
    };
    let first = c.invoke(&difference(start.pts, start.date)).await.unwrap();
    let enums::updates::Difference::Slice(slice) = first else {
        panic!("{first:?}")
    };
    assert_eq!(slice.new_messages.len(), 100);
    let enums::updates::State::State(mid) = slice.intermediate_state;
    assert_eq!(mid.pts, start.pts + 100);
    let rest = c.invoke(&difference(mid.pts, mid.date)).await.unwrap();
    let enums::updates::Difference::Difference(rest) = rest else {
        panic!("{rest:?}")
    };
    assert_eq!(rest.new_messages.len(), 50);
    let enums::updates::State::State(end) = rest.state;
    assert_eq!(end.pts, start.pts + 150);
    for i in 0..60 {
        send(&mut c, enums::InputPeer::InputPeerSelf, "more", 5000 + i).await;
    }
    let far = c.invoke(&difference(start.pts, start.date)).await.unwrap();
    assert!(
        matches!(far, enums::updates::Difference::TooLong(ref t) if t.pts == start.pts + 210),
        "{far:?}"
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_calls_gets_flood_wait_and_others_are_served() {
    let dir = scratch_dir("flood");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start_with(
        BIN,
        port,
        &data,
        &["--user-calls-per-second", "20", "--user-call-burst", "50"],
    );
    let (mut flooder, _) = sign_up(addr, &data, "4420000101", "flooder", Kind::Abridged).await;
    let (mut other, _) = sign_up(addr, &data, "4420000102", "other_one", Kind::Abridged).await;
    let note = |i: i64| {
        functions::messages::SendMessage::new(
            enums::InputPeer::InputPeerSelf,
            format!("flood {i}"),
            90_000 + i,
        )
    };
    let calls: Vec<_> = (0..400).map(note).collect();
    let started = std::time::Instant::now();
    let results = flooder.invoke_all(&calls).await;
    let elapsed = started.elapsed().as_secs_f64();
    let sent = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, CallError::Rpc(e) if e.code == 420 && e.message.starts_with("FLOOD_WAIT_")),
                "{e}"
            );
        }
    }
    // The burst (less the username set at sign-up), and 20 a second after it.
    let most = 50 + (20.0 * (elapsed + 1.0)) as usize;
    assert!((49..=most).contains(&sent), "{sent} sent in {elapsed:.2} s");
    // Another user is not held back, and the flooder's calls come back with the rate.
    other
        .invoke(&functions::updates::GetState {})
        .await
        .expect("another user is served");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    flooder
        .invoke(&note(1000))
        .await
        .expect("allowed again after the wait");
    // File parts do not count.
    for part in 0..60 {
        let saved = flooder
            .invoke(&functions::upload::SaveFilePart {
                file_id: 77,
                file_part: part,
                bytes: vec![1u8; 1024].into(),
            })
            .await
            .expect("file part");
        assert!(saved);
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

fn rpc_error<T: std::fmt::Debug>(result: Result<T, CallError>) -> String {
    match result {
        Err(CallError::Rpc(e)) => e.message,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_channels_refuse_bad_requests_with_telegrams_errors() {
    let dir = scratch_dir("refusals");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start(BIN, port, &data);
    let (mut a, _) = sign_up(addr, &data, "3300000001", "refuse_a", Kind::Intermediate).await;
    let (mut b, b_id) = sign_up(addr, &data, "3300000002", "refuse_b", Kind::Intermediate).await;
    let part = |file_id: i64, file_part: i32, bytes: Vec<u8>| functions::upload::SaveFilePart {
        file_id,
        file_part,
        bytes: bytes.into(),
    };
    // Parts out of range, empty, too big, of a size that changes or is not allowed.
    assert_eq!(
        rpc_error(a.invoke(&part(1, -1, vec![0; 1024])).await),
        "FILE_PART_INVALID"
    );
    assert_eq!(
        rpc_error(a.invoke(&part(1, 4000, vec![0; 1024])).await),
        "FILE_PART_INVALID"
    );
    assert_eq!(
        rpc_error(a.invoke(&part(1, 0, Vec::new())).await),
        "FILE_PART_EMPTY"
    );
    assert_eq!(
        rpc_error(a.invoke(&part(1, 0, vec![0; 600 * 1024])).await),
        "FILE_PART_TOO_BIG"
    );
    assert!(a.invoke(&part(2, 0, vec![1; 1024])).await.unwrap());
    assert_eq!(
        rpc_error(a.invoke(&part(2, 1, vec![1; 2048])).await),
        "FILE_PART_SIZE_CHANGED"
    );
    assert!(a.invoke(&part(3, 1, vec![1; 1000])).await.unwrap());
    assert_eq!(
        rpc_error(a.invoke(&part(3, 2, vec![1; 1000])).await),
        "FILE_PART_SIZE_INVALID"
    );
    // A missing part and a wrong md5 when the file is used.
    let b_peer: enums::InputPeer = enums::InputPeer::User(types::InputPeerUser {
        user_id: b_id,
        access_hash: {
            let enums::contacts::ResolvedPeer::ResolvedPeer(r) = a
                .invoke(&functions::contacts::ResolveUsername {
                    username: "refuse_b".into(),
                    referer: None,
                })
                .await
                .unwrap();
            match &r.users[0] {
                enums::User::User(u) => u.access_hash.unwrap(),
                enums::User::Empty(_) => panic!(),
            }
        },
    });
    let document = |id: i64, parts: i32, md5: &str| -> enums::InputMedia {
        types::InputMediaUploadedDocument::new(
            types::InputFile {
                id,
                parts,
                name: "x.bin".into(),
                md5_checksum: md5.into(),
            }
            .into(),
            "application/octet-stream".into(),
            Vec::new(),
        )
        .into()
    };
    let send_media = |media: enums::InputMedia, random_id: i64| {
        functions::messages::SendMedia::new(b_peer.clone(), media, String::new(), random_id)
    };
    assert_eq!(
        rpc_error(a.invoke(&send_media(document(2, 2, ""), 1)).await),
        "FILE_PART_1_MISSING"
    );
    assert!(a.invoke(&part(4, 0, vec![7; 1024])).await.unwrap());
    assert_eq!(
        rpc_error(
            a.invoke(&send_media(
                document(4, 1, "00000000000000000000000000000000"),
                2
            ))
            .await
        ),
        "MD5_CHECKSUM_INVALID"
    );
    // A good one, then downloads with a wrong hash, reference, offset or limit.
    assert!(a.invoke(&part(5, 0, vec![9; 4096])).await.unwrap());
    let md5 = mtproto::files::md5_hex(&[9; 4096]);
    let sent = a
        .invoke(&send_media(document(5, 1, &md5), 3))
        .await
        .unwrap();
    let enums::Updates::Updates(sent) = sent else {
        panic!()
    };
    let doc = sent
        .updates
        .iter()
        .find_map(|u| match u {
            enums::Update::NewMessage(m) => match &m.message {
                enums::Message::Message(m) => match &m.media {
                    Some(enums::MessageMedia::Document(d)) => match &d.document {
                        Some(enums::Document::Document(d)) => Some(d.clone()),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .expect("the document");
    let get = |access_hash: i64, file_reference: Vec<u8>, offset: i64, limit: i32| {
        functions::upload::GetFile {
            precise: false,
            cdn_supported: false,
            location: types::InputDocumentFileLocation {
                id: doc.id,
                access_hash,
                file_reference: file_reference.into(),
                thumb_size: String::new(),
            }
            .into(),
            offset,
            limit,
        }
    };
    let good = b
        .invoke(&get(doc.access_hash, doc.file_reference.to_vec(), 0, 4096))
        .await
        .unwrap();
    let enums::upload::File::File(good) = good else {
        panic!()
    };
    assert_eq!(&good.bytes[..], &[9u8; 4096][..]);
    let end = b
        .invoke(&get(
            doc.access_hash,
            doc.file_reference.to_vec(),
            4096,
            4096,
        ))
        .await
        .unwrap();
    let enums::upload::File::File(end) = end else {
        panic!()
    };
    assert!(end.bytes.is_empty(), "empty bytes at offset == size");
    assert_eq!(
        rpc_error(
            b.invoke(&get(
                doc.access_hash ^ 1,
                doc.file_reference.to_vec(),
                0,
                4096
            ))
            .await
        ),
        "FILE_ID_INVALID"
    );
    assert_eq!(
        rpc_error(
            b.invoke(&get(doc.access_hash, vec![1, 2, 3], 0, 4096))
                .await
        ),
        "FILE_REFERENCE_INVALID"
    );
    assert_eq!(
        rpc_error(
            b.invoke(&get(
                doc.access_hash,
                doc.file_reference.to_vec(),
                100,
                4096
            ))
            .await
        ),
        "OFFSET_INVALID"
    );
    assert_eq!(
        rpc_error(
            b.invoke(&get(doc.access_hash, doc.file_reference.to_vec(), 0, 3000))
                .await
        ),
        "LIMIT_INVALID"
    );
    // A private channel cannot be read by a non-member; a member cannot post in a broadcast.
    let created = a
        .invoke(&functions::channels::CreateChannel {
            broadcast: true,
            title: "Private".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let enums::Updates::Updates(created) = created else {
        panic!()
    };
    let enums::Chat::Channel(ch) = &created.chats[0] else {
        panic!()
    };
    let input_peer = types::InputPeerChannel {
        channel_id: ch.id,
        access_hash: ch.access_hash.unwrap(),
    };
    let history = functions::messages::GetHistory {
        peer: input_peer.clone().into(),
        offset_id: 0,
        offset_date: 0,
        add_offset: 0,
        limit: 10,
        max_id: 0,
        min_id: 0,
        hash: 0,
    };
    assert_eq!(rpc_error(b.invoke(&history).await), "CHANNEL_PRIVATE");
    let input_channel: enums::InputChannel = types::InputChannel {
        channel_id: ch.id,
        access_hash: ch.access_hash.unwrap(),
    }
    .into();
    assert_eq!(
        rpc_error(
            b.invoke(&functions::channels::JoinChannel {
                channel: input_channel.clone()
            })
            .await
        ),
        "CHANNEL_PRIVATE"
    );
    assert!(
        a.invoke(&functions::channels::UpdateUsername {
            channel: input_channel.clone(),
            username: "refuse_news".into(),
        })
        .await
        .unwrap()
    );
    b.invoke(&functions::channels::JoinChannel {
        channel: input_channel.clone(),
    })
    .await
    .unwrap();
    assert_eq!(
        rpc_error(
            b.invoke(&functions::messages::SendMessage::new(
                input_peer.clone().into(),
                "hi".into(),
                9
            ))
            .await
        ),
        "CHAT_ADMIN_REQUIRED"
    );
    let forged = types::InputChannel {
        channel_id: ch.id,
        access_hash: 1,
    };
    assert_eq!(
        rpc_error(
            b.invoke(&functions::channels::GetFullChannel {
                channel: forged.into()
            })
            .await
        ),
        "CHANNEL_INVALID"
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
