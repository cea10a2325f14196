"""Telethon 1.45 (layer 229) as the counterpart of mtcute, pyrotgfork and grammers in
server-kit/tests/peers.rs: it answers whoever writes to it, at the same time, through the one
server. Usage: peer.py PORT DATA_DIR WORK_DIR USERNAME,USERNAME,...

  1. Signs up as @tele_p and writes its user id to WORK_DIR/tele_p.ready (the test copies it
     into each client's work directory).
  2. Answers private messages, each through the server's pushed updates:
       "ping X"        -> "pong X from @SENDER" (the sender as Telethon resolves it)
       a document      -> downloads it and sends it back with the caption
                          "echo SHA256 SIZE" of what it downloaded
       "join @CHANNEL" -> joins the channel, reads its last 10 posts and answers
                          "read: NEWEST | ... | OLDEST"
       "bye"           -> "bye @SENDER"; once every USERNAME said it, prints "telethon ok".
  Other messages (the peers' history floods) are left alone.
"""
import asyncio, hashlib, io, os, sys
import rsa as pyrsa
from telethon import TelegramClient, events, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, WORK = int(sys.argv[1]), sys.argv[2], sys.argv[3]
PEERS = set(sys.argv[4].split(","))


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


async def main():
    trust_server_key()
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    phone = "+1 555 0900"
    sent = await c.send_code_request(phone)
    try:
        await c.sign_in(phone, "12345", phone_code_hash=sent.phone_code_hash)
    except Exception as e:
        if type(e).__name__ != "PhoneNumberUnoccupiedError":
            raise
        await c(functions.auth.SignUpRequest(
            phone_number=phone, phone_code_hash=sent.phone_code_hash,
            first_name="Tele", last_name="P"))
    await c(functions.account.UpdateUsernameRequest("tele_p"))
    me = await c.get_me()
    done = set()
    finished = asyncio.Event()

    async def answer(event):
        sender = await event.get_sender()
        name = sender.username
        text = event.raw_text or ""
        if event.document is not None:
            data = await c.download_media(event.message, file=bytes)
            digest = hashlib.sha256(data).hexdigest()
            print(f"file from @{name}: {len(data)} bytes", flush=True)
            blob = io.BytesIO(data)
            blob.name = "echo.bin"
            await c.send_file(sender, blob, force_document=True,
                              caption=f"echo {digest} {len(data)}")
        elif text.startswith("ping "):
            await event.respond(f"pong {text[5:]} from @{name}")
        elif text.startswith("join @"):
            channel = await c.get_entity(text[5:])
            await c(functions.channels.JoinChannelRequest(channel))
            posts = [m.message for m in await c.get_messages(channel, limit=10) if m.message]
            await event.respond("read: " + " | ".join(posts))
        elif text == "bye":
            await event.respond(f"bye @{name}")
            done.add(name)
            print(f"bye from @{name}", flush=True)
            if PEERS <= done:
                finished.set()

    @c.on(events.NewMessage(incoming=True, func=lambda e: e.is_private))
    async def on_message(event):
        # One task per message: a download must not hold up the next ping.
        async def guarded():
            try:
                await answer(event)
            except Exception as e:  # reported, and the waiting peer times out on it
                print(f"answering {event.raw_text!r}: {type(e).__name__}: {e}", flush=True)
        asyncio.get_running_loop().create_task(guarded())

    tmp = os.path.join(WORK, "tele_p.ready.tmp")
    with open(tmp, "w") as f:
        f.write(str(me.id))
    os.rename(tmp, os.path.join(WORK, "tele_p.ready"))
    print("ready", me.id, flush=True)
    await asyncio.wait_for(finished.wait(), 600)
    await c.disconnect()
    print("telethon ok", flush=True)


asyncio.run(main())
