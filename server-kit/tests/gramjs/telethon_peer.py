"""Telethon 1.45 (layer 229) chats with a GramJS user (layer 198) through the reference
server, at the same time as server-kit/tests/gramjs/e2e.js runs (both driven by
server-kit/tests/peers.rs). Usage:
telethon_peer.py PORT DATA_DIR WORK_DIR

  1. Signs up as tele_g and writes its user id to WORK_DIR/tele.ready.
  2. Waits for "hi telethon from gramjs" from @gram_a (checks the sender and the text),
     answers "hi gramjs from telethon".
  3. Waits for "bye telethon", checks the history with @gram_a, prints "telethon ok".
"""
import asyncio, os, sys
import rsa as pyrsa
from telethon import TelegramClient, events, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, WORK = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def main():
    trust_server_key()
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    phone = "+1 555 0703"
    sent = await c.send_code_request(phone)
    try:
        await c.sign_in(phone, "12345", phone_code_hash=sent.phone_code_hash)
    except Exception as e:
        if type(e).__name__ != "PhoneNumberUnoccupiedError":
            raise
        await c(functions.auth.SignUpRequest(
            phone_number=phone, phone_code_hash=sent.phone_code_hash,
            first_name="Tele", last_name="G"))
    await c(functions.account.UpdateUsernameRequest("tele_g"))
    me = await c.get_me()
    inbox = asyncio.Queue()

    @c.on(events.NewMessage(incoming=True))
    async def on_message(event):
        await inbox.put(event)

    tmp = os.path.join(WORK, "tele.ready.tmp")
    with open(tmp, "w") as f:
        f.write(str(me.id))
    os.rename(tmp, os.path.join(WORK, "tele.ready"))
    print("ready", me.id, flush=True)

    first = await asyncio.wait_for(inbox.get(), 120)
    check(first.raw_text == "hi telethon from gramjs", f"first message {first.raw_text!r}")
    sender = await first.get_sender()
    check(sender.username == "gram_a", f"message from {sender.username!r}")
    check(sender.first_name == "Gram", f"sender's name {sender.first_name!r}")
    await c.send_message("gram_a", "hi gramjs from telethon")
    second = await asyncio.wait_for(inbox.get(), 60)
    check(second.raw_text == "bye telethon", f"second message {second.raw_text!r}")
    history = await c.get_messages("gram_a", limit=5)
    texts = [m.message for m in history]
    check(texts[:3] == ["bye telethon", "hi gramjs from telethon", "hi telethon from gramjs"],
          f"history {texts}")
    await c.disconnect()
    print("telethon ok", flush=True)


asyncio.run(main())
