#!/usr/bin/env python3
"""Telethon side of the cross-implementation test in `telethon.rs`.

Telethon 1.45.0 is generated from the same layer-229 schema as `tl-fullschema`, so the bytes of
one implementation must decode in the other and re-encode to the very same bytes.

    python3 telethon_peer.py emit
        Builds objects with Telethon's own classes and prints one JSON object per line:
        {"name": ..., "type": <boxed TL type, e.g. "messages.Messages">, "hex": ...}

    python3 telethon_peer.py roundtrip
        Reads lines {"name": ..., "hex": ...} on stdin, decodes each with
        BinaryReader(...).tgread_object(), re-encodes it with bytes(obj) and prints
        {"name": ..., "hex": <re-encoded>, "summary": <"key=value; ..." of decoded fields>}
        or {"name": ..., "error": "..."}.

Output is JSON with ensure_ascii, so every line is plain ASCII (non-ASCII text is escaped as
\\uXXXX, with surrogate pairs above the BMP).
"""

import json
import sys

REQUIRED_VERSION = "1.45.0"

try:
    import telethon
except Exception as e:  # noqa: BLE001 - any import failure means "not usable"
    sys.exit(
        "telethon_peer.py: cannot import telethon ({}); run `pip install telethon=={}`".format(
            e, REQUIRED_VERSION
        )
    )

if telethon.__version__ != REQUIRED_VERSION:
    sys.exit(
        "telethon_peer.py: found telethon {}, need {}; run `pip install telethon=={}`".format(
            telethon.__version__, REQUIRED_VERSION, REQUIRED_VERSION
        )
    )

from telethon.extensions import BinaryReader  # noqa: E402
from telethon.tl import types  # noqa: E402

# Shared constants (telethon.rs checks decoded values against the same numbers and texts).
DATE = 1_700_000_000
USER_ID = 777_000_111_222
CHANNEL_ID = 1_987_654_321
BOT_ID = 5_000_000_001

PHOTO_TEXT = "Hello bold italic link @alice 🦀 — Привет, мир! custom-emoji"
LONG_TEXT = ("Долгий текст 📜 with mixed scripts: ελληνικά, 日本語, emoji 👩‍💻🚀. " * 5).strip()
STRIPPED = bytes((i * 7 + 3) % 256 for i in range(300))  # >= 254: 4-byte length prefix


def peer_user(uid):
    return types.PeerUser(user_id=uid)


def peer_channel(cid):
    return types.PeerChannel(channel_id=cid)


def entities_rich():
    return [
        types.MessageEntityBold(offset=6, length=4),
        types.MessageEntityItalic(offset=11, length=6),
        types.MessageEntityTextUrl(offset=18, length=4, url="https://example.org/a?b=c&d=é"),
        types.MessageEntityMentionName(offset=23, length=6, user_id=USER_ID),
        types.MessageEntityCustomEmoji(offset=30, length=2, document_id=-5_555_555_555_555_555),
        types.MessageEntityPre(offset=33, length=5, language="rust"),
        types.MessageEntityBlockquote(collapsed=True, offset=0, length=5),
    ]


def photo():
    return types.Photo(
        has_stickers=True,
        id=5_123_456_789_012_345_678,
        access_hash=-8_765_432_109_876_543_210,
        file_reference=b"\x00\x01\x02file-ref\xff",
        date=DATE - 60,
        sizes=[
            types.PhotoStrippedSize(type="i", bytes=STRIPPED),
            types.PhotoSize(type="m", w=320, h=240, size=12_345),
            types.PhotoSizeProgressive(type="y", w=1280, h=960, sizes=[1000, 5000, 20_000, 91_337]),
        ],
        video_sizes=[types.VideoSize(type="u", w=640, h=640, size=99_999, video_start_ts=1.25)],
        dc_id=2,
    )


def document_video():
    return types.Document(
        id=-1,
        access_hash=0x7FFF_FFFF_FFFF_FFFF,
        file_reference=bytes(range(253)),  # 253: last length with a 1-byte prefix
        date=DATE - 3600,
        mime_type="video/mp4",
        size=3_000_000_000,  # needs the full `long`
        thumbs=[types.PhotoSize(type="s", w=90, h=90, size=1234)],
        dc_id=4,
        attributes=[
            types.DocumentAttributeVideo(
                supports_streaming=True,
                duration=12.345,
                w=1920,
                h=1080,
                preload_prefix_size=65_536,
                video_start_ts=-0.5,
                video_codec="h264",
            ),
            types.DocumentAttributeFilename(file_name="clip 🎬 видео.mp4"),
            types.DocumentAttributeAnimated(),
        ],
    )


def message_photo():
    return types.Message(
        out=True,
        mentioned=True,
        silent=True,
        post=True,
        pinned=True,
        noforwards=True,
        invert_media=True,
        offline=True,
        id=4242,
        from_id=peer_user(USER_ID),
        from_rank="admin ★",
        peer_id=peer_channel(CHANNEL_ID),
        fwd_from=types.MessageFwdHeader(
            from_id=peer_channel(1_111_111_111),
            date=DATE - 86_400,
            channel_post=77,
            post_author="Автор",
            saved_from_peer=peer_channel(1_111_111_111),
            saved_from_msg_id=76,
        ),
        via_business_bot_id=BOT_ID,
        reply_to=types.MessageReplyHeader(
            quote=True,
            reply_to_msg_id=4241,
            reply_to_peer_id=peer_channel(CHANNEL_ID),
            quote_text="quoted «text»",
            quote_entities=[types.MessageEntityUnderline(offset=0, length=6)],
            quote_offset=3,
        ),
        date=DATE,
        message=PHOTO_TEXT,
        media=types.MessageMediaPhoto(spoiler=True, photo=photo(), ttl_seconds=30),
        entities=entities_rich(),
        views=1_000_000,
        forwards=12,
        replies=types.MessageReplies(
            comments=True,
            replies=5,
            replies_pts=99,
            recent_repliers=[peer_user(1), peer_channel(2)],
            channel_id=CHANNEL_ID + 1,
            max_id=100,
            read_max_id=90,
        ),
        edit_date=DATE + 5,
        post_author="Редакция",
        grouped_id=-123_456_789_012,
        reactions=types.MessageReactions(
            can_see_list=True,
            results=[
                types.ReactionCount(chosen_order=0, reaction=types.ReactionEmoji(emoticon="👍"), count=5),
                types.ReactionCount(reaction=types.ReactionCustomEmoji(document_id=42), count=1),
            ],
        ),
        ttl_period=86_400,
        effect=5_104_841_245_755_180_586,
        paid_message_stars=250,
        summary_from_language="ru",
    )


def message_document():
    return types.Message(
        id=1,
        peer_id=peer_user(USER_ID),
        date=DATE + 1,
        message=LONG_TEXT,
        media=types.MessageMediaDocument(
            video=True, document=document_video(), video_timestamp=7, ttl_seconds=-1
        ),
        entities=[
            types.MessageEntityCode(offset=0, length=4),
            types.MessageEntityFormattedDate(relative=True, long_date=True, offset=5, length=3, date=DATE),
        ],
        via_bot_id=BOT_ID,
        restriction_reason=[types.RestrictionReason(platform="ios", reason="porn", text="Nope")],
        from_boosts_applied=3,
    )


def message_poll():
    return types.Message(
        id=2,
        peer_id=types.PeerChat(chat_id=4_000_000_123),
        from_id=peer_user(USER_ID),
        date=DATE + 2,
        message="",
        media=types.MessageMediaPoll(
            poll=types.Poll(
                id=-42,
                quiz=True,
                public_voters=True,
                question=types.TextWithEntities(
                    text="Which crab? 🦀", entities=[types.MessageEntityBold(offset=0, length=5)]
                ),
                answers=[
                    types.PollAnswer(text=types.TextWithEntities(text="Ferris", entities=[]), option=b"\x00"),
                    types.PollAnswer(
                        text=types.TextWithEntities(text="Краб", entities=[]),
                        option=b"\x01",
                        added_by=peer_user(USER_ID),
                        date=DATE,
                    ),
                ],
                close_period=600,
                countries_iso2=["DE", "FR", "UA"],
                hash=0x0123_4567_89AB_CDEF,
            ),
            results=types.PollResults(
                results=[
                    types.PollAnswerVoters(chosen=True, correct=True, option=b"\x00", voters=3,
                                           recent_voters=[peer_user(USER_ID)]),
                    types.PollAnswerVoters(option=b"\x01"),
                ],
                total_voters=3,
                solution="Ferris is the Rust crab",
                solution_entities=[types.MessageEntityItalic(offset=0, length=6)],
            ),
        ),
    )


def user_full():
    return types.User(
        contact=True,
        mutual_contact=True,
        bot=True,
        bot_info_version=7,
        bot_chat_history=True,
        verified=True,
        restricted=True,
        restriction_reason=[types.RestrictionReason(platform="all", reason="spam", text="Spam 🚫")],
        bot_inline_geo=True,
        premium=True,
        bot_attach_menu=True,
        attach_menu_enabled=True,
        bot_can_edit=True,
        close_friend=True,
        bot_business=True,
        bot_has_main_app=True,
        id=USER_ID,
        access_hash=-1_234_567_890_123_456_789,
        first_name="Алиса 🦀",
        last_name="O'Brien \"Q\"",
        username="alice_bot",
        phone="+15550001111",
        photo=types.UserProfilePhoto(has_video=True, photo_id=9_000_000_000, stripped_thumb=b"\x01\x28\x28", dc_id=5),
        status=types.UserStatusOnline(expires=DATE + 300),
        bot_inline_placeholder="Search…",
        lang_code="uk",
        emoji_status=types.EmojiStatus(document_id=5_368_324_170_671_202_286, until=DATE + 86_400),
        usernames=[
            types.Username(editable=True, active=True, username="alice_bot"),
            types.Username(active=True, username="alice_collectible"),
            types.Username(username="inactive_alice"),
        ],
        stories_max_id=types.RecentStory(live=True, max_id=12),
        color=types.PeerColor(color=5, background_emoji_id=5_100_000_000_000_000_001),
        profile_color=types.PeerColor(color=2),
        bot_active_users=123_456,
        bot_verification_icon=42,
        send_paid_messages_stars=10,
    )


def user_small(uid, name):
    return types.User(id=uid, access_hash=uid * 3, first_name=name, status=types.UserStatusRecently(by_me=True))


def channel():
    return types.Channel(
        megagroup=True,
        forum=True,
        stories_hidden=True,
        id=CHANNEL_ID,
        access_hash=-99,
        title="Rustaceans 🦀",
        username="rustaceans",
        photo=types.ChatPhoto(has_video=False, photo_id=31_337, stripped_thumb=b"\x01\x02", dc_id=2),
        date=DATE - 1_000_000,
        participants_count=100_500,
        usernames=[types.Username(active=True, username="rustaceans")],
        color=types.PeerColor(background_emoji_id=7),
        level=10,
    )


def basic_chat():
    return types.Chat(
        creator=True,
        id=4_000_000_123,
        title="Small group",
        photo=types.ChatPhotoEmpty(),
        participants_count=3,
        date=DATE - 10,
        version=2,
    )


def service_add_user():
    return types.MessageService(
        out=True,
        reactions_are_possible=True,
        id=3,
        from_id=peer_user(USER_ID),
        peer_id=types.PeerChat(chat_id=4_000_000_123),
        date=DATE + 3,
        action=types.MessageActionChatAddUser(users=[USER_ID, -1, 9_223_372_036_854_775_807]),
    )


def service_edit_title():
    return types.MessageService(
        id=4,
        peer_id=types.PeerChat(chat_id=4_000_000_123),
        date=DATE + 4,
        action=types.MessageActionChatEditTitle(title="Новое имя ✨"),
        ttl_period=60,
    )


def messages_messages():
    return types.messages.Messages(
        messages=[
            types.Message(id=10, peer_id=peer_user(USER_ID), date=DATE, message="first",
                          entities=[types.MessageEntityBold(offset=0, length=5)]),
            service_add_user(),
            service_edit_title(),
            types.MessageEmpty(id=11, peer_id=peer_user(USER_ID)),
            message_photo(),
        ],
        topics=[],
        chats=[basic_chat(), channel()],
        users=[user_full(), user_small(1, "Bob"), types.UserEmpty(id=2)],
    )


def messages_slice():
    return types.messages.MessagesSlice(
        inexact=True,
        count=1234,
        next_rate=DATE + 10,
        offset_id_offset=-5,
        messages=[message_document(), message_poll()],
        topics=[],
        chats=[channel()],
        users=[user_small(USER_ID, "Ann")],
    )


def updates_nested():
    return types.Updates(
        updates=[
            types.UpdateNewMessage(
                message=types.Message(id=20, out=True, peer_id=peer_user(USER_ID), date=DATE + 20,
                                      message="new 🆕", entities=[types.MessageEntityHashtag(offset=0, length=3)]),
                pts=100,
                pts_count=1,
            ),
            types.UpdateEditChannelMessage(
                message=types.Message(id=21, post=True, peer_id=peer_channel(CHANNEL_ID), date=DATE + 21,
                                      edit_date=DATE + 22, edit_hide=True, message="edited ✏️", views=7, forwards=0),
                pts=200,
                pts_count=1,
            ),
            types.UpdateReadHistoryInbox(
                folder_id=1, peer=peer_user(USER_ID), top_msg_id=5, max_id=20,
                still_unread_count=0, pts=101, pts_count=1,
            ),
            types.UpdateUserStatus(user_id=USER_ID, status=types.UserStatusOffline(was_online=DATE - 5)),
            types.UpdateDeleteMessages(messages=[1, 2, 3, -2_147_483_648], pts=102, pts_count=4),
            types.UpdateMessageID(id=20, random_id=-6_000_000_000_000_000_000),
            types.UpdateUserTyping(user_id=USER_ID, top_msg_id=9, action=types.SendMessageTypingAction()),
        ],
        users=[user_small(USER_ID, "Ann")],
        chats=[channel()],
        date=DATE + 30,
        seq=77,
    )


def update_short_message():
    return types.UpdateShortMessage(
        out=True,
        silent=True,
        id=500,
        user_id=USER_ID,
        message="short 💬 message",
        pts=300,
        pts_count=1,
        date=DATE + 40,
        fwd_from=types.MessageFwdHeader(from_name="Hidden user", date=DATE - 100, imported=True,
                                        psa_type="covid"),
        via_bot_id=BOT_ID,
        reply_to=types.MessageReplyHeader(reply_to_msg_id=499, reply_to_top_id=400, forum_topic=True),
        entities=[types.MessageEntityUrl(offset=0, length=5), types.MessageEntitySpoiler(offset=6, length=2)],
        ttl_period=3600,
    )


def update_short_chat_extremes():
    # Extreme integers: i32::MIN, i64::MIN/MAX, date 0.
    return types.UpdateShortChatMessage(
        id=-2_147_483_648,
        from_id=-9_223_372_036_854_775_808,
        chat_id=9_223_372_036_854_775_807,
        message="",
        pts=2_147_483_647,
        pts_count=0,
        date=0,
        entities=[],
    )


def update_short():
    return types.UpdateShort(
        update=types.UpdateUserStatus(user_id=1, status=types.UserStatusOnline(expires=DATE + 60)),
        date=DATE + 50,
    )


def config():
    return types.Config(
        default_p2p_contacts=True,
        revoke_pm_inbox=True,
        force_try_ipv6=True,
        date=DATE,
        expires=DATE + 3600,
        test_mode=False,
        this_dc=2,
        dc_options=[
            types.DcOption(id=1, ip_address="149.154.175.53", port=443),
            types.DcOption(ipv6=True, id=1, ip_address="2001:b28:f23d:f001::a", port=443),
            types.DcOption(media_only=True, static=True, this_port_only=True, id=2,
                           ip_address="149.154.167.222", port=443, secret=bytes(range(16))),
            types.DcOption(cdn=True, tcpo_only=True, id=203, ip_address="91.105.192.100", port=-1),
        ],
        dc_txt_domain_name="apv3.stel.com",
        chat_size_max=200,
        megagroup_size_max=200_000,
        forwarded_count_max=100,
        online_update_period_ms=210_000,
        offline_blur_timeout_ms=5000,
        offline_idle_timeout_ms=30_000,
        online_cloud_timeout_ms=300_000,
        notify_cloud_delay_ms=30_000,
        notify_default_delay_ms=1500,
        push_chat_period_ms=60_000,
        push_chat_limit=2,
        edit_time_limit=172_800,
        revoke_time_limit=2_147_483_647,
        revoke_pm_time_limit=2_147_483_647,
        rating_e_decay=2_419_200,
        stickers_recent_limit=200,
        channels_read_media_period=604_800,
        tmp_sessions=0,
        call_receive_timeout_ms=20_000,
        call_ring_timeout_ms=90_000,
        call_connect_timeout_ms=30_000,
        call_packet_timeout_ms=10_000,
        me_url_prefix="https://t.me/",
        autoupdate_url_prefix="https://telegram.org/dl?tme=",
        gif_search_username="gif",
        venue_search_username="foursquare",
        img_search_username="bing",
        static_maps_provider="telegram",
        caption_length_max=1024,
        message_length_max=4096,
        webfile_dc_id=4,
        suggested_lang_code="en",
        lang_pack_version=1_000,
        base_lang_pack_version=999,
        reactions_default=types.ReactionEmoji(emoticon="❤"),
        autologin_token="x" * 300,  # long string: 4-byte length prefix
    )


# name, boxed TL type, object
CASES = [
    ("message_photo", "Message", message_photo),
    ("message_document", "Message", message_document),
    ("message_poll", "Message", message_poll),
    ("message_service", "Message", service_add_user),
    ("user_full", "User", user_full),
    ("messages_messages", "messages.Messages", messages_messages),
    ("messages_slice", "messages.Messages", messages_slice),
    ("updates_nested", "Updates", updates_nested),
    ("update_short_message", "Updates", update_short_message),
    ("update_short_chat_extremes", "Updates", update_short_chat_extremes),
    ("update_short", "Updates", update_short),
    ("config", "Config", config),
    ("document_video", "Document", document_video),
]


def decode(data):
    reader = BinaryReader(data)
    obj = reader.tgread_object()
    if reader.tell_position() != len(data):
        raise ValueError("{} trailing byte(s) after the object".format(len(data) - reader.tell_position()))
    return obj


# --- summaries: "Kind; key=value; key=value" with a few decoded values -------------------------

def ts(d):
    if d is None:
        return "None"
    return str(int(d.timestamp()))


def peer(p):
    if p is None:
        return "None"
    if isinstance(p, types.PeerUser):
        return "user:{}".format(p.user_id)
    if isinstance(p, types.PeerChat):
        return "chat:{}".format(p.chat_id)
    if isinstance(p, types.PeerChannel):
        return "channel:{}".format(p.channel_id)
    return type(p).__name__


def names(items):
    return ",".join(type(x).__name__ for x in items or [])


def summarize_media(m):
    if m is None:
        return ["media=None"]
    out = ["media={}".format(type(m).__name__)]
    if isinstance(m, types.MessageMediaPhoto) and isinstance(m.photo, types.Photo):
        out.append("photo_id={}".format(m.photo.id))
        out.append("photo_sizes={}".format(names(m.photo.sizes)))
        for s in m.photo.sizes:
            if isinstance(s, types.PhotoStrippedSize):
                out.append("stripped_len={}".format(len(s.bytes)))
    if isinstance(m, types.MessageMediaDocument) and isinstance(m.document, types.Document):
        d = m.document
        out.append("doc_id={}".format(d.id))
        out.append("mime={}".format(d.mime_type))
        out.append("attributes={}".format(names(d.attributes)))
        for a in d.attributes:
            if isinstance(a, types.DocumentAttributeVideo):
                out.append("duration={!r}".format(a.duration))
            if isinstance(a, types.DocumentAttributeFilename):
                out.append("file_name={}".format(a.file_name))
    if isinstance(m, types.MessageMediaPoll):
        out.append("question={}".format(m.poll.question.text))
        out.append("answers={}".format(len(m.poll.answers)))
        out.append("countries={}".format(",".join(m.poll.countries_iso2 or [])))
    return out


def summarize(obj):
    kind = type(obj).__name__
    parts = [kind]
    if isinstance(obj, types.Message):
        parts += [
            "id={}".format(obj.id),
            "from={}".format(peer(obj.from_id)),
            "peer={}".format(peer(obj.peer_id)),
            "date={}".format(ts(obj.date)),
            "entities={}".format(len(obj.entities or [])),
            "entity_types={}".format(names(obj.entities)),
            "reply_to={}".format(getattr(obj.reply_to, "reply_to_msg_id", None)),
            "fwd_date={}".format(ts(obj.fwd_from.date) if obj.fwd_from else None),
            "offline={}".format(bool(obj.offline)),
            "effect={}".format(obj.effect),
        ]
        parts += summarize_media(obj.media)
        for e in obj.entities or []:
            if isinstance(e, types.MessageEntityTextUrl):
                parts.append("url={}".format(e.url))
        parts.append("text={}".format(obj.message))
    elif isinstance(obj, types.MessageService):
        parts += [
            "id={}".format(obj.id),
            "peer={}".format(peer(obj.peer_id)),
            "action={}".format(type(obj.action).__name__),
        ]
        if isinstance(obj.action, types.MessageActionChatAddUser):
            parts.append("action_users={}".format(",".join(str(u) for u in obj.action.users)))
        if isinstance(obj.action, types.MessageActionChatEditTitle):
            parts.append("title={}".format(obj.action.title))
    elif isinstance(obj, types.MessageEmpty):
        parts.append("id={}".format(obj.id))
    elif isinstance(obj, types.User):
        parts += [
            "id={}".format(obj.id),
            "first_name={}".format(obj.first_name),
            "last_name={}".format(obj.last_name),
            "username={}".format(obj.username),
            "bot={}".format(bool(obj.bot)),
            "verified={}".format(bool(obj.verified)),
            "premium={}".format(bool(obj.premium)),
            "bot_info_version={}".format(obj.bot_info_version),
            "usernames={}".format(",".join(u.username for u in obj.usernames or [])),
            "emoji_status={}".format(getattr(obj.emoji_status, "document_id", None)),
            "color={}".format(getattr(obj.color, "color", None)),
            "status={}".format(type(obj.status).__name__ if obj.status else None),
        ]
    elif isinstance(obj, (types.messages.Messages, types.messages.MessagesSlice, types.messages.ChannelMessages)):
        parts += [
            "messages={}".format(len(obj.messages)),
            "kinds={}".format(names(obj.messages)),
            "ids={}".format(",".join(str(m.id) for m in obj.messages)),
            "chats={}".format(names(obj.chats)),
            "users={}".format(len(obj.users)),
            "user_names={}".format(",".join(str(getattr(u, "first_name", None)) for u in obj.users)),
        ]
        if hasattr(obj, "count"):
            parts.append("count={}".format(obj.count))
        parts.append("actions={}".format(",".join(
            type(m.action).__name__ for m in obj.messages if isinstance(m, types.MessageService))))
        parts.append("texts={}".format("|".join(
            m.message for m in obj.messages if isinstance(m, types.Message))))
    elif isinstance(obj, (types.Updates, types.UpdatesCombined)):
        parts += [
            "updates={}".format(len(obj.updates)),
            "kinds={}".format(names(obj.updates)),
            "users={}".format(len(obj.users)),
            "chats={}".format(len(obj.chats)),
            "seq={}".format(obj.seq),
            "date={}".format(ts(obj.date)),
            "texts={}".format("|".join(
                u.message.message for u in obj.updates
                if isinstance(getattr(u, "message", None), types.Message))),
        ]
    elif isinstance(obj, (types.UpdateShortMessage, types.UpdateShortChatMessage)):
        parts += [
            "id={}".format(obj.id),
            "user_id={}".format(getattr(obj, "user_id", None)),
            "from_id={}".format(getattr(obj, "from_id", None)),
            "chat_id={}".format(getattr(obj, "chat_id", None)),
            "date={}".format(ts(obj.date)),
            "entities={}".format(names(obj.entities)),
            "text={}".format(obj.message),
        ]
    elif isinstance(obj, types.UpdateShort):
        parts += ["update={}".format(type(obj.update).__name__), "date={}".format(ts(obj.date))]
    elif isinstance(obj, types.Config):
        parts += [
            "this_dc={}".format(obj.this_dc),
            "test_mode={}".format(obj.test_mode),
            "dc_options={}".format(len(obj.dc_options)),
            "ips={}".format(",".join(o.ip_address for o in obj.dc_options)),
            "autologin_len={}".format(len(obj.autologin_token or "")),
        ]
    elif isinstance(obj, types.Document):
        parts += [
            "id={}".format(obj.id),
            "mime={}".format(obj.mime_type),
            "size={}".format(obj.size),
            "file_reference_len={}".format(len(obj.file_reference)),
            "attributes={}".format(names(obj.attributes)),
        ]
    return "; ".join(parts)


def emit():
    for name, tl_type, build in CASES:
        data = bytes(build())
        # Self-check: Telethon must round-trip its own bytes, so a mismatch on the Rust side
        # cannot be blamed on Telethon.
        again = bytes(decode(data))
        if again != data:
            sys.exit("telethon_peer.py: Telethon does not round-trip its own {}".format(name))
        print(json.dumps({"name": name, "type": tl_type, "hex": data.hex()}, ensure_ascii=True))


def roundtrip():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        case = json.loads(line)
        name = case.get("name", "?")
        try:
            obj = decode(bytes.fromhex(case["hex"]))
            out = {"name": name, "hex": bytes(obj).hex(), "summary": summarize(obj)}
        except Exception as e:  # noqa: BLE001 - report every failure to the Rust side
            out = {"name": name, "error": "{}: {}".format(type(e).__name__, e)}
        print(json.dumps(out, ensure_ascii=True))
        sys.stdout.flush()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "emit":
        emit()
    elif mode == "roundtrip":
        roundtrip()
    else:
        sys.exit("usage: telethon_peer.py emit|roundtrip")


if __name__ == "__main__":
    main()
