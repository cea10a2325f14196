"""Telethon's side of the transfer benchmark: sign up two users, A sends B a file of SIZE
random bytes as a document, B downloads it; prints MiB/s of both and checks the bytes; then
A sends B 500 messages one after another (messages per second). Says whether cryptg (the
C AES that makes Telethon's crypto fast) is installed."""
import asyncio, hashlib, os, sys, time
import rsa as pyrsa
from telethon import TelegramClient, errors, functions, types
from telethon.crypto import rsa
from telethon.sessions import MemorySession

PORT, DATA, SIZE = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


async def user(phone):
    s = MemorySession()
    s.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(s, 1, "x")
    await c.connect()
    sent = await c.send_code_request(phone)
    try:  # an unknown number: the code is checked by signIn, then signUp makes the account
        await c.sign_in(phone, "12345", phone_code_hash=sent.phone_code_hash)
    except errors.PhoneNumberUnoccupiedError:
        pass
    await c(functions.auth.SignUpRequest(phone_number=phone, phone_code_hash=sent.phone_code_hash,
                                         first_name="t" + phone, last_name=""))
    return c


async def main():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)
    a = await user("+88 000 0101")
    b = await user("+88 000 0102")
    me_b = await b.get_me()
    data = os.urandom(SIZE)
    path = os.path.join(DATA, "telethon-transfer.bin")
    open(path, "wb").write(data)
    start = time.monotonic()
    sent = await a.send_file(types.InputPeerUser(me_b.id, me_b.access_hash), path, force_document=True)
    upload = time.monotonic() - start
    msg = (await b.get_dialogs())[0].message
    start = time.monotonic()
    got = await b.download_media(msg, file=bytes)
    download = time.monotonic() - start
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    print("upload_mib_s", SIZE / 1048576 / upload)
    print("download_mib_s", SIZE / 1048576 / download)
    peer = types.InputPeerUser(me_b.id, me_b.access_hash)
    start = time.monotonic()
    for i in range(500):
        await a.send_message(peer, f"m{i}")
    print("messages_per_s", 500 / (time.monotonic() - start))
    try:
        import cryptg  # noqa: F401
        print("cryptg 1")
    except ImportError:
        print("cryptg 0")
    await a.disconnect()
    await b.disconnect()
    os.remove(path)

asyncio.run(main())
