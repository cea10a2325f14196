"""Telethon 1.45 against the reference server: python3 hello.py [PORT] [DATA_DIR] [PHONE]"""
import asyncio, sys, rsa as pyrsa
from telethon import TelegramClient, errors, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

async def main(port=4430, data="data", phone="+15550100"):
    key = pyrsa.PublicKey.load_pkcs1(open(f"{data}/rsa-public.pem", "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)  # trust our server's key
    session = StringSession()
    session.set_dc(2, "127.0.0.1", int(port))
    client = TelegramClient(session, 1, "any-api-hash")
    await client.connect()
    sent = await client.send_code_request(phone)
    try:
        await client.sign_in(phone, "12345", phone_code_hash=sent.phone_code_hash)
    except errors.PhoneNumberUnoccupiedError:  # a new number: sign up (Telethon's sign_up() refuses)
        await client(functions.auth.SignUpRequest(phone, sent.phone_code_hash, "Alice", ""))
    await client.send_message("me", "hello from Telethon")
    print((await client.get_messages("me", limit=1))[0].text)
    await client.disconnect()

asyncio.run(main(*sys.argv[1:]))
