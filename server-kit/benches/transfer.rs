//! File transfer benchmark over loopback: upload and download of one file (100 MiB by
//! default) and sequential message round trips, measured in the same run against the same
//! server with
//! - client-sdk (the project's client: `upload_file` / `download_file`, 4 parts in flight),
//! - the raw session endpoint (tests/common MiniClient: 512 KiB parts, 4 in flight, no
//!   client machinery: the protocol's ceiling here),
//! - Telethon 1.45 with cryptg if installed (its own part sizes, one at a time).
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
    let user = c.sign_up(phone, phone, "").await.expect("sign up");
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

    // client-sdk, same server, same size.
    let sdk = sdk_run(addr, &data, &file, &digest).await;

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
        "client-sdk ({IN_FLIGHT} parts in flight): upload {:.1} MiB/s, download {:.1} MiB/s, {:.0} messages/s sent one after another",
        sdk.0, sdk.1, sdk.2
    );
    println!(
        "Telethon 1.45 (cryptg: {}; its defaults, one part at a time): upload {:.1} MiB/s, download {:.1} MiB/s, {:.0} messages/s sent one after another",
        if field("cryptg") == 1.0 { "yes" } else { "no" },
        field("upload_mib_s"),
        field("download_mib_s"),
        field("messages_per_s")
    );
    println!(
        "ratios client-sdk / Telethon: upload {:.1}x, download {:.1}x, messages {:.1}x",
        sdk.0 / field("upload_mib_s"),
        sdk.1 / field("download_mib_s"),
        sdk.2 / field("messages_per_s")
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

/// Messages sent one after another in the round-trip measurement.
const ROUND_TRIPS: usize = 500;

/// client-sdk's upload MiB/s, download MiB/s and sequential messages per second.
async fn sdk_run(
    addr: SocketAddr,
    data: &std::path::Path,
    file: &[u8],
    digest: &[u8],
) -> (f64, f64, f64) {
    use client_sdk::{Client, Config, FileLocation, MemorySessionStore};
    use std::sync::Arc;
    let connect = || async {
        let mut config = Config::for_server(
            2,
            addr.to_string(),
            server_key(data),
            Arc::new(MemorySessionStore::default()),
        );
        config.parts_in_flight = IN_FLIGHT;
        Client::connect(config).await.expect("connect")
    };
    let sign_up = |client: Client, phone: &'static str| async move {
        let token = client.request_login_code(phone).await.expect("code");
        let _ = client.sign_in(&token, "12345").await;
        client.sign_up(&token, phone, "").await.expect("sign up");
        client
    };
    let a = sign_up(connect().await, "880000011").await;
    let b = sign_up(connect().await, "880000012").await;
    b.invoke(&functions::account::UpdateUsername {
        username: "sdk_bench_b".into(),
    })
    .await
    .expect("username");
    let to_b = a.resolve_username("sdk_bench_b").await.expect("resolve");
    let path = data.join("sdk-transfer.bin");
    std::fs::write(&path, file).expect("write");
    let started = Instant::now();
    let input = a.upload_file(&path, None).await.expect("upload");
    let upload = mib_per_s(file.len(), started.elapsed().as_secs_f64());
    a.send_file(&to_b, input, "sdk.bin", "application/octet-stream", "")
        .await
        .expect("send");
    let media = loop {
        if let enums::Update::NewMessage(u) = b.next_update().await.expect("update") {
            if let enums::Message::Message(m) = u.message {
                if let Some(media) = m.media {
                    break media;
                }
            }
        }
    };
    let location = FileLocation::of_media(&media).expect("document");
    let dest = data.join("sdk-downloaded.bin");
    let started = Instant::now();
    b.download_file(&location, &dest, None)
        .await
        .expect("download");
    let download = mib_per_s(file.len(), started.elapsed().as_secs_f64());
    assert_eq!(
        &sha2::Sha256::digest(std::fs::read(&dest).expect("read"))[..],
        digest,
        "client-sdk downloaded bytes differ"
    );
    let started = Instant::now();
    for i in 0..ROUND_TRIPS {
        a.send_message(&to_b, &format!("m{i}")).await.expect("send");
    }
    let messages = ROUND_TRIPS as f64 / started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&dest);
    (upload, download, messages)
}
