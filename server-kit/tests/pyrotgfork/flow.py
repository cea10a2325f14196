"""pyrotgfork 2.2.24.1 (PyPI, import name pyrogram, layer 227, obfuscated abridged transport:
its default, kept) against the reference server, driven by server-kit/tests/peers.rs. Usage:
flow.py PORT DATA_DIR WORK_DIR

Its counterpart is Telethon (server-kit/tests/telethon/peer.py, @tele_p), which answers
through pushed updates:
  1. sign up (sign_in says the number is new) and in again on a new key, take @pyro_a;
  2. "ping pyrotgfork" to @tele_p, the "pong" arrives through pyrogram's update handler;
  3. 160 messages sent at once, then the whole chat paged by get_chat_history newest first
     and oldest first: every message seen exactly once, in order;
  4. a 1.5 MiB document up (three 512 KiB parts); Telethon downloads it and sends it back;
     pyrotgfork downloads both copies and the bytes match;
  5. a broadcast channel created, named, posted to and read with get_chat_history; Telethon
     joins it and reads the same posts;
  6. "bye". Every check raises; the last line printed is "pyrotgfork ok".

pyrotgfork trusts only Telegram's keys and dials Telegram's addresses: the server's key is
added to its key table and its address table answers the test server for every DC.
"""
import asyncio, base64, hashlib, io, os, sys, time
import pyrogram.connection.connection as pyro_connection
from pyrogram import Client, filters, types
from pyrogram.crypto import rsa
from pyrogram.handlers import MessageHandler

PORT, DATA, WORK = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CODE = "12345"
PHONE = "+15550921"
FLOOD = 160


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def der_integers(der):
    """The INTEGERs of a DER SEQUENCE (a PKCS#1 RSAPublicKey: modulus, exponent)."""

    def item(buf, at):
        tag, size = buf[at], buf[at + 1]
        at += 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(buf[at:at + count], "big")
            at += count
        return tag, buf[at:at + size], at + size

    tag, body, _ = item(der, 0)
    check(tag == 0x30, "rsa-public.pem holds a DER SEQUENCE")
    values, at = [], 0
    while at < len(body):
        tag, value, at = item(body, at)
        check(tag == 0x02, "an INTEGER in the key")
        values.append(value)
    return values


def tl_bytes(raw):
    head = bytes([len(raw)]) if len(raw) < 254 else b"\xfe" + len(raw).to_bytes(3, "little")
    body = head + raw
    return body + b"\0" * (-len(body) % 4)


def trust_server():
    pem = open(os.path.join(DATA, "rsa-public.pem")).read()
    check("BEGIN RSA PUBLIC KEY" in pem, "a PKCS#1 key")
    der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    n, e = (v.lstrip(b"\0") for v in der_integers(der))
    digest = hashlib.sha1(tl_bytes(n) + tl_bytes(e)).digest()
    fingerprint = int.from_bytes(digest[12:20], "little", signed=True)
    rsa.server_public_keys[fingerprint] = rsa.PublicKey(
        m=int.from_bytes(n, "big"), e=int.from_bytes(e, "big"))
    pyro_connection.DataCenter = lambda dc_id, test_mode, ipv6, media: ("127.0.0.1", PORT)


async def login(name):
    app = Client(name, api_id=1, api_hash="x", in_memory=True, workdir=WORK)
    await app.connect()
    sent = await app.send_code(PHONE)
    signed = await app.sign_in(PHONE, sent.phone_code_hash, CODE)
    if not isinstance(signed, types.User):
        # False, or the terms of service: a new number signs up.
        signed = await app.sign_up(PHONE, sent.phone_code_hash, "Pyro", "A")
    return app, signed


async def wait_file(path, seconds):
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        check(time.monotonic() < end, f"timed out waiting for {path}")
        await asyncio.sleep(0.2)
    return open(path).read()


async def main():
    trust_server()
    # 1. Sign up, then in again on a new key.
    app, me = await login("pyro1")
    await app.disconnect()
    app, again = await login("pyro2")
    check(again.id == me.id, f"signing in again gives the same user: {again.id} != {me.id}")
    inbox = asyncio.Queue()

    async def on_message(_, message):
        await inbox.put(message)

    app.add_handler(MessageHandler(on_message, filters.private & filters.incoming))
    await app.initialize()
    await app.set_username("pyro_a")
    log("signed in", me.id)

    tele_id = int((await wait_file(os.path.join(WORK, "tele_p.ready"), 120)).strip())

    async def next_from_tele(pred, what, seconds=60):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            check(left > 0, f"timed out waiting for {what}")
            try:
                m = await asyncio.wait_for(inbox.get(), left)
            except asyncio.TimeoutError:
                raise AssertionError(f"timed out waiting for {what}")
            if m.from_user and m.from_user.id == tele_id and pred(m):
                return m

    # 2. Chat with Telethon, both directions pushed.
    await app.send_message("tele_p", "ping pyrotgfork")
    pong = await next_from_tele(lambda m: (m.text or "").startswith("pong"), "Telethon's pong")
    check(pong.text == "pong pyrotgfork from @pyro_a", f"Telethon answered {pong.text!r}")
    check(pong.chat.id == tele_id, "the pong is in the private chat with Telethon")
    log("chat ok")

    # 3. A flood sent at once, then the whole chat paged both ways.
    started = time.monotonic()
    sent = await asyncio.gather(*(app.send_message("tele_p", f"flood {i}") for i in range(FLOOD)))
    spread = time.monotonic() - started
    sent_ids = {m.id for m in sent}
    check(len(sent_ids) == FLOOD, f"{FLOOD} distinct ids: {len(sent_ids)}")
    newest = [m async for m in app.get_chat_history("tele_p")]
    oldest = [m async for m in app.get_chat_history("tele_p", reverse=True)]
    for name, seen, sign in (("newest first", newest, -1), ("oldest first", oldest, 1)):
        ids = [m.id for m in seen]
        check(len(set(ids)) == len(ids), f"{name}: each message once ({len(ids)} seen)")
        check(all((b - a) * sign > 0 for a, b in zip(ids, ids[1:])), f"{name}: in order")
        flood = [m for m in seen if (m.text or "").startswith("flood ")]
        check(len(flood) == FLOOD and all(m.id in sent_ids for m in flood),
              f"{name}: {len(flood)} of the {FLOOD} sent")
        texts = [m.text for m in seen]
        check("ping pyrotgfork" in texts and pong.text in texts, f"{name}: the chat")
    check(len(newest) == len(oldest), f"both ways see the same: {len(newest)} vs {len(oldest)}")
    dates = [m.date.timestamp() for m in sent]
    log(f"history ok: {FLOOD} sent in {spread:.2f} s (dates span {max(dates) - min(dates):.0f} s),"
        f" {len(newest)} paged each way")

    # 4. A file up, echoed back by Telethon, both copies down.
    data = os.urandom(3 * 512 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    blob = io.BytesIO(data)
    blob.name = "pyro.bin"
    up = await app.send_document("tele_p", blob, caption="a file")
    echo = await next_from_tele(lambda m: (m.caption or "").startswith("echo "),
                                "Telethon's echo of the file", 180)
    check(echo.caption == f"echo {digest} {len(data)}",
          f"Telethon downloaded the same bytes: {echo.caption}")
    check(echo.document is not None, "the echo is a document")
    mine = await app.download_media(up, in_memory=True)
    check(bytes(mine.getbuffer()) == data, f"own upload downloads byte-exact ({len(mine.getbuffer())})")
    theirs = await app.download_media(echo, in_memory=True)
    check(bytes(theirs.getbuffer()) == data,
          f"Telethon's copy downloads byte-exact ({len(theirs.getbuffer())})")
    log("file ok")

    # 5. A channel: created, named, posted to, read; Telethon joins and reads it.
    channel = await app.create_channel("Pyro news", "layer 227")
    check(await app.set_chat_username(channel.id, "pyro_news"), "channel username set")
    await app.send_message(channel.id, "first post")
    await app.send_message(channel.id, "second post")
    posts = [m.text async for m in app.get_chat_history(channel.id) if m.text]
    check(posts == ["second post", "first post"], f"pyrotgfork reads its channel: {posts}")
    await app.send_message("tele_p", "join @pyro_news")
    read = await next_from_tele(lambda m: (m.text or "").startswith("read:"), "Telethon's reading")
    check(read.text == "read: second post | first post", f"Telethon read {read.text!r}")
    full = await app.get_chat("pyro_news")
    check(full.id == channel.id and full.username == "pyro_news", f"resolved @pyro_news: {full.id}")
    log("channel ok")

    await app.send_message("tele_p", "bye")
    bye = await next_from_tele(lambda m: (m.text or "").startswith("bye"), "Telethon's bye")
    check(bye.text == "bye @pyro_a", f"bye: {bye.text!r}")
    await app.stop()
    print("pyrotgfork ok", flush=True)


asyncio.run(main())
