"""Telethon 1.45 and cloud passwords (two-step verification) against the reference server.
Run in phases by server-kit/tests/password.rs, which does the client-sdk steps in between:

  telethon_sets  T signs up as +1 555 0710 and sets the password "tele-pw" (hint "tele hint")
                 with edit_2fa. A second Telethon session signs in: sign_in(phone, code)
                 raises SessionPasswordNeededError and stays unauthorized, a wrong
                 sign_in(password=...) raises PasswordHashInvalidError, the right one signs in.
                 (Then client-sdk signs in with "tele-pw" and changes it to "rust-pw",
                 hint "rust hint".)
  rust_set       A new Telethon session signs in with the password client-sdk set, checks the
                 hint, and removes the password with edit_2fa(current_password=...); one more
                 session signs in with the code alone.

Every check raises on failure; the last line printed is "PHASE ok".
"""
import asyncio, os, sys
import rsa as pyrsa
from telethon import TelegramClient, errors, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, PHASE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CODE = "12345"
PHONE = "+1 555 0710"


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def client():
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x", receive_updates=False)
    await c.connect()
    return c


async def code_step(c):
    """Sends the code and signs in with it; True if a password is needed next."""
    sent = await c.send_code_request(PHONE)
    try:
        await c.sign_in(PHONE, CODE, phone_code_hash=sent.phone_code_hash)
        return False
    except errors.SessionPasswordNeededError:
        return True


async def telethon_sets():
    owner = await client()
    sent = await owner.send_code_request(PHONE)
    try:
        await owner.sign_in(PHONE, CODE, phone_code_hash=sent.phone_code_hash)
        raise AssertionError("an unknown number signed in")
    except errors.PhoneNumberUnoccupiedError:
        pass
    await owner(functions.auth.SignUpRequest(
        phone_number=PHONE, phone_code_hash=sent.phone_code_hash,
        first_name="Tess", last_name=""))
    me = await owner.get_me()
    pwd = await owner(functions.account.GetPasswordRequest())
    check(not pwd.has_password, "no password yet")
    check(await owner.edit_2fa(new_password="tele-pw", hint="tele hint"), "edit_2fa")
    pwd = await owner(functions.account.GetPasswordRequest())
    check(pwd.has_password and pwd.hint == "tele hint", f"password set: {pwd}")

    second = await client()
    check(await code_step(second), "SessionPasswordNeededError after the right code")
    check(not await second.is_user_authorized(), "not authorized before the password")
    pwd = await second(functions.account.GetPasswordRequest())
    check(pwd.hint == "tele hint", f"the hint before signing in: {pwd.hint!r}")
    try:
        await second.sign_in(password="tele-pW")
        raise AssertionError("a wrong password signed in")
    except errors.PasswordHashInvalidError:
        pass
    user = await second.sign_in(password="tele-pw")
    check(user.id == me.id, "signed in as the owner")
    check((await second.get_me()).id == me.id, "get_me after the password")
    await owner.disconnect()
    await second.disconnect()


async def rust_set():
    c = await client()
    check(await code_step(c), "SessionPasswordNeededError for the password client-sdk set")
    pwd = await c(functions.account.GetPasswordRequest())
    check(pwd.hint == "rust hint", f"client-sdk's hint: {pwd.hint!r}")
    try:
        await c.sign_in(password="tele-pw")
        raise AssertionError("the replaced password signed in")
    except errors.PasswordHashInvalidError:
        pass
    await c.sign_in(password="rust-pw")
    check(await c.is_user_authorized(), "signed in with client-sdk's password")
    try:
        await c.edit_2fa(current_password="wrong", new_password="x")
        raise AssertionError("edit_2fa with a wrong current password")
    except errors.PasswordHashInvalidError:
        pass
    check(await c.edit_2fa(current_password="rust-pw"), "edit_2fa removes it")
    pwd = await c(functions.account.GetPasswordRequest())
    check(not pwd.has_password, "removed")
    last = await client()
    check(not await code_step(last), "the code alone signs in")
    check(await last.is_user_authorized(), "authorized")
    await c.disconnect()
    await last.disconnect()


async def main():
    trust_server_key()
    await {"telethon_sets": telethon_sets, "rust_set": rust_set}[PHASE]()
    print(PHASE, "ok", flush=True)


asyncio.run(main())
