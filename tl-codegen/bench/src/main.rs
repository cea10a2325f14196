//! Prints side-by-side figures for the TL toolchain and the grammers crates, measured in one
//! run on this machine:
//!
//! - parse time of the full layer-229 schema (`tl_schema::parse` vs `grammers_tl_parser`);
//! - serialize and deserialize throughput of a `messages.messages` holding 100 messages
//!   (the same bytes for both: the constructors involved have the same ids in grammers'
//!   layer 230).
//!
//! Run: `cargo run --release -p tl-bench`; `-- parse`, `-- deserialize` or `-- serialize` runs
//! that figure alone (for profiling). Build times are measured by `build-time.sh`.

use std::hint::black_box;
use std::time::{Duration, Instant};
use tl_fullschema::{enums, types};

/// Runs `f` in batches long enough to time well (about 2 ms each) for about `budget`, and
/// returns the median time of one call.
fn median_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut batch = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        if t.elapsed() >= Duration::from_millis(2) || batch >= 1 << 20 {
            break;
        }
        batch *= 2;
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        samples.push(t.elapsed() / batch);
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn sample_messages() -> enums::messages::Messages {
    let users: Vec<enums::User> = (0..10)
        .map(|i| {
            types::User {
                is_self: false,
                contact: i % 2 == 0,
                mutual_contact: false,
                deleted: false,
                bot: false,
                bot_chat_history: false,
                bot_nochats: false,
                verified: i == 3,
                restricted: false,
                min: false,
                bot_inline_geo: false,
                support: false,
                scam: false,
                apply_min_photo: false,
                fake: false,
                bot_attach_menu: false,
                premium: i % 3 == 0,
                attach_menu_enabled: false,
                bot_can_edit: false,
                close_friend: false,
                stories_hidden: false,
                stories_unavailable: false,
                contact_require_premium: false,
                bot_business: false,
                bot_has_main_app: false,
                bot_forum_view: false,
                bot_forum_can_manage_topics: false,
                bot_can_manage_bots: false,
                bot_guestchat: false,
                bot_guard: false,
                id: 1000 + i,
                access_hash: Some(0x1234_5678_9abc + i),
                first_name: Some(format!("User {i}")),
                last_name: Some("Example".into()),
                username: Some(format!("user{i}")),
                phone: Some(format!("+1555000{i:04}")),
                photo: None,
                status: Some(
                    types::UserStatusOffline {
                        was_online: 1_700_000_000,
                    }
                    .into(),
                ),
                bot_info_version: None,
                restriction_reason: None,
                bot_inline_placeholder: None,
                lang_code: Some("en".into()),
                emoji_status: None,
                usernames: None,
                stories_max_id: None,
                color: None,
                profile_color: None,
                bot_active_users: None,
                bot_verification_icon: None,
                send_paid_messages_stars: None,
                linked_community_id: None,
            }
            .into()
        })
        .collect();
    let messages: Vec<enums::Message> = (0..100)
        .map(|i| {
            let text = format!(
                "Message number {i}: the quick brown fox jumps over the lazy dog, https://example.com/{i}"
            );
            types::Message {
                out: i % 2 == 0,
                mentioned: false,
                media_unread: false,
                silent: false,
                post: false,
                from_scheduled: false,
                legacy: false,
                edit_hide: false,
                pinned: i == 0,
                noforwards: false,
                invert_media: false,
                offline: false,
                video_processing_pending: false,
                paid_suggested_post_stars: false,
                paid_suggested_post_ton: false,
                id: 5000 + i,
                from_id: Some(types::PeerUser { user_id: 1000 + i64::from(i % 10) }.into()),
                from_boosts_applied: None,
                from_rank: None,
                peer_id: types::PeerUser { user_id: 1000 }.into(),
                saved_peer_id: None,
                fwd_from: None,
                via_bot_id: None,
                via_business_bot_id: None,
                guestchat_via_from: None,
                reply_to: (i % 4 == 1).then(|| {
                    types::MessageReplyHeader {
                        reply_to_scheduled: false,
                        forum_topic: false,
                        quote: false,
                        reply_to_ephemeral: false,
                        reply_to_msg_id: Some(5000 + i - 1),
                        reply_to_peer_id: None,
                        reply_from: None,
                        reply_media: None,
                        reply_to_top_id: None,
                        quote_text: None,
                        quote_entities: None,
                        quote_offset: None,
                        todo_item_id: None,
                        poll_option: None,
                    }
                    .into()
                }),
                date: 1_700_000_000 + i,
                message: text,
                media: None,
                reply_markup: None,
                entities: Some(vec![
                    types::MessageEntityBold { offset: 0, length: 7 }.into(),
                    types::MessageEntityUrl { offset: 66, length: 22 }.into(),
                ]),
                views: None,
                forwards: None,
                replies: None,
                edit_date: (i % 5 == 0).then_some(1_700_000_100 + i),
                post_author: None,
                grouped_id: None,
                reactions: None,
                restriction_reason: None,
                ttl_period: None,
                quick_reply_shortcut_id: None,
                effect: None,
                factcheck: None,
                report_delivery_until_date: None,
                paid_message_stars: None,
                suggested_post: None,
                schedule_repeat_period: None,
                summary_from_language: None,
                rich_message: None,
            }
            .into()
        })
        .collect();
    types::messages::Messages {
        messages,
        topics: vec![],
        chats: vec![],
        users,
    }
    .into()
}

fn report(what: &str, ours: Duration, theirs: Duration, bytes: Option<usize>) {
    let rate = |d: Duration| match bytes {
        Some(n) => format!(
            "{:>8.1} MiB/s",
            n as f64 / d.as_secs_f64() / (1024.0 * 1024.0)
        ),
        None => String::new(),
    };
    println!(
        "{what:<44} ours {:>10.1} µs {}   grammers {:>10.1} µs {}   ratio {:.2}x",
        ours.as_secs_f64() * 1e6,
        rate(ours),
        theirs.as_secs_f64() * 1e6,
        rate(theirs),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}

fn main() {
    use grammers_tl_types::{Deserializable as _, Serializable as _};
    use tl_runtime::{Deserialize as _, Serialize as _};

    let budget = Duration::from_millis(
        std::env::var("BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    );
    let only = std::env::args().nth(1);
    let wanted = |what: &str| only.as_deref().is_none_or(|o| o == what);
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tl-schema/schemas/telegram/api-layer229.tl"
    );
    let schema =
        std::fs::read_to_string(schema_path).expect("tl-schema/schemas/telegram/api-layer229.tl");

    println!(
        "tl-bench: median of repeated runs, {} ms per figure (BENCH_MS)",
        budget.as_millis()
    );
    if wanted("parse") {
        let ours = median_time(budget, || {
            black_box(tl_schema::parse(black_box(&schema)).unwrap());
        });
        let theirs = median_time(budget, || {
            let defs: Vec<_> = grammers_tl_parser::parse_tl_file(black_box(&schema)).collect();
            black_box(defs);
        });
        report(
            "parse api-layer229.tl (281 KB)",
            ours,
            theirs,
            Some(schema.len()),
        );
    }

    let value = sample_messages();
    let bytes = value.to_bytes();
    let grammers_value = grammers_tl_types::enums::messages::Messages::from_bytes(&bytes)
        .expect("grammers decodes the same bytes");
    assert_eq!(
        grammers_value.to_bytes(),
        bytes,
        "both encode the same bytes"
    );
    let shared = tl_runtime::Bytes::from(bytes.clone());

    if wanted("deserialize") {
        let ours = median_time(budget, || {
            black_box(enums::messages::Messages::from_bytes(black_box(shared.clone())).unwrap());
        });
        let theirs = median_time(budget, || {
            black_box(
                grammers_tl_types::enums::messages::Messages::from_bytes(black_box(&bytes))
                    .unwrap(),
            );
        });
        report(
            "deserialize messages.messages (100 msgs)",
            ours,
            theirs,
            Some(bytes.len()),
        );
    }

    if wanted("serialize") {
        let mut out = Vec::with_capacity(bytes.len());
        let ours = median_time(budget, || {
            out.clear();
            black_box(&value).serialize(&mut out);
            black_box(&out);
        });
        let mut out2 = Vec::with_capacity(bytes.len());
        let theirs = median_time(budget, || {
            out2.clear();
            black_box(&grammers_value).serialize(&mut out2);
            black_box(&out2);
        });
        report(
            "serialize messages.messages (100 msgs)",
            ours,
            theirs,
            Some(bytes.len()),
        );
    }
    println!("payload: {} bytes", bytes.len());
}
