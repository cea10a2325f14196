"""A Telethon 1.45 bot (signed in with its token over MTProto) and a Telethon user
(server-kit/tests/telethon_bot_buttons.rs):

    python3 bot_buttons.py PORT DATA BOT_TOKEN

The bot sends an inline keyboard (callback and URL buttons) and the user sees it
(`message.buttons`); the bot edits only the keyboard, then sends a reply keyboard, its removal
and a forced reply, each seen by the user. The user's own `reply_markup` is ignored (only bots
attach keyboards). The user presses a button (`message.click()`): the bot hears the callback
query, answers it with an alert and edits the message, and the click returns the answer; a
press the bot leaves unanswered returns nothing after the server's wait
(BOT_RESPONSE_TIMEOUT). The bot sets its commands and the user sees them in
users.getFullUser. The last line printed is "ok".
"""
import asyncio
import os
import sys
import time

import rsa as pyrsa
from telethon import Button, TelegramClient, events, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, TOKEN = int(sys.argv[1]), sys.argv[2], sys.argv[3]
PHONE = "+1 555 0601"
CODE = "12345"


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def connect():
    session = StringSession()
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    return c


async def newest_from(c, peer, after, what, wait=15):
    """The newest message of the chat with `peer` newer than id `after`."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for m in await c.get_messages(peer, limit=3):
            if m.id > after:
                return m
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {what} within {wait} s")


async def until(what, cond, wait=15):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        value = await cond()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {wait} s: {what}")


def texts(buttons):
    return [[b.text for b in row] for row in buttons or []]


async def main():
    trust_server_key()
    user = await connect()
    sent = await user.send_code_request(PHONE)
    try:
        await user.sign_in(PHONE, CODE, phone_code_hash=sent.phone_code_hash)
    except Exception as e:
        check(type(e).__name__ == "PhoneNumberUnoccupiedError", f"signIn -> {type(e).__name__}")
    await user(functions.auth.SignUpRequest(phone_number=PHONE, phone_code_hash=sent.phone_code_hash,
                                            first_name="Ann", last_name=""))
    me = await user.get_me()
    bot = await connect()
    await bot.sign_in(bot_token=TOKEN)
    bot_me = await bot.get_me()
    check(bot_me.bot, "the bot is a bot")
    ann = types.InputPeerUser(me.id, me.access_hash)
    bot_peer = await user.get_input_entity(bot_me.username)

    # An inline keyboard, seen by the user.
    pressed = asyncio.Queue()

    @bot.on(events.CallbackQuery)
    async def on_press(event):
        await pressed.put(event.data)
        if event.data == b"silent":
            return
        await event.answer(f"chose {event.data.decode()}", alert=True)
        await event.edit(f"you chose {event.data.decode()}")

    first = await bot.send_message(ann, "pick one", buttons=[
        [Button.inline("A", b"a"), Button.url("site", "https://example.com/x")],
        [Button.inline("B", b"b"), Button.inline("quiet", b"silent")],
    ])
    m = await newest_from(user, bot_peer, 0, "inline keyboard")
    check(m.text == "pick one", f"text {m.text!r}")
    check(texts(m.buttons) == [["A", "site"], ["B", "quiet"]], f"buttons {texts(m.buttons)}")
    check(m.buttons[0][0].data == b"a", f"data {m.buttons[0][0].data!r}")
    check(m.buttons[0][1].url == "https://example.com/x", f"url {m.buttons[0][1].url!r}")
    check(first.buttons and first.buttons[1][0].data == b"b", "the bot's own copy has it")

    # The bot edits only the keyboard: the text stays.
    await bot.edit_message(ann, first.id, buttons=[Button.inline("C", b"c"),
                                                   Button.inline("quiet", b"silent")])

    async def edited():
        got = await user.get_messages(bot_peer, ids=m.id)
        return got if texts(got.buttons) == [["C", "quiet"]] else None
    m = await until("the keyboard edit", edited)
    check(m.text == "pick one", f"the text after a keyboard edit: {m.text!r}")

    # A press: the bot hears it, answers with an alert and edits the message.
    started = time.monotonic()
    answer = await m.click(0)
    check(await asyncio.wait_for(pressed.get(), 5) == b"c", "the bot heard the press")
    check(answer is not None and answer.message == "chose c" and answer.alert,
          f"the click's answer: {answer}")

    async def chosen():
        got = await user.get_messages(bot_peer, ids=m.id)
        return got if got.text == "you chose c" else None
    after = await until("the bot's edit after the press", chosen)
    check(not after.buttons, "an edit without a keyboard removes it")
    print(f"press answered in {time.monotonic() - started:.2f} s")

    # A press the bot does not answer: nothing, after the server's wait.
    again = await bot.send_message(ann, "again", buttons=[Button.inline("quiet", b"silent")])
    m2 = await newest_from(user, bot_peer, m.id, "the second keyboard")
    check(m2.id > m.id and texts(m2.buttons) == [["quiet"]], f"second {m2.text!r}")
    started = time.monotonic()
    check(await m2.click(0) is None, "an unanswered press returns nothing")
    waited = time.monotonic() - started
    check(3 < waited < 15, f"the unanswered press took {waited:.1f} s")
    check(await asyncio.wait_for(pressed.get(), 5) == b"silent", "the bot heard it")
    # Data that no button of the message has is refused.
    try:
        await user(functions.messages.GetBotCallbackAnswerRequest(bot_peer, m2.id, data=b"x"))
        raise AssertionError("foreign data was accepted")
    except Exception as e:
        check(type(e).__name__ == "DataInvalidError", f"foreign data -> {type(e).__name__}")
    check(again.id, "sent")

    # Reply keyboards: a keyboard, its removal, a forced reply.
    last = m2.id
    for buttons, kind in [
        ([[Button.text("Yes"), Button.text("No")]], types.ReplyKeyboardMarkup),
        (Button.clear(), types.ReplyKeyboardHide),
        (Button.force_reply(placeholder="say it"), types.ReplyKeyboardForceReply),
    ]:
        await bot.send_message(ann, kind.__name__, buttons=buttons)
        got = await newest_from(user, bot_peer, last, kind.__name__)
        last = got.id
        check(isinstance(got.reply_markup, kind), f"{kind.__name__}: {got.reply_markup!r}")
        if kind is types.ReplyKeyboardMarkup:
            check(texts(got.buttons) == [["Yes", "No"]], f"reply keyboard {texts(got.buttons)}")
        if kind is types.ReplyKeyboardForceReply:
            check(got.reply_markup.placeholder == "say it", "placeholder")

    # A person's keyboard is ignored.
    mine = await user.send_message(bot_peer, "from a person", buttons=[Button.inline("x", b"x")])
    mine = await user.get_messages(bot_peer, ids=mine.id)
    check(mine.reply_markup is None, f"a person's keyboard was kept: {mine.reply_markup!r}")

    # Bot commands, in the bot's full info.
    await bot(functions.bots.SetBotCommandsRequest(types.BotCommandScopeDefault(), "", [
        types.BotCommand("start", "Start it"), types.BotCommand("help", "Get help")]))
    full = await user(functions.users.GetFullUserRequest(bot_peer))
    commands = [(c.command, c.description) for c in full.full_user.bot_info.commands]
    check(commands == [("start", "Start it"), ("help", "Get help")], f"commands {commands}")
    got = await bot(functions.bots.GetBotCommandsRequest(types.BotCommandScopeDefault(), ""))
    check([c.command for c in got] == ["start", "help"], f"getBotCommands {got}")
    try:
        await user(functions.bots.SetBotCommandsRequest(types.BotCommandScopeDefault(), "", []))
        raise AssertionError("a person set bot commands")
    except Exception as e:
        check(type(e).__name__ == "UserBotRequiredError", f"person -> {type(e).__name__}")

    await bot.disconnect()
    await user.disconnect()
    print("ok")


asyncio.run(main())
