//! The real push and SMS providers end to end (feature `providers`): the server binary with
//! FCM, APNs and Twilio (or the HTTP template provider) pointed at one local server that
//! plays Google's OAuth token endpoint, FCM's messages:send, APNs (HTTP/2 without TLS) and
//! Twilio's Messages API. The local server checks nothing itself: it answers from a script
//! and reports every request, and the test checks each one as the services document them
//! (JWT signatures with the public keys of throwaway keys made with `openssl`, claims,
//! headers, bodies), including their error answers: an expired token (FCM 401, APNs 403
//! ExpiredProviderToken) refreshed and retried, 429 with Retry-After retried after the
//! wait, and an unregistered device (FCM 404 UNREGISTERED, APNs 410) forgotten.

mod common;

use bytes::Bytes;
use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_server-kit");

/// One request the local server got.
#[derive(Debug, Clone)]
struct Seen {
    route: &'static str,
    method: String,
    path: String,
    version: hyper::Version,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
    at: Instant,
    /// The status it was answered with.
    status: u16,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The body as form fields (`application/x-www-form-urlencoded`).
    fn form(&self) -> HashMap<String, String> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (form_decode(k), form_decode(v)))
            .collect()
    }
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}

/// A scripted answer.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn retry_after(mut r: Reply, seconds: u64) -> Reply {
    r.headers.push(("retry-after", seconds.to_string()));
    r
}

/// The routes the local server knows (by path prefix), each with its scripted answers
/// (after them: `200 {}`).
type Script = Arc<Mutex<Vec<(&'static str, &'static str, VecDeque<Reply>)>>>;

/// The local server: HTTP/1.1 and HTTP/2 without TLS (prior knowledge) on one port.
async fn local_services(script: Script) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (script, tx) = (script.clone(), tx.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (script, tx) = (script.clone(), tx.clone());
                    async move { Ok::<_, std::convert::Infallible>(answer(req, &script, &tx).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    (addr, rx)
}

async fn answer(
    req: Request<Incoming>,
    script: &Script,
    tx: &mpsc::UnboundedSender<Seen>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let (route, reply) = {
        let mut script = script.lock().unwrap();
        match script
            .iter_mut()
            .find(|(_, prefix, _)| path.starts_with(prefix))
        {
            Some((route, _, replies)) => (*route, replies.pop_front().unwrap_or(reply(200, "{}"))),
            None => ("unknown", reply(404, "")),
        }
    };
    let _ = tx.send(Seen {
        route,
        method: parts.method.to_string(),
        path,
        version: parts.version,
        headers: parts.headers,
        body,
        at: Instant::now(),
        status: reply.status,
    });
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    response
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(reply.body)))
        .expect("a response")
}

/// The next request to `route` within 15 s (requests to other routes are kept for later).
async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>, kept: &mut Vec<Seen>, route: &str) -> Seen {
    if let Some(i) = kept.iter().position(|s| s.route == route) {
        return kept.remove(i);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let seen = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {route} request within 15 s (others: {kept:?})"))
            .expect("the local server runs");
        if seen.route == route {
            return seen;
        }
        kept.push(seen);
    }
}

/// Fails if a request to one of `routes` comes within `wait`.
async fn none_to(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    kept: &mut Vec<Seen>,
    routes: &[&str],
    wait: Duration,
) {
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(seen)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        kept.push(seen);
    }
    let unexpected: Vec<_> = kept.iter().filter(|s| routes.contains(&s.route)).collect();
    assert!(unexpected.is_empty(), "unexpected requests: {unexpected:?}");
}

fn openssl(args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (apt-get install openssl)");
    assert!(status.success(), "openssl {args:?}");
}

/// A throwaway private key (PKCS#8 PEM) and its public key (PEM): `rsa` or `ec` (P-256).
fn keypair(dir: &Path, name: &str, kind: &str) -> (PathBuf, Vec<u8>) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let p = private.to_str().unwrap();
    match kind {
        "rsa" => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            p,
        ]),
        _ => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            p,
        ]),
    }
    openssl(&[
        "pkey",
        "-in",
        p,
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (private, std::fs::read(public).expect("public key"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Verifies a JWT's signature with `key` and returns its header and claims.
fn verify(
    jwt: &str,
    key: &jsonwebtoken::DecodingKey,
    alg: jsonwebtoken::Algorithm,
    audience: Option<&str>,
) -> (jsonwebtoken::Header, serde_json::Value) {
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_exp = audience.is_some();
    validation.required_spec_claims.clear();
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    let data = jsonwebtoken::decode::<serde_json::Value>(jwt, key, &validation)
        .unwrap_or_else(|e| panic!("the JWT does not verify: {e}"));
    (data.header, data.claims)
}

fn bearer(seen: &Seen) -> &str {
    seen.header("authorization")
        .strip_prefix("Bearer ")
        .or_else(|| seen.header("authorization").strip_prefix("bearer "))
        .unwrap_or_else(|| panic!("no bearer token: {seen:?}"))
}

/// How a login code reaches the test: the provider's route and where the code is in the
/// request it gets.
struct CodeRoute {
    route: &'static str,
    code_in: fn(&Seen) -> String,
}

/// The five digits at the end of `text`.
fn code_at_end(text: &str) -> String {
    let code = &text[text.len().saturating_sub(5)..];
    assert!(
        code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()),
        "no code at the end of {text:?}"
    );
    code.into()
}

/// Signs up `phone` as `name` with the code that the provider of `via` got: every request
/// it got for the code (the last one answered 200), the code, the client and its user id.
async fn sign_up(
    addr: SocketAddr,
    data: &Path,
    phone: &str,
    name: &str,
    (rx, kept): (&mut mpsc::UnboundedReceiver<Seen>, &mut Vec<Seen>),
    via: &CodeRoute,
) -> (MiniClient, i64, String, Vec<Seen>) {
    let mut c = MiniClient::connect(addr, &server_key(data), Kind::Intermediate)
        .await
        .expect("connect");
    let hash = c.send_code(phone).await.expect("sendCode");
    let mut requests = Vec::new();
    loop {
        let seen = next(rx, kept, via.route).await;
        let delivered = seen.status == 200;
        requests.push(seen);
        if delivered {
            break;
        }
    }
    let codes: Vec<String> = requests.iter().map(via.code_in).collect();
    assert!(codes.iter().all(|c| *c == codes[0]), "one code: {codes:?}");
    let code = codes[0].clone();
    let user = c
        .sign_up_with_code(phone, &hash, &code, name, "Tester")
        .await
        .expect("sign up");
    c.invoke(&functions::account::UpdateUsername {
        username: name.into(),
    })
    .await
    .expect("username");
    (c, user.id, code, requests)
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

async fn send(a: &mut MiniClient, to: &enums::InputPeer, text: &str, random_id: i64) {
    a.invoke(&functions::messages::SendMessage::new(
        to.clone(),
        text.into(),
        random_id,
    ))
    .await
    .expect("sendMessage");
}

async fn peer_of(a: &mut MiniClient, username: &str, id: i64) -> enums::InputPeer {
    let enums::contacts::ResolvedPeer::ResolvedPeer(resolved) = a
        .invoke(&functions::contacts::ResolveUsername {
            username: username.into(),
            referer: None,
        })
        .await
        .expect("resolve");
    let enums::User::User(user) = &resolved.users[0] else {
        panic!("{resolved:?}")
    };
    types::InputPeerUser {
        user_id: id,
        access_hash: user.access_hash.expect("access hash"),
    }
    .into()
}

/// `text` occurs in `log` as a word of its own (not inside a longer number or name).
fn occurs(log: &str, text: &str) -> bool {
    log.match_indices(text).any(|(i, _)| {
        let before = log[..i].chars().next_back();
        let after = log[i + text.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

const TWILIO: CodeRoute = CodeRoute {
    route: "twilio",
    code_in: |s| code_at_end(&s.form()["Body"]),
};
const SMS_HTTP: CodeRoute = CodeRoute {
    route: "sms",
    code_in: |s| code_at_end(s.json()["text"].as_str().expect("text")),
};
const PROJECT: &str = "demo-project";
const CLIENT_EMAIL: &str = "pusher@demo-project.iam.gserviceaccount.com";
const FCM_TOKEN: &str = "fcm-token-of-bert";
const APNS_TOKEN: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";
const TOPIC: &str = "org.example.chat";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_apns_and_twilio_against_local_endpoints() {
    let dir = scratch_dir("providers");
    let data = dir.join("data");
    let (rsa_key, rsa_public) = keypair(&dir, "service-account", "rsa");
    let (p8, ec_public) = keypair(&dir, "apns", "ec");
    let rsa_public = jsonwebtoken::DecodingKey::from_rsa_pem(&rsa_public).expect("RSA public");
    let ec_public = jsonwebtoken::DecodingKey::from_ec_pem(&ec_public).expect("EC public");

    let unregistered = r#"{"error": {"code": 404, "message": "Requested entity was not found.",
        "status": "NOT_FOUND", "details": [{"@type":
        "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}"#;
    let expired = Reply {
        // Answered a second later, so that the new provider token has a later iat.
        delay: Duration::from_millis(1100),
        ..reply(403, r#"{"reason": "ExpiredProviderToken"}"#)
    };
    let script: Script = Arc::new(Mutex::new(vec![
        (
            "token",
            "/token",
            VecDeque::from([
                reply(
                    200,
                    r#"{"access_token": "token-1", "expires_in": 3599, "token_type": "Bearer"}"#,
                ),
                reply(
                    200,
                    r#"{"access_token": "token-2", "expires_in": 3599, "token_type": "Bearer"}"#,
                ),
            ]),
        ),
        (
            "fcm",
            "/v1/projects/",
            VecDeque::from([
                reply(
                    401,
                    r#"{"error": {"code": 401, "status": "UNAUTHENTICATED"}}"#,
                ),
                retry_after(
                    reply(
                        429,
                        r#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}"#,
                    ),
                    1,
                ),
                reply(200, r#"{"name": "projects/demo-project/messages/1"}"#),
                reply(404, unregistered),
            ]),
        ),
        (
            "apns",
            "/3/device/",
            VecDeque::from([
                expired,
                retry_after(reply(429, r#"{"reason": "TooManyRequests"}"#), 1),
                reply(200, ""),
                reply(
                    410,
                    r#"{"reason": "Unregistered", "timestamp": 1700000000000}"#,
                ),
            ]),
        ),
        ("webhook", "/push", VecDeque::new()),
        (
            "twilio",
            "/2010-04-01/Accounts/",
            VecDeque::from([retry_after(
                reply(429, r#"{"code": 20429, "status": 429}"#),
                1,
            )]),
        ),
    ]));
    let (local, mut rx) = local_services(script).await;
    let mut kept = Vec::new();
    let base = format!("http://{local}");
    let token_uri = format!("{base}/token");

    let account = dir.join("service-account.json");
    std::fs::write(
        &account,
        serde_json::json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "kid-1",
            "private_key": std::fs::read_to_string(&rsa_key).unwrap(),
            "client_email": CLIENT_EMAIL,
            "token_uri": token_uri,
        })
        .to_string(),
    )
    .unwrap();
    let twilio_token = dir.join("twilio-token");
    std::fs::write(&twilio_token, "twilio-secret\n").unwrap();

    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start_exactly(
        BIN,
        port,
        &data,
        &[
            "--fcm-service-account",
            account.to_str().unwrap(),
            "--fcm-url",
            &base,
            "--apns-key",
            p8.to_str().unwrap(),
            "--apns-key-id",
            KEY_ID,
            "--apns-team-id",
            TEAM,
            "--apns-topic",
            TOPIC,
            "--apns-url",
            &base,
            "--push-webhook",
            &format!("{base}/push"),
            "--sms",
            "twilio",
            "--twilio-account-sid",
            "AC0123",
            "--twilio-auth-token-file",
            twilio_token.to_str().unwrap(),
            "--twilio-from",
            "+15550001111",
            "--twilio-url",
            &base,
        ],
    );

    // Two sign-ups, two login codes through Twilio; the first answered 429 (Retry-After: 1).
    let (mut a, a_id, a_code, anna) = sign_up(
        addr,
        &data,
        "31644444441",
        "anna_prov",
        (&mut rx, &mut kept),
        &TWILIO,
    )
    .await;
    let (mut b, b_id, b_code, bert) = sign_up(
        addr,
        &data,
        "31644444442",
        "bert_prov",
        (&mut rx, &mut kept),
        &TWILIO,
    )
    .await;
    assert_eq!(
        anna.iter().map(|s| s.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert_eq!(bert.iter().map(|s| s.status).collect::<Vec<_>>(), [200]);
    for (s, phone, code) in anna
        .iter()
        .map(|s| (s, "+31644444441", &a_code))
        .chain(bert.iter().map(|s| (s, "+31644444442", &b_code)))
    {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, "/2010-04-01/Accounts/AC0123/Messages.json");
        // Basic auth: base64 of "AC0123:twilio-secret".
        assert_eq!(
            s.header("authorization"),
            "Basic QUMwMTIzOnR3aWxpby1zZWNyZXQ="
        );
        assert_eq!(
            s.header("content-type"),
            "application/x-www-form-urlencoded"
        );
        let form = s.form();
        assert_eq!(form["From"], "+15550001111");
        assert_eq!(form["To"], phone);
        assert_eq!(form["Body"], format!("Your login code: {code}"));
        assert_eq!(form.len(), 3, "{form:?}");
    }
    assert!(
        anna[1].at - anna[0].at >= Duration::from_secs(1),
        "Anna's code sent again after Retry-After"
    );

    // B registers an Android, an Apple and a web push device, and goes away.
    assert!(b.invoke(&register(2, FCM_TOKEN)).await.expect("FCM device"));
    assert!(
        b.invoke(&register(1, APNS_TOKEN))
            .await
            .expect("APNs device")
    );
    let web_push = serde_json::json!({
        "endpoint": "https://push.example/w/1",
        "keys": {"p256dh": format!("B{}", "A".repeat(86)), "auth": "A".repeat(22)},
    })
    .to_string();
    assert!(
        b.invoke(&register(10, &web_push))
            .await
            .expect("web push device")
    );
    drop(b);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let bert = peer_of(&mut a, "bert_prov", b_id).await;
    let sent_at = now();
    send(&mut a, &bert, "hello from anna", 1).await;

    // FCM: an access token for a verified assertion, ...
    let t1 = next(&mut rx, &mut kept, "token").await;
    let assertion = {
        assert_eq!(t1.method, "POST");
        assert_eq!(
            t1.header("content-type"),
            "application/x-www-form-urlencoded"
        );
        let form = t1.form();
        assert_eq!(
            form["grant_type"],
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        form["assertion"].clone()
    };
    let (header, claims) = verify(
        &assertion,
        &rsa_public,
        jsonwebtoken::Algorithm::RS256,
        Some(&token_uri),
    );
    assert_eq!(header.kid.as_deref(), Some("kid-1"));
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims["aud"], token_uri.as_str());
    let iat = claims["iat"].as_u64().expect("iat");
    assert!(iat.abs_diff(sent_at) <= 5, "iat {iat} now {sent_at}");
    assert_eq!(claims["exp"].as_u64(), Some(iat + 3600));
    // ... refused once with 401: a new access token, then 429 (Retry-After: 1), then sent.
    let f1 = next(&mut rx, &mut kept, "fcm").await;
    assert_eq!(bearer(&f1), "token-1");
    let t2 = next(&mut rx, &mut kept, "token").await;
    verify(
        &t2.form()["assertion"],
        &rsa_public,
        jsonwebtoken::Algorithm::RS256,
        Some(&token_uri),
    );
    let f2 = next(&mut rx, &mut kept, "fcm").await;
    assert_eq!(bearer(&f2), "token-2");
    let f3 = next(&mut rx, &mut kept, "fcm").await;
    assert_eq!(bearer(&f3), "token-2");
    assert!(f3.at - f2.at >= Duration::from_secs(1), "after Retry-After");
    assert_eq!((f2.status, f3.status), (429, 200));
    for f in [&f1, &f2, &f3] {
        assert_eq!(f.method, "POST");
        assert_eq!(f.path, format!("/v1/projects/{PROJECT}/messages:send"));
        assert_eq!(f.header("content-type"), "application/json");
        assert_eq!(f.body, f1.body, "every attempt sends the same message");
    }
    let message = &f1.json()["message"];
    assert_eq!(message["token"], FCM_TOKEN);
    let data_fields = &message["data"];
    assert_eq!(data_fields["loc_key"], "MESSAGE_TEXT");
    let loc_args: serde_json::Value =
        serde_json::from_str(data_fields["loc_args"].as_str().unwrap()).unwrap();
    assert_eq!(
        loc_args,
        serde_json::json!(["anna_prov Tester", "hello from anna"])
    );
    let custom: serde_json::Value =
        serde_json::from_str(data_fields["custom"].as_str().unwrap()).unwrap();
    assert_eq!(custom["from_id"], a_id.to_string());
    let msg_id: i64 = custom["msg_id"].as_str().unwrap().parse().unwrap();
    assert!(msg_id > 0);
    assert_eq!(data_fields["user_id"], b_id.to_string());
    assert_eq!(message["android"]["priority"], "high");

    // APNs over HTTP/2: 403 ExpiredProviderToken, a new provider token, 429, then sent.
    let p1 = next(&mut rx, &mut kept, "apns").await;
    let p2 = next(&mut rx, &mut kept, "apns").await;
    let p3 = next(&mut rx, &mut kept, "apns").await;
    assert_eq!((p1.status, p2.status, p3.status), (403, 429, 200));
    assert!(p3.at - p2.at >= Duration::from_secs(1), "after Retry-After");
    let mut iats = Vec::new();
    for p in [&p1, &p2, &p3] {
        assert_eq!(p.version, hyper::Version::HTTP_2);
        assert_eq!(p.method, "POST");
        assert_eq!(p.path, format!("/3/device/{APNS_TOKEN}"));
        assert_eq!(p.header("apns-topic"), TOPIC);
        assert_eq!(p.header("apns-push-type"), "alert");
        assert_eq!(p.header("apns-priority"), "10");
        let expiration: u64 = p
            .header("apns-expiration")
            .parse()
            .expect("apns-expiration");
        assert!(expiration > sent_at + 3600, "{expiration}");
        let (header, claims) = verify(bearer(p), &ec_public, jsonwebtoken::Algorithm::ES256, None);
        assert_eq!(header.kid.as_deref(), Some(KEY_ID));
        assert_eq!(claims["iss"], TEAM);
        iats.push(claims["iat"].as_u64().expect("iat"));
        assert_eq!(p.body, p1.body);
    }
    assert!(
        iats[1] > iats[0],
        "a new provider token after ExpiredProviderToken: {iats:?}"
    );
    assert_eq!(iats[2], iats[1], "then it is reused");
    let aps = p1.json();
    assert_eq!(aps["aps"]["alert"]["loc-key"], "MESSAGE_TEXT");
    assert_eq!(
        aps["aps"]["alert"]["loc-args"],
        serde_json::json!(["anna_prov Tester", "hello from anna"])
    );
    assert_eq!(aps["aps"]["sound"], "default");
    assert_eq!(aps["custom"]["msg_id"], msg_id.to_string());

    // The web push device went to the webhook, alone.
    let hook = next(&mut rx, &mut kept, "webhook").await;
    let devices = hook.json()["devices"].clone();
    assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");
    assert_eq!(devices[0]["token_type"], 10);

    // The next message: FCM says UNREGISTERED, APNs 410: both devices are forgotten ...
    send(&mut a, &bert, "second", 2).await;
    let f4 = next(&mut rx, &mut kept, "fcm").await;
    assert_eq!(
        (f4.status, bearer(&f4)),
        (404, "token-2"),
        "the token is reused"
    );
    assert_eq!(next(&mut rx, &mut kept, "apns").await.status, 410);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(next(&mut rx, &mut kept, "webhook").await.status, 200);
    // ... so the third reaches neither (only the webhook), and the access token was not
    // fetched again.
    send(&mut a, &bert, "third", 3).await;
    assert_eq!(next(&mut rx, &mut kept, "webhook").await.status, 200);
    none_to(
        &mut rx,
        &mut kept,
        &["fcm", "apns", "token"],
        Duration::from_secs(3),
    )
    .await;

    // No login code, secret, device token or message text in the server's log.
    drop(server);
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    assert!(log.contains("device forgotten"), "{log}");
    for secret in [
        a_code.as_str(),
        b_code.as_str(),
        "twilio-secret",
        FCM_TOKEN,
        APNS_TOKEN,
        "token-1",
        "token-2",
        "hello from anna",
    ] {
        assert!(!occurs(&log, secret), "{secret:?} is in the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_codes_through_an_http_template() {
    let dir = scratch_dir("sms-http");
    let data = dir.join("data");
    let script: Script = Arc::new(Mutex::new(vec![(
        "sms",
        "/sms",
        VecDeque::from([reply(503, "")]),
    )]));
    let (local, mut rx) = local_services(script).await;
    let mut kept = Vec::new();
    let auth = dir.join("sms-auth");
    std::fs::write(&auth, "Bearer sms-gateway-key\n").unwrap();
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://{local}/sms?to={{phone}}");
    let server = ServerProcess::start_exactly(
        BIN,
        port,
        &data,
        &[
            "--sms",
            "http",
            "--sms-http-url",
            &url,
            "--sms-http-body",
            r#"{"to": "+{phone}", "text": "Code: {code}"}"#,
            "--sms-http-authorization-file",
            auth.to_str().unwrap(),
        ],
    );
    let (_a, _, code, requests) = sign_up(
        addr,
        &data,
        "31655555551",
        "carl_sms",
        (&mut rx, &mut kept),
        &SMS_HTTP,
    )
    .await;
    assert_eq!(
        requests.iter().map(|s| s.status).collect::<Vec<_>>(),
        [503, 200],
        "a 503 is retried"
    );
    for s in &requests {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, "/sms?to=31655555551");
        assert_eq!(s.header("authorization"), "Bearer sms-gateway-key");
        assert_eq!(s.header("content-type"), "application/json");
        assert_eq!(
            s.json(),
            serde_json::json!({"to": "+31655555551", "text": format!("Code: {code}")})
        );
    }
    drop(server);
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    assert!(
        !occurs(&log, &code) && !log.contains("sms-gateway-key"),
        "{log}"
    );
}
