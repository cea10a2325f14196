//! grammers-client (crates.io 0.11.0, layer 230, TCP full) against the reference server,
//! driven by server-kit/tests/peers.rs. Usage: grammers-peer PORT WORK_DIR PHONE
//!
//! The account PHONE exists already (grammers signs in but never signs up; the Rust test
//! made it). grammers trusts only Telegram's keys: the test builds this program against a
//! copy of grammers-mtproto that also trusts the key named by `GRAMMERS_TEST_RSA_KEY`. Its
//! counterpart is Telethon (server-kit/tests/telethon/peer.py, @tele_p), which answers
//! through pushed updates:
//!   1. sign in with the login code, take the username @grammers_a;
//!   2. "ping grammers" to @tele_p, its "pong" arrives through grammers' update stream;
//!   3. 160 messages sent at once, then the whole chat paged by `iter_messages` newest first
//!      and oldest first: every message seen exactly once, in order;
//!   4. a 3 MiB document up; Telethon downloads it and sends it back; grammers downloads both
//!      copies and the bytes match;
//!   5. a broadcast channel created, named, posted to and read with `iter_messages`; Telethon
//!      joins it and reads the same posts;
//!   6. "bye". Every check fails the program; the last line printed is "grammers ok".

use std::collections::HashSet;
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grammers_client::message::InputMessage;
use grammers_client::sender::{SenderPool, UpdatesConfiguration};
use grammers_client::session::Session as _;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::{DcOption, PeerRef};
use grammers_client::update::{Message as UpdateMessage, Update};
use grammers_client::{Client, tl};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const CODE: &str = "12345";
const FLOOD: usize = 160;

fn check(cond: bool, what: impl Into<String>) -> Res<()> {
    if cond {
        Ok(())
    } else {
        Err(format!("check failed: {}", what.into()).into())
    }
}

fn log(started: Instant, what: &str) {
    println!("{:7.2} s {what}", started.elapsed().as_secs_f64());
}

async fn wait_file(path: &Path, limit: Duration) -> Res<String> {
    let end = Instant::now() + limit;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Ok(text);
        }
        check(
            Instant::now() < end,
            format!("timed out waiting for {}", path.display()),
        )?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The incoming private messages the update stream delivers.
struct Inbox(mpsc::UnboundedReceiver<UpdateMessage>);

impl Inbox {
    /// The next message from `from` that `pred` accepts (others are dropped).
    async fn next_from(
        &mut self,
        from: PeerRef,
        pred: impl Fn(&UpdateMessage) -> bool,
        what: &str,
        limit: Duration,
    ) -> Res<UpdateMessage> {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.0.recv()).await {
                Ok(Some(m)) if m.sender_id() == Some(from.id) && pred(&m) => return Ok(m),
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(format!("the update stream ended waiting for {what}").into());
                }
                Err(_) => return Err(format!("timed out waiting for {what}").into()),
            }
        }
    }
}

/// Downloads `media` whole through grammers' download iterator.
async fn download(client: &Client, media: &grammers_client::media::Media) -> Res<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut chunks = client.iter_download(media);
    while let Some(chunk) = chunks.next().await? {
        bytes.extend(chunk);
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn run(port: u16, work: PathBuf, phone: String) -> Res<()> {
    let started = Instant::now();
    // Every DC is the test server (grammers dials Telegram's addresses otherwise).
    let session = Arc::new(MemorySession::default());
    let v4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    for id in 1..=5 {
        session
            .set_dc_option(&DcOption {
                id,
                ipv4: v4,
                ipv6: SocketAddrV6::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped(), port, 0, 0),
                auth_key: None,
            })
            .await?;
    }
    let SenderPool {
        runner,
        handle,
        updates,
    } = SenderPool::new(Arc::clone(&session), 1);
    let client = Client::new(handle.clone());
    let pool = tokio::spawn(runner.run());

    // 1. Sign in (the account exists: grammers has no sign-up).
    let token = client.request_login_code(&phone, "x").await?;
    let me = client.sign_in(&token, CODE).await?;
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    check(
        me.phone() == Some(digits.as_str()),
        format!("signed in as {:?}", me.phone()),
    )?;
    client
        .invoke(&tl::functions::account::UpdateUsername {
            username: "grammers_a".into(),
        })
        .await?;
    let me = client.get_me().await?;
    check(
        me.username() == Some("grammers_a"),
        format!("username {:?}", me.username()),
    )?;
    log(started, &format!("signed in {:?}", me.id()));

    // Pushed updates, from here on: incoming private messages go to the inbox.
    let mut stream = client
        .stream_updates(updates, UpdatesConfiguration { catch_up: false })
        .await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        loop {
            match stream.next().await {
                Ok(Update::NewMessage(m)) if !m.outgoing() => {
                    if tx.send(m).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    println!("update stream: {e}");
                    break;
                }
            }
        }
    });
    let mut inbox = Inbox(rx);

    // 2. Chat with Telethon, both directions pushed.
    let tele_id: i64 = wait_file(&work.join("tele_p.ready"), Duration::from_secs(120))
        .await?
        .trim()
        .parse()?;
    let tele = client
        .resolve_username("tele_p")
        .await?
        .ok_or("@tele_p does not resolve")?;
    check(
        tele.id().bare_id() == Some(tele_id),
        format!("@tele_p is {:?}, Telethon says {tele_id}", tele.id()),
    )?;
    let tele = tele.to_ref().await?.ok_or("no reference to @tele_p")?;
    client.send_message(tele, "ping grammers").await?;
    let pong = inbox
        .next_from(
            tele,
            |m| m.text().starts_with("pong"),
            "Telethon's pong",
            Duration::from_secs(60),
        )
        .await?;
    check(
        pong.text() == "pong grammers from @grammers_a",
        format!("Telethon answered {:?}", pong.text()),
    )?;
    check(
        pong.peer_id() == tele.id,
        "the pong is in the private chat with Telethon",
    )?;
    log(started, "chat ok");

    // 3. A flood sent at once, then the whole chat paged both ways.
    let flood_started = Instant::now();
    let mut sends = JoinSet::new();
    for i in 0..FLOOD {
        let client = client.clone();
        sends.spawn(async move { client.send_message(tele, format!("flood {i}")).await });
    }
    let mut sent = Vec::new();
    while let Some(done) = sends.join_next().await {
        sent.push(done??);
    }
    let spread = flood_started.elapsed();
    let sent_ids: HashSet<i32> = sent.iter().map(|m| m.id()).collect();
    check(
        sent_ids.len() == FLOOD,
        format!("{FLOOD} distinct ids: {}", sent_ids.len()),
    )?;
    let mut newest = Vec::new();
    let mut pages = client.iter_messages(tele);
    while let Some(m) = pages.next().await? {
        newest.push(m);
    }
    let mut oldest = Vec::new();
    let mut pages = client.iter_messages(tele).reverse(true);
    while let Some(m) = pages.next().await? {
        oldest.push(m);
    }
    for (name, seen, sign) in [("newest first", &newest, -1), ("oldest first", &oldest, 1)] {
        let ids: Vec<i32> = seen.iter().map(|m| m.id()).collect();
        let distinct: HashSet<i32> = ids.iter().copied().collect();
        check(
            distinct.len() == ids.len(),
            format!(
                "{name}: each message once ({} seen, {} distinct)",
                ids.len(),
                distinct.len()
            ),
        )?;
        check(
            ids.windows(2).all(|w| (w[1] - w[0]).signum() == sign),
            format!("{name}: in order"),
        )?;
        let flood: Vec<i32> = seen
            .iter()
            .filter(|m| m.text().starts_with("flood "))
            .map(|m| m.id())
            .collect();
        check(
            flood.len() == FLOOD && flood.iter().all(|id| sent_ids.contains(id)),
            format!("{name}: {} of the {FLOOD} sent", flood.len()),
        )?;
        check(
            seen.iter().any(|m| m.text() == "ping grammers")
                && seen.iter().any(|m| m.text() == pong.text()),
            format!("{name}: the chat"),
        )?;
    }
    check(
        newest.len() == oldest.len(),
        format!(
            "both ways see the same: {} vs {}",
            newest.len(),
            oldest.len()
        ),
    )?;
    let dates: Vec<i64> = sent.iter().map(|m| m.date().as_second()).collect();
    let span = dates.iter().max().unwrap_or(&0) - dates.iter().min().unwrap_or(&0);
    log(
        started,
        &format!(
            "history ok: {FLOOD} sent in {} ms (dates span {span} s), {} paged each way",
            spread.as_millis(),
            newest.len()
        ),
    );

    // 4. A file up, echoed back by Telethon, both copies down.
    let mut data = vec![0u8; 3 * 1024 * 1024];
    getrandom::fill(&mut data)?;
    let digest = hex(&Sha256::digest(&data));
    let uploaded = client
        .upload_stream(
            &mut std::io::Cursor::new(data.clone()),
            data.len(),
            "gr.bin".into(),
        )
        .await?;
    let up = client
        .send_message(tele, InputMessage::new().text("a file").document(uploaded))
        .await?;
    let echo = inbox
        .next_from(
            tele,
            |m| m.text().starts_with("echo "),
            "Telethon's echo of the file",
            Duration::from_secs(180),
        )
        .await?;
    check(
        echo.text() == format!("echo {digest} {}", data.len()),
        format!("Telethon downloaded the same bytes: {}", echo.text()),
    )?;
    let mine = download(&client, &up.media().ok_or("my upload has no media")?).await?;
    check(
        mine == data,
        format!("own upload downloads byte-exact ({})", mine.len()),
    )?;
    let theirs = download(&client, &echo.media().ok_or("the echo has no media")?).await?;
    check(
        theirs == data,
        format!("Telethon's copy downloads byte-exact ({})", theirs.len()),
    )?;
    log(started, "file ok");

    // 5. A channel: created and named (raw calls: grammers has no friendly method for them),
    // posted to and read; Telethon joins and reads it.
    let created = client
        .invoke(&tl::functions::channels::CreateChannel {
            broadcast: true,
            megagroup: false,
            for_import: false,
            forum: false,
            title: "Gr news".into(),
            about: "layer 230".into(),
            geo_point: None,
            address: None,
            ttl_period: None,
        })
        .await?;
    let chats = match created {
        tl::enums::Updates::Updates(u) => u.chats,
        tl::enums::Updates::Combined(u) => u.chats,
        other => return Err(format!("createChannel answered {other:?}").into()),
    };
    let channel = chats
        .into_iter()
        .find_map(|c| match c {
            tl::enums::Chat::Channel(c) => Some(c),
            _ => None,
        })
        .ok_or("createChannel returned no channel")?;
    check(
        channel.broadcast && channel.creator,
        "a broadcast channel grammers created",
    )?;
    let named = client
        .invoke(&tl::functions::channels::UpdateUsername {
            channel: tl::types::InputChannel {
                channel_id: channel.id,
                access_hash: channel
                    .access_hash
                    .ok_or("the channel has no access hash")?,
            }
            .into(),
            username: "gr_news".into(),
        })
        .await?;
    check(named, "channel username set")?;
    let news = client
        .resolve_username("gr_news")
        .await?
        .ok_or("@gr_news does not resolve")?;
    check(
        news.id().bare_id() == Some(channel.id),
        format!("@gr_news is {:?}", news.id()),
    )?;
    let news = news.to_ref().await?.ok_or("no reference to @gr_news")?;
    client.send_message(news, "first post").await?;
    client.send_message(news, "second post").await?;
    let mut posts = Vec::new();
    let mut pages = client.iter_messages(news);
    while let Some(m) = pages.next().await? {
        if !m.text().is_empty() {
            posts.push(m.text().to_owned());
        }
    }
    check(
        posts == ["second post", "first post"],
        format!("grammers reads its channel: {posts:?}"),
    )?;
    client.send_message(tele, "join @gr_news").await?;
    let read = inbox
        .next_from(
            tele,
            |m| m.text().starts_with("read:"),
            "Telethon's reading",
            Duration::from_secs(60),
        )
        .await?;
    check(
        read.text() == "read: second post | first post",
        format!("Telethon read {:?}", read.text()),
    )?;
    log(started, "channel ok");

    client.send_message(tele, "bye").await?;
    let bye = inbox
        .next_from(
            tele,
            |m| m.text().starts_with("bye"),
            "Telethon's bye",
            Duration::from_secs(60),
        )
        .await?;
    check(
        bye.text() == "bye @grammers_a",
        format!("bye: {:?}", bye.text()),
    )?;
    // Done: the stream would only report the connection closing.
    pump.abort();
    handle.quit();
    let _ = pool.await;
    println!("grammers ok");
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(work), Some(phone)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: grammers-peer PORT WORK_DIR PHONE");
        std::process::exit(2);
    };
    let Ok(port) = port.parse() else {
        eprintln!("not a port: {port}");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run(port, PathBuf::from(work), phone)) {
        eprintln!("grammers failed: {e}");
        std::process::exit(1);
    }
}
