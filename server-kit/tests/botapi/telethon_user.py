"""A Telethon 1.45 user talking to a Bot API bot (server-kit/tests/botapi_ptb.rs):

    python3 telethon_user.py PORT DATA BOT_USERNAME

Signs up, sends /start to the bot and expects its greeting with an inline keyboard
(`message.buttons`), presses the callback button (`click()` returns the bot's answer, and the
bot edits the message), sends "ping" and expects "ping" back as a reply to it, /bold and
expects formatted text (entities), /delete and sees the bot's answer deleted; last, the bot's
commands in users.getFullUser. The last line printed is "ok".
"""
import asyncio
import os
import sys
import time

import rsa as pyrsa
from telethon import TelegramClient, functions, types
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
    check(hello.text == "Hi Ann! Send me text.", f"/start answered {hello.text!r}")
    rows = [[b.text for b in row] for row in hello.buttons or []]
    check(rows == [["Press me", "Site"]], f"the keyboard: {rows}")
    check(hello.buttons[0][1].url == "https://example.com/", "the URL button")

    answer = await hello.click(0)
    check(answer is not None and answer.message == "You pressed it!",
          f"the press was answered {answer}")
    deadline = time.monotonic() + WAIT
    while True:
        edited = await c.get_messages(bot, ids=hello.id)
        if edited.text == "Pressed pressed!":
            break
        check(time.monotonic() < deadline, f"the press did not edit the message: {edited.text!r}")
        await asyncio.sleep(0.3)
    check(not edited.buttons, "editMessageText without a keyboard removes it")

    ping = await c.send_message(bot, "ping")
    echo = await answer_to(c, bot, ping)
    check(echo.text == "ping", f"echo: {echo.text!r}")
    check(echo.reply_to is not None and echo.reply_to.reply_to_msg_id == ping.id,
          f"the echo replies to {echo.reply_to}, not to {ping.id}")

    fmt = await c.send_message(bot, "/bold")
    formatted = await answer_to(c, bot, fmt)
    check(formatted.raw_text == "bold and italic", f"/bold: {formatted.raw_text!r}")
    kinds = [(type(e).__name__, e.offset, e.length) for e in formatted.entities or []]
    check(kinds == [("MessageEntityBold", 0, 4), ("MessageEntityItalic", 9, 6)],
          f"/bold entities: {kinds}")

    gone = await c.send_message(bot, "/delete")
    doomed = await answer_to(c, bot, gone)
    check(doomed.text == "this goes away", f"/delete: {doomed.text!r}")
    deadline = time.monotonic() + WAIT
    while await c.get_messages(bot, ids=doomed.id) is not None:
        check(time.monotonic() < deadline, "the bot did not delete its message")
        await asyncio.sleep(0.3)

    full = await c(functions.users.GetFullUserRequest(bot))
    commands = [(x.command, x.description) for x in full.full_user.bot_info.commands]
    check(commands == [("start", "Say hello"), ("delete", "Watch a message go")],
          f"the bot's commands: {commands}")
    await c.disconnect()
    print("ok")


asyncio.run(main())
