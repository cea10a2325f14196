"""A Telethon 1.45 user talking to a Bot API bot (server-kit/tests/botapi_ptb.rs):

    python3 telethon_user.py PORT DATA BOT_USERNAME

Signs up, sends /start to the bot and expects its greeting, then sends "ping" and expects
"ping" back as a reply to it. The last line printed is "ok".
"""
import asyncio
import os
import sys
import time

import rsa as pyrsa
from telethon import TelegramClient, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, BOT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CODE = "12345"
PHONE = "+1 555 0501"
# The bot program starts next to this script: give it time to start polling.
WAIT = 60


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def answer_to(c, bot, sent):
    """The bot's first message after `sent`, waiting up to WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for m in await c.get_messages(bot, limit=5):
            if not m.out and m.id > sent.id:
                return m
        await asyncio.sleep(0.3)
    raise AssertionError(f"no answer to {sent.text!r} within {WAIT} s")


async def main():
    trust_server_key()
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    sent = await c.send_code_request(PHONE)
    # The code is checked by signIn (the number has no account yet), then signUp.
    try:
        await c.sign_in(PHONE, CODE, phone_code_hash=sent.phone_code_hash)
        raise AssertionError("a new number signed in")
    except Exception as e:
        check(type(e).__name__ == "PhoneNumberUnoccupiedError", f"signIn -> {type(e).__name__}")
    await c(functions.auth.SignUpRequest(phone_number=PHONE, phone_code_hash=sent.phone_code_hash,
                                         first_name="Ann", last_name=""))
    bot = await c.get_entity("@" + BOT)
    check(bot.bot, "the bot is a bot")

    start = await c.send_message(bot, "/start")
    hello = await answer_to(c, bot, start)
    check(hello.text == "Hi! Send me text.", f"/start answered {hello.text!r}")

    ping = await c.send_message(bot, "ping")
    echo = await answer_to(c, bot, ping)
    check(echo.text == "ping", f"echo: {echo.text!r}")
    check(echo.reply_to is not None and echo.reply_to.reply_to_msg_id == ping.id,
          f"the echo replies to {echo.reply_to}, not to {ping.id}")
    await c.disconnect()
    print("ok")


asyncio.run(main())
