//! Cross-implementation check against Telethon 1.45.0 (Python), generated from the same
//! layer-229 schema: bytes Telethon writes must decode here and re-encode identically, and bytes
//! written here must decode in Telethon and re-encode identically there.
//!
//! The Python side is `tests/telethon_peer.py`. This test needs `python3` with
//! `pip install telethon==1.45.0`; without it the test fails rather than passing silently.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use tl_fullschema::{enums, types};
use tl_runtime::{Bytes, Deserialize, Serialize};

// The same values as in telethon_peer.py.
const DATE: i32 = 1_700_000_000;
const USER_ID: i64 = 777_000_111_222;
const CHANNEL_ID: i64 = 1_987_654_321;
const CHAT_ID: i64 = 4_000_000_123;
const BOT_ID: i64 = 5_000_000_001;
const PHOTO_TEXT: &str = "Hello bold italic link @alice 🦀 — Привет, мир! custom-emoji";
const LONG_TEXT_PART: &str =
    "Долгий текст 📜 with mixed scripts: ελληνικά, 日本語, emoji 👩\u{200d}💻🚀. ";

const INSTALL_HINT: &str =
    "this test needs Python 3 with Telethon 1.45.0: run `pip install telethon==1.45.0`";

// --- the Python peer, hex and JSON lines ----------------------------------------------------

/// Runs `python3 telethon_peer.py <mode>` with `input` on stdin and returns its stdout.
fn run_peer(mode: &str, input: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon_peer.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut child = Command::new(&python)
        .arg(script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{python}`: {e}; {INSTALL_HINT}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_owned();
    // Written from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for telethon_peer.py");
    let written = writer.join().expect("stdin writer thread");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`{python} telethon_peer.py {mode}` failed ({}): {stderr}\n{INSTALL_HINT}",
        out.status
    );
    written.expect("write to telethon_peer.py");
    String::from_utf8(out.stdout).expect("telethon_peer.py prints UTF-8")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd-length hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Parses one flat JSON object (`{"k": "v", "n": 1}`) as Python's `json.dumps` writes it.
/// Non-string values are kept as their raw text.
fn parse_json_line(line: &str) -> Vec<(String, String)> {
    fn string(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
        assert_eq!(it.next(), Some('"'), "expected a JSON string");
        let mut s = String::new();
        loop {
            match it.next().expect("unterminated JSON string") {
                '"' => return s,
                '\\' => match it.next().expect("bad escape") {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let unit = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                            let h: String = it.by_ref().take(4).collect();
                            u16::from_str_radix(&h, 16).expect("\\u escape")
                        };
                        let first = unit(it);
                        let mut units = vec![first];
                        if (0xd800..0xdc00).contains(&first) {
                            assert_eq!((it.next(), it.next()), (Some('\\'), Some('u')));
                            units.push(unit(it));
                        }
                        s.push_str(&String::from_utf16(&units).expect("valid UTF-16 escape"));
                    }
                    c => s.push(c), // `"`, `\`, `/`
                },
                c => s.push(c),
            }
        }
    }
    fn skip_ws(it: &mut std::iter::Peekable<std::str::Chars<'_>>) {
        while it.next_if(|c| c.is_whitespace()).is_some() {}
    }

    let mut it = line.trim().chars().peekable();
    let mut fields = Vec::new();
    assert_eq!(it.next(), Some('{'), "not a JSON object: {line}");
    loop {
        skip_ws(&mut it);
        if it.next_if_eq(&'}').is_some() {
            break;
        }
        let key = string(&mut it);
        skip_ws(&mut it);
        assert_eq!(it.next(), Some(':'), "bad JSON: {line}");
        skip_ws(&mut it);
        let value = if it.peek() == Some(&'"') {
            string(&mut it)
        } else {
            let mut raw = String::new();
            while let Some(c) = it.next_if(|&c| c != ',' && c != '}') {
                raw.push(c);
            }
            raw.trim().to_owned()
        };
        fields.push((key, value));
        skip_ws(&mut it);
        match it.next() {
            Some(',') => {}
            Some('}') => break,
            other => panic!("bad JSON ({other:?}): {line}"),
        }
    }
    fields
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn assert_same_bytes(name: &str, what: &str, expected: &[u8], actual: &[u8]) {
    if expected != actual {
        let at = expected
            .iter()
            .zip(actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        let window =
            |b: &[u8]| to_hex(&b[at.saturating_sub(8).min(b.len())..(at + 24).min(b.len())]);
        panic!(
            "{name}: {what}: bytes differ at offset {at} (lengths {} vs {})\n  expected ..{}..\n  actual   ..{}..\n  expected full: {}\n  actual full:   {}",
            expected.len(),
            actual.len(),
            window(expected),
            window(actual),
            to_hex(expected),
            to_hex(actual),
        );
    }
}

/// Decodes `bytes` (written by `writer`) as `T` and checks that they re-encode to the very
/// same bytes.
fn decode_exact<T: Deserialize + Serialize>(name: &str, writer: &str, bytes: &[u8]) -> T {
    let value = T::from_bytes(bytes.to_vec()).unwrap_or_else(|e| {
        panic!(
            "{name}: bytes written by {writer} do not decode in Rust: {e}\n  {}",
            to_hex(bytes)
        )
    });
    assert_same_bytes(name, "re-encoding in Rust", bytes, &value.to_bytes());
    value
}

// --- builders with every optional field absent ---------------------------------------------

fn peer_user(user_id: i64) -> enums::Peer {
    types::PeerUser { user_id }.into()
}

fn peer_channel(channel_id: i64) -> enums::Peer {
    types::PeerChannel { channel_id }.into()
}

fn peer_chat(chat_id: i64) -> enums::Peer {
    types::PeerChat { chat_id }.into()
}

fn message(id: i32, peer_id: enums::Peer, date: i32, text: &str) -> types::Message {
    types::Message {
        out: false,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: false,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id,
        from_id: None,
        from_boosts_applied: None,
        from_rank: None,
        peer_id,
        saved_peer_id: None,
        fwd_from: None,
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: None,
        date,
        message: text.to_owned(),
        media: None,
        reply_markup: None,
        entities: None,
        views: None,
        forwards: None,
        replies: None,
        edit_date: None,
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
}

fn service(id: i32, peer_id: enums::Peer, action: enums::MessageAction) -> types::MessageService {
    types::MessageService {
        out: false,
        mentioned: false,
        media_unread: false,
        reactions_are_possible: false,
        silent: false,
        post: false,
        legacy: false,
        id,
        from_id: None,
        peer_id,
        saved_peer_id: None,
        reply_to: None,
        date: DATE + id,
        action,
        reactions: None,
        ttl_period: None,
    }
}

fn user(id: i64) -> types::User {
    types::User {
        is_self: false,
        contact: false,
        mutual_contact: false,
        deleted: false,
        bot: false,
        bot_chat_history: false,
        bot_nochats: false,
        verified: false,
        restricted: false,
        min: false,
        bot_inline_geo: false,
        support: false,
        scam: false,
        apply_min_photo: false,
        fake: false,
        bot_attach_menu: false,
        premium: false,
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
        id,
        access_hash: None,
        first_name: None,
        last_name: None,
        username: None,
        phone: None,
        photo: None,
        status: None,
        bot_info_version: None,
        restriction_reason: None,
        bot_inline_placeholder: None,
        lang_code: None,
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
}

fn channel(id: i64, title: &str) -> types::Channel {
    types::Channel {
        creator: false,
        left: false,
        broadcast: false,
        verified: false,
        megagroup: false,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: false,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id,
        access_hash: None,
        title: title.to_owned(),
        username: None,
        photo: enums::ChatPhoto::Empty,
        date: DATE,
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    }
}

fn reply_header(msg_id: i32) -> types::MessageReplyHeader {
    types::MessageReplyHeader {
        reply_to_scheduled: false,
        forum_topic: false,
        quote: false,
        reply_to_ephemeral: false,
        reply_to_msg_id: Some(msg_id),
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
}

fn fwd_header(date: i32) -> types::MessageFwdHeader {
    types::MessageFwdHeader {
        imported: false,
        saved_out: false,
        from_id: None,
        from_name: None,
        date,
        channel_post: None,
        post_author: None,
        saved_from_peer: None,
        saved_from_msg_id: None,
        saved_from_id: None,
        saved_from_name: None,
        saved_date: None,
        psa_type: None,
    }
}

fn username(name: &str, editable: bool, active: bool) -> enums::Username {
    types::Username {
        editable,
        active,
        username: name.to_owned(),
    }
    .into()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

// --- Telethon -> Rust ------------------------------------------------------------------------

fn check_message(name: &str, m: enums::Message) {
    match name {
        "message_photo" => {
            let enums::Message::Message(m) = m else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(m.message, PHOTO_TEXT);
            assert_eq!(m.id, 4242);
            assert!(m.out && m.mentioned && m.silent && m.post && m.pinned);
            assert!(m.noforwards && m.invert_media && m.offline && !m.legacy);
            assert_eq!(m.from_id, Some(peer_user(USER_ID)));
            assert_eq!(m.peer_id, peer_channel(CHANNEL_ID));
            assert_eq!(m.from_rank.as_deref(), Some("admin ★"));
            assert_eq!((m.views, m.forwards), (Some(1_000_000), Some(12)));
            assert_eq!(m.grouped_id, Some(-123_456_789_012));
            assert_eq!(m.effect, Some(5_104_841_245_755_180_586));
            assert_eq!(m.paid_message_stars, Some(250));
            assert_eq!(m.via_business_bot_id, Some(BOT_ID));
            assert_eq!(m.summary_from_language.as_deref(), Some("ru"));
            assert_eq!(m.post_author.as_deref(), Some("Редакция"));
            assert_eq!(m.edit_date, Some(DATE + 5));
            let entities = m.entities.expect("entities");
            assert_eq!(entities.len(), 7);
            assert!(matches!(
                entities[0],
                enums::MessageEntity::Bold(types::MessageEntityBold {
                    offset: 6,
                    length: 4
                })
            ));
            match &entities[2] {
                enums::MessageEntity::TextUrl(u) => {
                    assert_eq!(u.url, "https://example.org/a?b=c&d=é")
                }
                other => panic!("{name}: {other:?}"),
            }
            match &entities[3] {
                enums::MessageEntity::MentionName(u) => assert_eq!(u.user_id, USER_ID),
                other => panic!("{name}: {other:?}"),
            }
            match &entities[6] {
                enums::MessageEntity::Blockquote(q) => assert!(q.collapsed),
                other => panic!("{name}: {other:?}"),
            }
            let Some(enums::MessageReplyHeader::MessageReplyHeader(r)) = m.reply_to else {
                panic!("{name}: reply_to")
            };
            assert!(r.quote);
            assert_eq!(r.reply_to_msg_id, Some(4241));
            assert_eq!(r.quote_text.as_deref(), Some("quoted «text»"));
            assert_eq!(r.quote_offset, Some(3));
            let Some(enums::MessageFwdHeader::MessageFwdHeader(f)) = m.fwd_from else {
                panic!("{name}: fwd_from")
            };
            assert_eq!(f.date, DATE - 86_400);
            assert_eq!(f.post_author.as_deref(), Some("Автор"));
            assert_eq!(f.saved_from_msg_id, Some(76));
            let Some(enums::MessageMedia::Photo(media)) = m.media else {
                panic!("{name}: media")
            };
            assert!(media.spoiler && !media.live_photo);
            assert_eq!(media.ttl_seconds, Some(30));
            let Some(enums::Photo::Photo(photo)) = media.photo else {
                panic!("{name}: photo")
            };
            assert!(photo.has_stickers);
            assert_eq!(photo.access_hash, -8_765_432_109_876_543_210);
            assert_eq!(photo.sizes.len(), 3);
            match &photo.sizes[0] {
                enums::PhotoSize::PhotoStrippedSize(s) => {
                    let expected: Vec<u8> =
                        (0..300u32).map(|i| ((i * 7 + 3) % 256) as u8).collect();
                    assert_eq!(s.bytes, expected);
                }
                other => panic!("{name}: {other:?}"),
            }
            match &photo.sizes[2] {
                enums::PhotoSize::Progressive(p) => {
                    assert_eq!(p.sizes, [1000, 5000, 20_000, 91_337])
                }
                other => panic!("{name}: {other:?}"),
            }
            let video_sizes = photo.video_sizes.expect("video_sizes");
            let enums::VideoSize::VideoSize(v) = &video_sizes[0] else {
                panic!("{name}: {video_sizes:?}")
            };
            assert_eq!(v.video_start_ts, Some(1.25));
            let Some(enums::MessageReplies::MessageReplies(replies)) = m.replies else {
                panic!("{name}: replies")
            };
            assert!(replies.comments);
            assert_eq!(replies.channel_id, Some(CHANNEL_ID + 1));
            let Some(enums::MessageReactions::MessageReactions(reactions)) = m.reactions else {
                panic!("{name}: reactions")
            };
            assert_eq!(reactions.results.len(), 2);
        }
        "message_document" => {
            let enums::Message::Message(m) = m else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(m.message, LONG_TEXT_PART.repeat(5).trim_end());
            assert!(m.message.len() >= 254);
            assert_eq!(m.via_bot_id, Some(BOT_ID));
            assert_eq!(m.from_boosts_applied, Some(3));
            assert_eq!(m.restriction_reason.as_ref().map(Vec::len), Some(1));
            let entities = m.entities.expect("entities");
            match &entities[1] {
                enums::MessageEntity::FormattedDate(d) => {
                    assert!(d.relative && d.long_date && !d.short_time);
                    assert_eq!(d.date, DATE);
                }
                other => panic!("{name}: {other:?}"),
            }
            let Some(enums::MessageMedia::Document(media)) = m.media else {
                panic!("{name}: media")
            };
            assert!(media.video && !media.round);
            assert_eq!(
                (media.video_timestamp, media.ttl_seconds),
                (Some(7), Some(-1))
            );
            let Some(enums::Document::Document(doc)) = media.document else {
                panic!("{name}: document")
            };
            check_document_video(name, &doc);
        }
        "message_poll" => {
            let enums::Message::Message(m) = m else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(m.message, "");
            assert_eq!(m.peer_id, peer_chat(CHAT_ID));
            let Some(enums::MessageMedia::Poll(media)) = m.media else {
                panic!("{name}: media")
            };
            let enums::Poll::Poll(poll) = &media.poll;
            assert_eq!(poll.id, -42);
            assert!(poll.quiz && poll.public_voters && !poll.closed);
            let enums::TextWithEntities::TextWithEntities(question) = &poll.question;
            assert_eq!(question.text, "Which crab? 🦀");
            assert_eq!(poll.answers.len(), 2);
            assert_eq!(poll.close_period, Some(600));
            assert_eq!(
                poll.countries_iso2.as_deref(),
                Some(&["DE".to_owned(), "FR".to_owned(), "UA".to_owned()][..])
            );
            assert_eq!(poll.hash, 0x0123_4567_89AB_CDEF);
            let enums::PollResults::PollResults(results) = &media.results;
            assert_eq!(results.total_voters, Some(3));
            assert_eq!(results.solution.as_deref(), Some("Ferris is the Rust crab"));
            assert_eq!(results.results.as_ref().map(Vec::len), Some(2));
        }
        "message_service" => {
            let enums::Message::Service(s) = m else {
                panic!("{name}: {m:?}")
            };
            assert!(s.out && s.reactions_are_possible);
            let enums::MessageAction::ChatAddUser(a) = s.action else {
                panic!("{name}: action")
            };
            assert_eq!(a.users, [USER_ID, -1, i64::MAX]);
        }
        _ => panic!("no checks for Message {name}"),
    }
}

fn check_document_video(name: &str, doc: &types::Document) {
    assert_eq!(doc.id, -1);
    assert_eq!(doc.access_hash, i64::MAX);
    assert_eq!(doc.size, 3_000_000_000);
    assert_eq!(doc.mime_type, "video/mp4");
    assert_eq!(doc.file_reference, (0..253u8).collect::<Vec<_>>());
    assert_eq!(doc.attributes.len(), 3);
    match &doc.attributes[0] {
        enums::DocumentAttribute::Video(v) => {
            assert!(v.supports_streaming && !v.round_message);
            assert_eq!(v.duration, 12.345);
            assert_eq!(v.video_start_ts, Some(-0.5));
            assert_eq!(v.video_codec.as_deref(), Some("h264"));
            assert_eq!((v.w, v.h), (1920, 1080));
        }
        other => panic!("{name}: {other:?}"),
    }
    match &doc.attributes[1] {
        enums::DocumentAttribute::Filename(f) => assert_eq!(f.file_name, "clip 🎬 видео.mp4"),
        other => panic!("{name}: {other:?}"),
    }
    assert!(matches!(
        doc.attributes[2],
        enums::DocumentAttribute::Animated
    ));
}

fn check_user(name: &str, u: enums::User) {
    assert_eq!(name, "user_full", "no checks for User {name}");
    let enums::User::User(u) = u else {
        panic!("{name}: {u:?}")
    };
    assert_eq!(u.id, USER_ID);
    assert_eq!(u.access_hash, Some(-1_234_567_890_123_456_789));
    assert_eq!(u.first_name.as_deref(), Some("Алиса 🦀"));
    assert_eq!(u.last_name.as_deref(), Some("O'Brien \"Q\""));
    assert_eq!(u.username.as_deref(), Some("alice_bot"));
    assert!(u.bot && u.verified && u.premium && u.restricted && u.contact);
    assert!(u.bot_can_edit && u.close_friend && u.bot_business && u.bot_has_main_app);
    assert!(!u.is_self && !u.deleted && !u.scam && !u.bot_guard);
    assert_eq!(u.bot_info_version, Some(7));
    assert_eq!(u.bot_inline_placeholder.as_deref(), Some("Search…"));
    assert_eq!(u.bot_active_users, Some(123_456));
    let usernames = u.usernames.expect("usernames");
    assert_eq!(usernames.len(), 3);
    assert_eq!(usernames[1], username("alice_collectible", false, true));
    let Some(enums::EmojiStatus::EmojiStatus(status)) = u.emoji_status else {
        panic!("{name}: emoji_status")
    };
    assert_eq!(status.document_id, 5_368_324_170_671_202_286);
    assert_eq!(status.until, Some(DATE + 86_400));
    let Some(enums::PeerColor::PeerColor(color)) = u.color else {
        panic!("{name}: color")
    };
    assert_eq!(color.color, Some(5));
    assert_eq!(color.background_emoji_id, Some(5_100_000_000_000_000_001));
    assert_eq!(
        u.status,
        Some(
            types::UserStatusOnline {
                expires: DATE + 300
            }
            .into()
        )
    );
    assert_eq!(
        u.stories_max_id,
        Some(
            types::RecentStory {
                live: true,
                max_id: Some(12)
            }
            .into()
        )
    );
    let Some(enums::UserProfilePhoto::UserProfilePhoto(photo)) = u.photo else {
        panic!("{name}: photo")
    };
    assert!(photo.has_video);
    assert_eq!(
        photo.stripped_thumb.as_deref(),
        Some(&[1u8, 0x28, 0x28][..])
    );
}

fn check_messages(name: &str, m: enums::messages::Messages) {
    match name {
        "messages_messages" => {
            let enums::messages::Messages::Messages(m) = m else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(m.messages.len(), 5);
            assert!(matches!(&m.messages[0], enums::Message::Message(x) if x.message == "first"));
            assert!(matches!(&m.messages[1], enums::Message::Service(_)));
            match &m.messages[2] {
                enums::Message::Service(s) => {
                    assert_eq!(s.ttl_period, Some(60));
                    let enums::MessageAction::ChatEditTitle(t) = &s.action else {
                        panic!("{name}: {s:?}")
                    };
                    assert_eq!(t.title, "Новое имя ✨");
                }
                other => panic!("{name}: {other:?}"),
            }
            assert!(matches!(&m.messages[3], enums::Message::Empty(e) if e.id == 11));
            assert!(
                matches!(&m.messages[4], enums::Message::Message(x) if x.message == PHOTO_TEXT)
            );
            assert!(m.topics.is_empty());
            assert_eq!(m.chats.len(), 2);
            assert!(
                matches!(&m.chats[0], enums::Chat::Chat(c) if c.title == "Small group" && c.creator)
            );
            match &m.chats[1] {
                enums::Chat::Channel(c) => {
                    assert_eq!(c.title, "Rustaceans 🦀");
                    assert!(c.megagroup && c.forum && c.stories_hidden);
                    assert_eq!(c.participants_count, Some(100_500));
                    assert_eq!(c.level, Some(10));
                }
                other => panic!("{name}: {other:?}"),
            }
            assert_eq!(m.users.len(), 3);
            assert!(
                matches!(&m.users[1], enums::User::User(u) if u.first_name.as_deref() == Some("Bob"))
            );
            assert_eq!(m.users[2], types::UserEmpty { id: 2 }.into());
        }
        "messages_slice" => {
            let enums::messages::Messages::Slice(s) = m else {
                panic!("{name}: {m:?}")
            };
            assert!(s.inexact);
            assert_eq!(s.count, 1234);
            assert_eq!(
                (s.next_rate, s.offset_id_offset),
                (Some(DATE + 10), Some(-5))
            );
            assert_eq!(s.messages.len(), 2);
            assert_eq!((s.chats.len(), s.users.len()), (1, 1));
        }
        _ => panic!("no checks for messages.Messages {name}"),
    }
}

fn check_updates(name: &str, u: enums::Updates) {
    match name {
        "updates_nested" => {
            let enums::Updates::Updates(u) = u else {
                panic!("{name}: {u:?}")
            };
            assert_eq!((u.date, u.seq), (DATE + 30, 77));
            assert_eq!(u.updates.len(), 7);
            match &u.updates[0] {
                enums::Update::NewMessage(n) => {
                    assert_eq!((n.pts, n.pts_count), (100, 1));
                    assert!(
                        matches!(&n.message, enums::Message::Message(m) if m.message == "new 🆕" && m.out)
                    );
                }
                other => panic!("{name}: {other:?}"),
            }
            match &u.updates[1] {
                enums::Update::EditChannelMessage(e) => {
                    let enums::Message::Message(m) = &e.message else {
                        panic!("{name}: {e:?}")
                    };
                    assert_eq!(m.message, "edited ✏️");
                    assert!(m.edit_hide && m.post);
                    assert_eq!(
                        (m.views, m.forwards, m.edit_date),
                        (Some(7), Some(0), Some(DATE + 22))
                    );
                }
                other => panic!("{name}: {other:?}"),
            }
            match &u.updates[2] {
                enums::Update::ReadHistoryInbox(r) => {
                    assert_eq!(
                        (r.folder_id, r.top_msg_id, r.max_id),
                        (Some(1), Some(5), 20)
                    );
                }
                other => panic!("{name}: {other:?}"),
            }
            assert_eq!(
                u.updates[3],
                types::UpdateUserStatus {
                    user_id: USER_ID,
                    status: types::UserStatusOffline {
                        was_online: DATE - 5
                    }
                    .into(),
                }
                .into()
            );
            match &u.updates[4] {
                enums::Update::DeleteMessages(d) => assert_eq!(d.messages, [1, 2, 3, i32::MIN]),
                other => panic!("{name}: {other:?}"),
            }
            assert_eq!(
                u.updates[5],
                types::UpdateMessageID {
                    id: 20,
                    random_id: -6_000_000_000_000_000_000
                }
                .into()
            );
            match &u.updates[6] {
                enums::Update::UserTyping(t) => {
                    assert_eq!(t.action, enums::SendMessageAction::SendMessageTypingAction)
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        "update_short_message" => {
            let enums::Updates::UpdateShortMessage(s) = u else {
                panic!("{name}: {u:?}")
            };
            assert_eq!(s.message, "short 💬 message");
            assert!(s.out && s.silent && !s.mentioned);
            assert_eq!(
                (s.user_id, s.via_bot_id, s.ttl_period),
                (USER_ID, Some(BOT_ID), Some(3600))
            );
            assert_eq!(s.entities.as_ref().map(Vec::len), Some(2));
            let Some(enums::MessageFwdHeader::MessageFwdHeader(f)) = s.fwd_from else {
                panic!("{name}: fwd_from")
            };
            assert!(f.imported);
            assert_eq!(f.from_name.as_deref(), Some("Hidden user"));
            assert_eq!(f.psa_type.as_deref(), Some("covid"));
            let Some(enums::MessageReplyHeader::MessageReplyHeader(r)) = s.reply_to else {
                panic!("{name}: reply_to")
            };
            assert!(r.forum_topic);
            assert_eq!(
                (r.reply_to_msg_id, r.reply_to_top_id),
                (Some(499), Some(400))
            );
        }
        "update_short_chat_extremes" => {
            let enums::Updates::UpdateShortChatMessage(s) = u else {
                panic!("{name}: {u:?}")
            };
            assert_eq!((s.id, s.from_id, s.chat_id), (i32::MIN, i64::MIN, i64::MAX));
            assert_eq!((s.pts, s.pts_count, s.date), (i32::MAX, 0, 0));
            assert_eq!(s.message, "");
            assert_eq!(s.entities, Some(vec![]));
        }
        "update_short" => {
            let enums::Updates::UpdateShort(s) = u else {
                panic!("{name}: {u:?}")
            };
            assert_eq!(s.date, DATE + 50);
            assert_eq!(
                s.update,
                types::UpdateUserStatus {
                    user_id: 1,
                    status: types::UserStatusOnline { expires: DATE + 60 }.into(),
                }
                .into()
            );
        }
        _ => panic!("no checks for Updates {name}"),
    }
}

fn check_config(name: &str, c: enums::Config) {
    let enums::Config::Config(c) = c;
    assert!(!c.test_mode, "{name}");
    assert!(c.default_p2p_contacts && c.revoke_pm_inbox && c.force_try_ipv6 && !c.blocked_mode);
    assert_eq!(
        (c.this_dc, c.expires, c.tmp_sessions),
        (2, DATE + 3600, Some(0))
    );
    assert_eq!(c.revoke_time_limit, i32::MAX);
    assert_eq!(c.dc_options.len(), 4);
    let options: Vec<&types::DcOption> = c
        .dc_options
        .iter()
        .map(|o| match o {
            enums::DcOption::DcOption(o) => o,
        })
        .collect();
    assert!(options[1].ipv6);
    assert_eq!(options[1].ip_address, "2001:b28:f23d:f001::a");
    assert!(options[2].media_only && options[2].r#static && options[2].this_port_only);
    assert_eq!(
        options[2].secret.as_deref(),
        Some(&(0..16u8).collect::<Vec<_>>()[..])
    );
    assert!(options[3].cdn && options[3].tcpo_only);
    assert_eq!(options[3].port, -1);
    assert_eq!(c.autologin_token.as_deref(), Some("x".repeat(300).as_str()));
    assert_eq!(
        c.reactions_default,
        Some(
            types::ReactionEmoji {
                emoticon: "❤".to_owned()
            }
            .into()
        )
    );
    assert_eq!(c.lang_pack_version, Some(1_000));
}

#[test]
fn telethon_bytes_decode_and_reencode_in_rust() {
    let out = run_peer("emit", "");
    let mut seen = BTreeSet::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let fields = parse_json_line(line);
        let name = field(&fields, "name").expect("name").to_owned();
        let ty = field(&fields, "type").expect("type");
        let bytes = from_hex(field(&fields, "hex").expect("hex"));
        match ty {
            "Message" => check_message(&name, decode_exact(&name, "Telethon", &bytes)),
            "User" => check_user(&name, decode_exact(&name, "Telethon", &bytes)),
            "messages.Messages" => check_messages(&name, decode_exact(&name, "Telethon", &bytes)),
            "Updates" => check_updates(&name, decode_exact(&name, "Telethon", &bytes)),
            "Config" => check_config(&name, decode_exact(&name, "Telethon", &bytes)),
            "Document" => {
                let enums::Document::Document(doc) = decode_exact(&name, "Telethon", &bytes) else {
                    panic!("{name}: documentEmpty")
                };
                check_document_video(&name, &doc);
            }
            other => panic!("{name}: no Rust type for TL type {other}"),
        }
        assert!(seen.insert(name.clone()), "{name} emitted twice");
    }
    let expected = [
        "message_photo",
        "message_document",
        "message_poll",
        "message_service",
        "user_full",
        "messages_messages",
        "messages_slice",
        "updates_nested",
        "update_short_message",
        "update_short_chat_extremes",
        "update_short",
        "config",
        "document_video",
    ];
    let missing: Vec<_> = expected.iter().filter(|n| !seen.contains(**n)).collect();
    assert!(
        missing.is_empty(),
        "telethon_peer.py did not emit {missing:?}"
    );
}

// --- Rust -> Telethon ------------------------------------------------------------------------

const RUST_TEXT: &str = "Rust says hi — Привет 👋 bold italic link mention strike emoji pre";

fn rust_entities() -> Vec<enums::MessageEntity> {
    vec![
        types::MessageEntityBold {
            offset: 24,
            length: 4,
        }
        .into(),
        types::MessageEntityItalic {
            offset: 29,
            length: 6,
        }
        .into(),
        types::MessageEntityTextUrl {
            offset: 36,
            length: 4,
            url: "https://rust-lang.org/?q=ü".to_owned(),
        }
        .into(),
        types::MessageEntityMentionName {
            offset: 41,
            length: 7,
            user_id: USER_ID,
        }
        .into(),
        types::MessageEntityStrike {
            offset: 49,
            length: 6,
        }
        .into(),
        types::MessageEntityCustomEmoji {
            offset: 56,
            length: 5,
            document_id: -7_000_000_000_000_000_001,
        }
        .into(),
        types::MessageEntityPre {
            offset: 62,
            length: 3,
            language: "python".to_owned(),
        }
        .into(),
    ]
}

fn rust_document() -> types::Document {
    types::Document {
        id: 6_000_000_000_000_000_001,
        access_hash: -42,
        file_reference: Bytes::from(pattern(254, 1)), // first length with a 4-byte prefix
        date: DATE - 7,
        mime_type: "audio/ogg".to_owned(),
        size: 48_213,
        thumbs: None,
        video_thumbs: None,
        dc_id: 2,
        attributes: vec![
            types::DocumentAttributeAudio {
                voice: true,
                duration: 17,
                title: Some("Голос".to_owned()),
                performer: Some("Ferris 🦀".to_owned()),
                waveform: Some(Bytes::from(pattern(63, 9))),
            }
            .into(),
            types::DocumentAttributeFilename {
                file_name: "voice.ogg".to_owned(),
            }
            .into(),
        ],
    }
}

fn rust_message() -> types::Message {
    let mut m = message(9001, peer_channel(CHANNEL_ID), DATE + 100, RUST_TEXT);
    m.out = true;
    m.mentioned = true;
    m.media_unread = true;
    m.silent = true;
    m.offline = true;
    m.video_processing_pending = true;
    m.from_id = Some(peer_user(USER_ID));
    m.from_rank = Some("owner 👑".to_owned());
    m.saved_peer_id = Some(peer_chat(CHAT_ID));
    let mut fwd = fwd_header(DATE - 500);
    fwd.from_id = Some(peer_user(42));
    fwd.saved_from_peer = Some(peer_channel(99));
    fwd.saved_from_msg_id = Some(1);
    fwd.saved_out = true;
    m.fwd_from = Some(fwd.into());
    m.via_business_bot_id = Some(BOT_ID);
    let mut reply = reply_header(10);
    reply.quote = true;
    reply.quote_text = Some("цитата".to_owned());
    reply.quote_entities = Some(vec![
        types::MessageEntityBold {
            offset: 0,
            length: 3,
        }
        .into(),
    ]);
    m.reply_to = Some(reply.into());
    m.media = Some(
        types::MessageMediaDocument {
            nopremium: false,
            spoiler: true,
            video: false,
            round: false,
            voice: true,
            document: Some(rust_document().into()),
            alt_documents: None,
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: Some(10),
        }
        .into(),
    );
    m.entities = Some(rust_entities());
    m.views = Some(0);
    m.forwards = Some(i32::MAX);
    m.edit_date = Some(DATE + 101);
    m.post_author = Some("Ferris".to_owned());
    m.grouped_id = Some(i64::MIN);
    m.reactions = Some(
        types::MessageReactions {
            min: false,
            can_see_list: true,
            reactions_as_tags: false,
            results: vec![
                types::ReactionCount {
                    chosen_order: Some(1),
                    reaction: types::ReactionEmoji {
                        emoticon: "🔥".to_owned(),
                    }
                    .into(),
                    count: 3,
                }
                .into(),
            ],
            recent_reactions: None,
            top_reactors: None,
        }
        .into(),
    );
    m.ttl_period = Some(600);
    m.quick_reply_shortcut_id = Some(5); // flags bit 30
    m.effect = Some(-1);
    m.paid_message_stars = Some(1_000_000_000_000);
    m.schedule_repeat_period = Some(86_400);
    m.summary_from_language = Some("de".to_owned());
    m
}

fn rust_photo() -> types::Photo {
    types::Photo {
        has_stickers: false,
        id: 77,
        access_hash: i64::MIN,
        file_reference: Bytes::new(),
        date: DATE,
        sizes: vec![
            types::PhotoStrippedSize {
                r#type: "i".to_owned(),
                bytes: Bytes::from(pattern(1000, 3)),
            }
            .into(),
            types::PhotoSize {
                r#type: "x".to_owned(),
                w: 800,
                h: 600,
                size: 54_321,
            }
            .into(),
            types::PhotoSizeProgressive {
                r#type: "y".to_owned(),
                w: 1280,
                h: 960,
                sizes: vec![],
            }
            .into(),
        ],
        video_sizes: Some(vec![
            types::VideoSize {
                r#type: "u".to_owned(),
                w: 720,
                h: 720,
                size: 1,
                video_start_ts: Some(-0.0),
            }
            .into(),
        ]),
        dc_id: 5,
    }
}

fn rust_message_photo() -> types::Message {
    let mut m = message(
        9002,
        peer_user(USER_ID),
        DATE + 200,
        &"🦀 Ferris, ".repeat(40),
    );
    m.media = Some(
        types::MessageMediaPhoto {
            spoiler: false,
            live_photo: true, // shares flags bit 4 with `video`
            photo: Some(rust_photo().into()),
            ttl_seconds: None,
            video: Some(rust_document().into()),
        }
        .into(),
    );
    m.pinned = true;
    m
}

fn rust_user() -> types::User {
    let mut u = user(USER_ID + 1);
    u.is_self = true;
    u.bot = true;
    u.bot_info_version = Some(3); // shares flags bit 14 with `bot`
    u.bot_nochats = true;
    u.verified = true;
    u.premium = true;
    u.restricted = true;
    u.restriction_reason = Some(vec![
        types::RestrictionReason {
            platform: "android".to_owned(),
            reason: "sensitive".to_owned(),
            text: "Нельзя".to_owned(),
        }
        .into(),
    ]);
    u.support = true;
    u.fake = true;
    u.stories_unavailable = true;
    u.contact_require_premium = true;
    u.bot_forum_view = true;
    u.bot_guard = true;
    u.access_hash = Some(i64::MIN + 1);
    u.first_name = Some("Ferris 🦀".to_owned());
    u.last_name = Some("Крабов".to_owned());
    u.username = Some("ferris".to_owned());
    u.phone = Some(String::new());
    u.photo = Some(
        types::UserProfilePhoto {
            has_video: false,
            personal: true,
            photo_id: -3,
            stripped_thumb: None,
            dc_id: 1,
        }
        .into(),
    );
    u.status = Some(
        types::UserStatusOffline {
            was_online: DATE - 1,
        }
        .into(),
    );
    u.bot_inline_placeholder = Some(String::new());
    u.lang_code = Some("en".to_owned());
    u.emoji_status = Some(
        types::EmojiStatus {
            document_id: 5_000_000_000_000_000_777,
            until: None,
        }
        .into(),
    );
    u.usernames = Some(vec![
        username("ferris", true, true),
        username("ferris_the_crab", false, false),
    ]);
    u.stories_max_id = Some(
        types::RecentStory {
            live: false,
            max_id: None,
        }
        .into(),
    );
    u.color = Some(
        types::PeerColor {
            color: Some(3),
            background_emoji_id: None,
        }
        .into(),
    );
    u.profile_color = Some(
        types::PeerColor {
            color: None,
            background_emoji_id: Some(9),
        }
        .into(),
    );
    u.bot_active_users = Some(0);
    u.bot_verification_icon = Some(-9);
    u.send_paid_messages_stars = Some(i64::MAX);
    u.linked_community_id = Some(31_337);
    u
}

fn rust_chat() -> types::Chat {
    types::Chat {
        creator: false,
        left: true,
        deactivated: true,
        call_active: false,
        call_not_empty: false,
        noforwards: true,
        id: CHAT_ID,
        title: "Чат".to_owned(),
        photo: types::ChatPhoto {
            has_video: true,
            photo_id: 1,
            stripped_thumb: Some(Bytes::from_static(b"\x01\x02\x03")),
            dc_id: 4,
        }
        .into(),
        participants_count: 0,
        date: DATE,
        version: 1,
        migrated_to: None,
        admin_rights: None,
        default_banned_rights: None,
    }
}

fn rust_channel() -> types::Channel {
    let mut c = channel(CHANNEL_ID, "Rust 🦀 News");
    c.broadcast = true;
    c.verified = true;
    c.signatures = true;
    c.monoforum = true;
    c.access_hash = Some(12_345);
    c.username = Some("rustnews".to_owned());
    c.participants_count = Some(1);
    c.usernames = Some(vec![username("rustnews", true, true)]);
    c.emoji_status = Some(
        types::EmojiStatus {
            document_id: 1,
            until: Some(DATE),
        }
        .into(),
    );
    c.subscription_until_date = Some(DATE + 1);
    c.linked_monoforum_id = Some(-1);
    c
}

fn rust_messages() -> types::messages::Messages {
    let mut first = message(1, peer_user(USER_ID), DATE, "one");
    first.entities = Some(vec![
        types::MessageEntityUnderline {
            offset: 0,
            length: 3,
        }
        .into(),
    ]);
    let mut add = service(
        2,
        peer_chat(CHAT_ID),
        types::MessageActionChatAddUser {
            users: vec![1, 2, -3, i64::MAX],
        }
        .into(),
    );
    add.out = true;
    add.from_id = Some(peer_user(USER_ID));
    let mut title = service(
        3,
        peer_chat(CHAT_ID),
        types::MessageActionChatEditTitle {
            title: "Заголовок 🎉".to_owned(),
        }
        .into(),
    );
    title.reply_to = Some(reply_header(2).into());
    title.ttl_period = Some(1);
    let mut bob = user(2);
    bob.first_name = Some("Bob".to_owned());
    bob.status = Some(enums::UserStatus::Empty);
    types::messages::Messages {
        messages: vec![
            first.into(),
            add.into(),
            title.into(),
            rust_message_photo().into(),
        ],
        topics: vec![],
        chats: vec![rust_chat().into(), rust_channel().into()],
        users: vec![
            rust_user().into(),
            bob.into(),
            types::UserEmpty { id: 3 }.into(),
        ],
    }
}

fn rust_slice() -> types::messages::MessagesSlice {
    types::messages::MessagesSlice {
        inexact: false,
        count: 99_999,
        next_rate: None,
        offset_id_offset: Some(0),
        search_flood: None,
        messages: vec![
            rust_message().into(),
            types::MessageEmpty {
                id: 7,
                peer_id: None,
            }
            .into(),
        ],
        topics: vec![],
        chats: vec![],
        users: vec![],
    }
}

fn rust_updates() -> types::Updates {
    let mut edited = message(31, peer_channel(CHANNEL_ID), DATE + 31, "edited in rust");
    edited.edit_date = Some(DATE + 32);
    edited.post = true;
    edited.views = Some(5);
    edited.forwards = Some(6);
    types::Updates {
        updates: vec![
            types::UpdateNewMessage {
                message: message(30, peer_user(USER_ID), DATE + 30, "hello from rust").into(),
                pts: 1,
                pts_count: 1,
            }
            .into(),
            types::UpdateEditChannelMessage {
                message: edited.into(),
                pts: 2,
                pts_count: 1,
            }
            .into(),
            types::UpdateReadHistoryInbox {
                folder_id: None,
                peer: peer_chat(CHAT_ID),
                top_msg_id: Some(7),
                max_id: 31,
                still_unread_count: 2,
                pts: 3,
                pts_count: 1,
            }
            .into(),
            types::UpdateUserStatus {
                user_id: USER_ID,
                status: types::UserStatusOnline {
                    expires: DATE + 999,
                }
                .into(),
            }
            .into(),
            types::UpdateDeleteMessages {
                messages: vec![5, 6, i32::MIN],
                pts: 4,
                pts_count: 3,
            }
            .into(),
            types::UpdateUserTyping {
                user_id: USER_ID,
                top_msg_id: None,
                action: enums::SendMessageAction::SendMessageTypingAction,
            }
            .into(),
            types::UpdateMessageID {
                id: 30,
                random_id: i64::MIN,
            }
            .into(),
        ],
        users: vec![rust_user().into()],
        chats: vec![rust_channel().into()],
        date: DATE + 40,
        seq: 1234,
    }
}

fn rust_update_short_message() -> types::UpdateShortMessage {
    types::UpdateShortMessage {
        out: false,
        mentioned: true,
        media_unread: true,
        silent: false,
        id: 77,
        user_id: USER_ID,
        message: "short from rust ✉️".to_owned(),
        pts: 10,
        pts_count: 1,
        date: DATE + 77,
        fwd_from: Some(fwd_header(DATE).into()),
        via_bot_id: None,
        reply_to: Some(reply_header(76).into()),
        entities: Some(vec![
            types::MessageEntityHashtag {
                offset: 0,
                length: 5,
            }
            .into(),
        ]),
        ttl_period: None,
    }
}

fn rust_config() -> types::Config {
    let dc = |id: i32, ip: &str, port: i32| types::DcOption {
        ipv6: false,
        media_only: false,
        tcpo_only: false,
        cdn: false,
        r#static: false,
        this_port_only: false,
        id,
        ip_address: ip.to_owned(),
        port,
        secret: None,
    };
    let mut media = dc(4, "149.154.167.92", 443);
    media.media_only = true;
    media.r#static = true;
    media.secret = Some(Bytes::from(pattern(300, 7)));
    let mut v6 = dc(5, "2001:b28:f23f:f005::a", 80);
    v6.ipv6 = true;
    v6.cdn = true;
    types::Config {
        default_p2p_contacts: false,
        preload_featured_stickers: true,
        revoke_pm_inbox: false,
        blocked_mode: true,
        force_try_ipv6: false,
        date: DATE,
        expires: DATE + 60,
        test_mode: true,
        this_dc: 4,
        dc_options: vec![dc(1, "149.154.175.50", 443).into(), media.into(), v6.into()],
        dc_txt_domain_name: "apv3.stel.com".to_owned(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MIN,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        tmp_sessions: None,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".to_owned(),
        autoupdate_url_prefix: None,
        gif_search_username: Some("gif".to_owned()),
        venue_search_username: None,
        img_search_username: Some("bing".to_owned()),
        static_maps_provider: None,
        caption_length_max: 1024,
        message_length_max: 4096,
        webfile_dc_id: 4,
        suggested_lang_code: Some("uk".to_owned()),
        lang_pack_version: Some(1),
        base_lang_pack_version: Some(0),
        reactions_default: Some(types::ReactionCustomEmoji { document_id: 5 }.into()),
        autologin_token: Some(String::new()),
    }
}

#[test]
fn rust_bytes_decode_and_reencode_in_telethon() {
    let long_photo_text = "🦀 Ferris, ".repeat(40);
    // name, bytes, values Telethon must report in its summary.
    let cases: Vec<(&str, Vec<u8>, Vec<String>)> = vec![
        (
            "rust_message",
            enums::Message::from(rust_message()).to_bytes(),
            vec![
                "Message; id=9001;".to_owned(),
                format!("from=user:{USER_ID};"),
                format!("peer=channel:{CHANNEL_ID};"),
                format!("date={};", DATE + 100),
                "entities=7;".to_owned(),
                "entity_types=MessageEntityBold,MessageEntityItalic,MessageEntityTextUrl,MessageEntityMentionName,MessageEntityStrike,MessageEntityCustomEmoji,MessageEntityPre;".to_owned(),
                "reply_to=10;".to_owned(),
                format!("fwd_date={};", DATE - 500),
                "offline=True;".to_owned(),
                "effect=-1;".to_owned(),
                "media=MessageMediaDocument;".to_owned(),
                "doc_id=6000000000000000001;".to_owned(),
                "mime=audio/ogg;".to_owned(),
                "attributes=DocumentAttributeAudio,DocumentAttributeFilename;".to_owned(),
                "file_name=voice.ogg;".to_owned(),
                "url=https://rust-lang.org/?q=ü;".to_owned(),
                format!("text={RUST_TEXT}"),
            ],
        ),
        (
            "rust_message_photo",
            enums::Message::from(rust_message_photo()).to_bytes(),
            vec![
                "Message; id=9002;".to_owned(),
                "media=MessageMediaPhoto;".to_owned(),
                "photo_id=77;".to_owned(),
                "photo_sizes=PhotoStrippedSize,PhotoSize,PhotoSizeProgressive;".to_owned(),
                "stripped_len=1000;".to_owned(),
                format!("text={long_photo_text}"),
            ],
        ),
        (
            "rust_user",
            enums::User::from(rust_user()).to_bytes(),
            vec![
                format!("User; id={};", USER_ID + 1),
                "first_name=Ferris 🦀;".to_owned(),
                "last_name=Крабов;".to_owned(),
                "username=ferris;".to_owned(),
                "bot=True; verified=True; premium=True; bot_info_version=3;".to_owned(),
                "usernames=ferris,ferris_the_crab;".to_owned(),
                "emoji_status=5000000000000000777;".to_owned(),
                "color=3;".to_owned(),
                "status=UserStatusOffline".to_owned(),
            ],
        ),
        (
            "rust_messages",
            enums::messages::Messages::from(rust_messages()).to_bytes(),
            vec![
                "Messages; messages=4;".to_owned(),
                "kinds=Message,MessageService,MessageService,Message;".to_owned(),
                "ids=1,2,3,9002;".to_owned(),
                "chats=Chat,Channel;".to_owned(),
                "users=3;".to_owned(),
                "user_names=Ferris 🦀,Bob,None;".to_owned(),
                "actions=MessageActionChatAddUser,MessageActionChatEditTitle;".to_owned(),
                format!("texts=one|{long_photo_text}"),
            ],
        ),
        (
            "rust_slice",
            enums::messages::Messages::from(rust_slice()).to_bytes(),
            vec![
                "MessagesSlice; messages=2;".to_owned(),
                "kinds=Message,MessageEmpty;".to_owned(),
                "count=99999;".to_owned(),
            ],
        ),
        (
            "rust_updates",
            enums::Updates::from(rust_updates()).to_bytes(),
            vec![
                "Updates; updates=7;".to_owned(),
                "kinds=UpdateNewMessage,UpdateEditChannelMessage,UpdateReadHistoryInbox,UpdateUserStatus,UpdateDeleteMessages,UpdateUserTyping,UpdateMessageID;".to_owned(),
                "users=1; chats=1; seq=1234;".to_owned(),
                format!("date={};", DATE + 40),
                "texts=hello from rust|edited in rust".to_owned(),
            ],
        ),
        (
            "rust_update_short_message",
            enums::Updates::from(rust_update_short_message()).to_bytes(),
            vec![
                "UpdateShortMessage; id=77;".to_owned(),
                format!("user_id={USER_ID};"),
                "entities=MessageEntityHashtag;".to_owned(),
                "text=short from rust ✉️".to_owned(),
            ],
        ),
        (
            "rust_config",
            enums::Config::from(rust_config()).to_bytes(),
            vec![
                "Config; this_dc=4; test_mode=True; dc_options=3;".to_owned(),
                "ips=149.154.175.50,149.154.167.92,2001:b28:f23f:f005::a;".to_owned(),
                "autologin_len=0".to_owned(),
            ],
        ),
    ];

    // Every object must also round-trip in Rust, or the comparison below would be moot.
    for (name, bytes, _) in &cases {
        match *name {
            "rust_message" | "rust_message_photo" => {
                decode_exact::<enums::Message>(name, "Rust", bytes);
            }
            "rust_user" => {
                decode_exact::<enums::User>(name, "Rust", bytes);
            }
            "rust_messages" | "rust_slice" => {
                decode_exact::<enums::messages::Messages>(name, "Rust", bytes);
            }
            "rust_updates" | "rust_update_short_message" => {
                decode_exact::<enums::Updates>(name, "Rust", bytes);
            }
            "rust_config" => {
                decode_exact::<enums::Config>(name, "Rust", bytes);
            }
            other => panic!("{other}"),
        }
    }

    let input: String = cases
        .iter()
        .map(|(name, bytes, _)| {
            format!("{{\"name\": \"{name}\", \"hex\": \"{}\"}}\n", to_hex(bytes))
        })
        .collect();
    let out = run_peer("roundtrip", &input);
    let answers: Vec<Vec<(String, String)>> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_json_line)
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per object:\n{out}");

    for ((name, bytes, expected), answer) in cases.iter().zip(&answers) {
        assert_eq!(field(answer, "name"), Some(*name));
        if let Some(error) = field(answer, "error") {
            panic!(
                "{name}: Telethon cannot decode bytes written by Rust: {error}\n  {}",
                to_hex(bytes)
            );
        }
        let hex = field(answer, "hex").expect("hex");
        assert_same_bytes(name, "re-encoding in Telethon", bytes, &from_hex(hex));
        let summary = field(answer, "summary").expect("summary");
        for want in expected {
            assert!(
                summary.contains(want.as_str()),
                "{name}: Telethon's summary lacks {want:?}:\n  {summary}"
            );
        }
    }
}
