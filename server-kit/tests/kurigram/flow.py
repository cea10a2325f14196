"""kurigram 2.2.26 (import name pyrogram, layer 229) against the reference server, with a
Telethon 1.45 user as its peer. Driven by server-kit/tests/peers.rs (at the same time as
every other client family), in a work directory of its own. Usage: flow.py PORT DATA_DIR

  1. kurigram signs up as K (ping first, then invokeWithLayer; sign_in says sign-up needed),
     then signs in again on a new key; Telethon signs up as T.
  2. K sends T a message; T gets it pushed with K as the sender.
  3. T answers with text and a 2 MiB file (a multiple of kurigram's 1 MiB chunk); K gets both
     (kurigram fetches the full messages through getDifference) and downloads the file on
     its media session; the bytes match.
  4. K sends 160 messages at once and pages the whole chat with its own history iterator:
     each message once, newest first.
  5. kurigram runs a channel Telethon joins and reads, and a basic group Telethon gets
     kurigram's message in.

Every check raises; the last line printed is "kurigram ok".
"""
import asyncio, io, os, sys
import rsa as pyrsa
from telethon import TelegramClient, events, functions
from telethon.crypto import rsa as telethon_rsa
from telethon.sessions import StringSession
from pyrogram import Client, filters, types
from pyrogram.connection import Connection
from pyrogram.crypto import rsa as kuri_rsa
from pyrogram.handlers import MessageHandler

PORT, DATA = int(sys.argv[1]), sys.argv[2]
CODE = "12345"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    fingerprint = telethon_rsa._compute_fingerprint(key)
    telethon_rsa._server_keys[fingerprint] = (key, False)
    kuri_rsa.server_public_keys[fingerprint] = kuri_rsa.PublicKey(m=key.n, e=key.e)


class Pinned(Connection):
    """New kurigram sessions dial 149.154.167.51:443; pin the test server."""

    def __init__(self, dc_id, server_address, port, *args, **kwargs):
        super().__init__(dc_id, "127.0.0.1", PORT, *args, **kwargs)


async def kurigram_login(phone, name):
    app = Client(f"k{phone[-4:]}", api_id=1, api_hash="x", in_memory=True,
                 connection_factory=Pinned, workdir=DATA)
    await app.connect()
    sent = await app.send_code(phone)
    signed = await app.sign_in(phone, sent.phone_code_hash, CODE)
    if not isinstance(signed, types.User):
        # False, or the terms of service: a new number must sign up.
        signed = await app.sign_up(phone, sent.phone_code_hash, name)
    return app, signed


async def main():
    trust_server_key()
    phone = "+1 555 0801"
    k, me = await kurigram_login(phone, "Kuri")
    await k.disconnect()
    k, me2 = await kurigram_login(phone, "ignored")
    check(me2.id == me.id, "signing in again gives the same user")
    inbox = asyncio.Queue()

    async def on_message(_, message):
        await inbox.put(message)

    k.add_handler(MessageHandler(on_message, filters.private & filters.incoming))
    await k.initialize()
    await k.set_username("kuri_k")
    check(await k.get_me() is not None, "get_me")
    print("kurigram signed in", me.id, flush=True)

    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    t = TelegramClient(session, 1, "x")
    await t.connect()
    tphone = "+1 555 0802"
    sent = await t.send_code_request(tphone)
    try:
        await t.sign_in(tphone, CODE, phone_code_hash=sent.phone_code_hash)
    except Exception as e:
        if type(e).__name__ != "PhoneNumberUnoccupiedError":
            raise
        await t(functions.auth.SignUpRequest(
            phone_number=tphone, phone_code_hash=sent.phone_code_hash,
            first_name="Tele", last_name="K"))
    await t(functions.account.UpdateUsernameRequest("tele_k"))
    tme = await t.get_me()
    tbox = asyncio.Queue()

    @t.on(events.NewMessage(incoming=True))
    async def on_tele(event):
        await tbox.put(event)

    await k.send_message("tele_k", "hi telethon from kurigram")
    got = await asyncio.wait_for(tbox.get(), 30)
    check(got.raw_text == "hi telethon from kurigram", f"Telethon got {got.raw_text!r}")
    check(got.sender_id == me.id, f"sender {got.sender_id} != {me.id}")
    print("telethon received", flush=True)

    await t.send_message("kuri_k", "hi kurigram from telethon")
    text = await asyncio.wait_for(inbox.get(), 30)
    check(text.text == "hi kurigram from telethon", f"kurigram got {text.text!r}")
    check(text.from_user.id == tme.id, "kurigram sees Telethon as the sender")
    print("kurigram received", flush=True)

    data = os.urandom(2 * 1024 * 1024)
    blob = io.BytesIO(data)
    blob.name = "k.bin"
    await t.send_file("kuri_k", blob, force_document=True, caption="a file")
    doc = await asyncio.wait_for(inbox.get(), 60)
    check(doc.document is not None, f"a document arrives: {doc}")
    down = await k.download_media(doc, in_memory=True)
    check(bytes(down.getbuffer()) == data, f"downloaded {len(down.getbuffer())} bytes match")
    print("kurigram downloaded", flush=True)

    # 160 messages sent at once (within about a second), then the whole chat paged with
    # kurigram's own history iterator (offset_id paging): each message exactly once, newest
    # first.
    BURST = 160
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(k.send_message("tele_k", f"burst {i}") for i in range(BURST)))
    spent = asyncio.get_running_loop().time() - started
    history = [m async for m in k.get_chat_history(tme.id)]
    ids = [m.id for m in history]
    check(len(ids) == len(set(ids)), "no message twice in kurigram's history")
    check(ids == sorted(ids, reverse=True), "kurigram's history is newest first")
    bursts = sorted(m.text for m in history if m.text and m.text.startswith("burst "))
    check(bursts == sorted(f"burst {i}" for i in range(BURST)),
          f"kurigram pages all {BURST}: saw {len(bursts)}")
    check(len(history) == BURST + 3, f"the whole chat: {len(history)} messages")
    print(f"kurigram paged {len(history)} messages ({BURST} sent in {spent:.2f} s)", flush=True)

    # A channel run from kurigram: pyrogram sends inputPeerChannel where the schema says
    # InputChannel (channels.updateUsername and others), which the server decodes as Telegram
    # does; Telethon joins by the username and reads, kurigram pages its own history.
    ch = await k.create_channel("Kuri news", "posts")
    check(await k.set_chat_username(ch.id, "kuri_news"), "channel username set")
    await k.send_message(ch.id, "first post")
    await k.send_message(ch.id, "second post")
    news = await t.get_entity("@kuri_news")
    await t(functions.channels.JoinChannelRequest(news))
    posts = [m.text for m in await t.get_messages(news, limit=10)]
    check(posts == ["second post", "first post"], f"Telethon reads the channel: {posts}")
    history = [m.text async for m in k.get_chat_history(ch.id)]
    check(history == ["second post", "first post"], f"kurigram reads its channel: {history}")
    full = await k.get_chat(ch.id)
    check(full.username == "kuri_news", f"kurigram's get_chat: {full.username!r}")
    print("kurigram channel", flush=True)

    # A basic group made by kurigram (messages.createChat): Telethon gets its message in the
    # group, kurigram reads the group's history (service message included) and its members.
    group = await k.create_group("Kuri group", ["tele_k"])
    check(group.id < 0 and group.title == "Kuri group", f"kurigram's group: {group.id}")
    await k.send_message(group.id, "hello group")
    # (The burst above is still queued at Telethon: skip to the group's message.)
    got = await asyncio.wait_for(tbox.get(), 30)
    while got.raw_text != "hello group":
        got = await asyncio.wait_for(tbox.get(), 30)
    check(got.chat_id == group.id, f"Telethon sees it in the group: {got.chat_id}")
    texts = [m.text async for m in k.get_chat_history(group.id)]
    check(texts[0] == "hello group" and len(texts) == 2, f"the group's history: {texts}")
    members = [m.user.id async for m in k.get_chat_members(group.id)]
    check(sorted(members) == sorted([me.id, tme.id]), f"members: {members}")
    print("kurigram group", flush=True)

    await t.disconnect()
    await k.stop()
    print("kurigram ok", flush=True)


asyncio.run(main())
