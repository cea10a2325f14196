"""The Telethon side of the browser test (server-kit/tests/web.rs): a Telethon 1.45 user on
TCP chats with the web page's user (GramJS in Chromium, over WebSocket). Usage:
telethon_peer.py PORT DATA_DIR WORK_DIR PHOTO_PNG

  1. Signs up as @tele_w, writes its user id to WORK_DIR/tele.ready.
  2. Waits for "hi telethon from the browser" (checks the sender's name), then sends 40
     messages "older 1".."older 40" (history for the page to scroll back through).
  3. Shows "typing" until the page writes WORK_DIR/typing.seen, then sends
     "hi browser from telethon" and the photo PHOTO_PNG.
  4. Waits for a photo from the browser and downloads it (a JPEG the server made).
  5. When the page writes WORK_DIR/chat.closed, sends "one more" and "and another" (two
     unread messages for the dialog list).
  6. Checks the browser user's typing reached it; prints "telethon ok".
"""
import asyncio, os, sys, time
import rsa as pyrsa
from telethon import TelegramClient, errors, events, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, WORK, PHOTO = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


async def wait_file(name, seconds):
    path = os.path.join(WORK, name)
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        check(time.monotonic() < end, f"timed out waiting for {path}")
        await asyncio.sleep(0.2)


async def main():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    phone = "+1 555 0802"
    sent = await c.send_code_request(phone)
    try:
        await c.sign_in(phone, "12345", phone_code_hash=sent.phone_code_hash)
        raise AssertionError("a new number signed in without signing up")
    except errors.PhoneNumberUnoccupiedError:
        await c(functions.auth.SignUpRequest(
            phone_number=phone, phone_code_hash=sent.phone_code_hash, first_name="Tele",
            last_name="W"))
    await c(functions.account.UpdateUsernameRequest("tele_w"))
    me = await c.get_me()
    inbox = asyncio.Queue()
    typing_from = set()

    @c.on(events.NewMessage(incoming=True))
    async def on_message(event):
        await inbox.put(event)

    @c.on(events.UserUpdate)
    async def on_user_update(event):
        if event.typing:
            typing_from.add(event.user_id)

    tmp = os.path.join(WORK, "tele.ready.tmp")
    with open(tmp, "w") as f:
        f.write(str(me.id))
    os.rename(tmp, os.path.join(WORK, "tele.ready"))
    log("ready", me.id)

    first = await asyncio.wait_for(inbox.get(), 120)
    check(first.raw_text == "hi telethon from the browser", f"first message {first.raw_text!r}")
    web = await first.get_sender()
    check(web.first_name == "Wendy", f"sender's name {web.first_name!r}")
    log("got the browser's message from", web.id)
    for i in range(1, 41):
        await c.send_message(web, f"older {i}")

    async with c.action(web, "typing"):
        await wait_file("typing.seen", 60)
    log("the page showed typing")
    await c.send_message(web, "hi browser from telethon")
    await c.send_file(web, PHOTO)
    log("sent text and photo")

    photo = await asyncio.wait_for(inbox.get(), 60)
    check(photo.photo is not None, f"a photo from the browser, got {photo.raw_text!r} {photo.media!r}")
    data = await c.download_media(photo.message, file=bytes)
    check(data[:2] == b"\xff\xd8", f"the browser's photo as JPEG: {data[:8]!r}")
    log("got the browser's photo,", len(data), "bytes")

    await wait_file("chat.closed", 60)
    await c.send_message(web, "one more")
    await c.send_message(web, "and another")
    check(web.id in typing_from, f"typing from the browser user {web.id}: saw {typing_from}")
    await wait_file("done", 120)
    await c.disconnect()
    log("telethon ok")


asyncio.run(main())
