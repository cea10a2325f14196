//! File transfer benchmark over loopback: upload and download of one file (100 MiB by
//! default) with our client endpoint (512 KiB parts, 4 in flight) and with Telethon 1.45
//! (its own part sizes, one at a time), measured in the same run against the same server.
//!
//! `cargo bench -p server-kit --bench transfer -- [MIB]`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use sha2::Digest;
use std::net::SocketAddr;
use std::time::Instant;

const PART: usize = 512 * 1024;
const IN_FLIGHT: usize = 4;

async fn sign_up(
    addr: SocketAddr,
    key: &mtproto::crypto::RsaPublicKey,
    phone: &str,
) -> (MiniClient, i64, i64) {
    let mut c = MiniClient::connect(addr, key, Kind::Intermediate)
        .await
        .expect("connect");
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
        panic!()
    };
    let auth = c
        .invoke(&functions::auth::SignUp {
            no_joined_notifications: false,
            phone_number: phone.into(),
            phone_code_hash: sent.phone_code_hash,
            first_name: phone.into(),
            last_name: String::new(),
        })
        .await
        .expect("signUp");
    let enums::auth::Authorization::Authorization(auth) = auth else {
        panic!()
    };
    let enums::User::User(user) = auth.user else {
        panic!()
    };
    (c, user.id, user.access_hash.unwrap_or_default())
}

fn mib_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs
}

fn main() {
    let mib: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(mib));
}

async fn run(mib: usize) {
    let dir = scratch_dir("transfer");
    let data = dir.join("data");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    let key = server_key(&data);
    let (mut a, _, _) = sign_up(addr, &key, "880000001").await;
    let (mut b, b_id, b_hash) = sign_up(addr, &key, "880000002").await;
    let size = mib * 1024 * 1024;
    let mut file = vec![0u8; size];
    common::os_rng(&mut file);
    let digest = sha2::Sha256::digest(&file);

    // Our client: upload.
    let parts = size.div_ceil(PART);
    let file_id = 4242;
    let started = Instant::now();
    let calls: Vec<functions::upload::SaveBigFilePart> = (0..parts)
        .map(|i| functions::upload::SaveBigFilePart {
            file_id,
            file_part: i as i32,
            file_total_parts: parts as i32,
            bytes: file[i * PART..((i + 1) * PART).min(size)].to_vec().into(),
        })
        .collect();
    for chunk in calls.chunks(IN_FLIGHT) {
        for result in a.invoke_all(chunk).await {
            assert!(result.expect("saveBigFilePart"));
        }
    }
    let upload_secs = started.elapsed().as_secs_f64();
    let media: enums::InputMedia = types::InputMediaUploadedDocument::new(
        types::InputFileBig {
            id: file_id,
            parts: parts as i32,
            name: "big.bin".into(),
        }
        .into(),
        "application/octet-stream".into(),
        Vec::new(),
    )
    .into();
    let peer: enums::InputPeer = types::InputPeerUser {
        user_id: b_id,
        access_hash: b_hash,
    }
    .into();
    let sent = a
        .invoke(&functions::messages::SendMedia::new(
            peer,
            media,
            String::new(),
            1,
        ))
        .await
        .expect("sendMedia");
    let enums::Updates::Updates(sent) = sent else {
        panic!()
    };
    let document = sent
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
        .expect("document");

    // Our client: download.
    let started = Instant::now();
    let mut received = Vec::with_capacity(size);
    let requests: Vec<functions::upload::GetFile> = (0..parts)
        .map(|i| functions::upload::GetFile {
            precise: false,
            cdn_supported: false,
            location: types::InputDocumentFileLocation {
                id: document.id,
                access_hash: document.access_hash,
                file_reference: document.file_reference.clone(),
                thumb_size: String::new(),
            }
            .into(),
            offset: (i * PART) as i64,
            limit: PART as i32,
        })
        .collect();
    for chunk in requests.chunks(IN_FLIGHT) {
        for result in b.invoke_all(chunk).await {
            let enums::upload::File::File(f) = result.expect("getFile") else {
                panic!()
            };
            received.extend_from_slice(&f.bytes);
        }
    }
    let download_secs = started.elapsed().as_secs_f64();
    assert_eq!(
        sha2::Sha256::digest(&received),
        digest,
        "downloaded bytes differ"
    );

    // Telethon, same server, same size.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/telethon_transfer.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(&data)
        .arg(size.to_string())
        .output()
        .expect("python3 with telethon");
    let telethon = String::from_utf8_lossy(&output.stdout).to_string();
    let field = |name: &str| -> f64 {
        telethon
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    println!("file: {mib} MiB over loopback, same server, one run");
    println!(
        "our client (512 KiB parts, {IN_FLIGHT} in flight): upload {:.1} MiB/s, download {:.1} MiB/s",
        mib_per_s(size, upload_secs),
        mib_per_s(size, download_secs)
    );
    println!(
        "Telethon 1.45 (its defaults, one part at a time): upload {:.1} MiB/s, download {:.1} MiB/s",
        field("upload_mib_s"),
        field("download_mib_s")
    );
    if !output.status.success() {
        println!(
            "telethon failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
