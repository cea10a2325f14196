"""Telethon 1.45 and the project's client (client-sdk) talk through the reference server.
Driven by server-kit/tests/sdk_telethon.rs:

  1. Telethon signs up as T with the username tele_interop and prints "READY".
  2. It waits for a message from the Rust client (username sdk_interop), prints "GOT <text>",
     replies "echo: <text>", then writes "from telethon" to @sdk_interop by username.
  3. It waits for the Rust client's "bye" (its second message) and prints "DONE".

Every check raises on failure; exit status 0 means all of it happened.
"""
import asyncio, os, sys
import rsa as pyrsa
from telethon import TelegramClient, events, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA = int(sys.argv[1]), sys.argv[2]


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


async def main():
    trust_server_key()
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    phone = "+1 555 0400"
    sent = await c.send_code_request(phone)
    try:
        await c.sign_in(phone, "12345", phone_code_hash=sent.phone_code_hash)
    except Exception as e:
        if type(e).__name__ != "PhoneNumberUnoccupiedError":
            raise
        await c(functions.auth.SignUpRequest(
            phone_number=phone, phone_code_hash=sent.phone_code_hash,
            first_name="Tele", last_name=""))
    await c(functions.account.UpdateUsernameRequest("tele_interop"))
    inbox = asyncio.Queue()

    @c.on(events.NewMessage(incoming=True))
    async def on_message(event):
        await inbox.put(event)

    print("READY", flush=True)
    first = await asyncio.wait_for(inbox.get(), 30)
    print("GOT", first.raw_text, flush=True)
    sender = await first.get_sender()
    if sender.username != "sdk_interop":
        raise AssertionError(f"message from {sender.username!r}")
    await first.respond("echo: " + first.raw_text)
    await c.send_message("sdk_interop", "from telethon")
    second = await asyncio.wait_for(inbox.get(), 30)
    if second.raw_text != "bye":
        raise AssertionError(f"second message {second.raw_text!r}")
    print("DONE", flush=True)
    await c.disconnect()


asyncio.run(main())
