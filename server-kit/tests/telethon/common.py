"""What the phase scripts beside this file share: their arguments (PORT DATA_DIR STATE_FILE
PHASE), trusting the test server's key, the JSON state kept between phases, a client on a
saved session, checks that raise, and an awaitable inbox of what a client receives."""
import asyncio, json, os, sys
import rsa as pyrsa
from telethon import TelegramClient, errors, events, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, STATE, PHASE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CODE = "12345"


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def load():
    return json.load(open(STATE)) if os.path.exists(STATE) else {}


def save(state):
    json.dump(state, open(STATE, "w"))


async def client(state, who):
    session = StringSession(state.get(who, {}).get("session"))
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    return c


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def refused(call, error, what):
    try:
        await call
    except error:
        return
    except Exception as e:
        raise AssertionError(f"{what}: expected {error.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"{what}: expected {error.__name__}, the call succeeded")


class Inbox:
    """The NewMessage events and raw updates a client gets, awaitable."""

    def __init__(self, c):
        self.messages, self.raw = [], []
        self.changed = asyncio.Event()

        @c.on(events.NewMessage())
        async def on_message(event):
            self.messages.append(event.message)
            self.changed.set()

        @c.on(events.Raw())
        async def on_raw(update):
            self.raw.append(update)
            self.changed.set()

    async def wait_for(self, what, pick):
        for _ in range(150):
            found = pick(self)
            if found:
                return found
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        raise AssertionError(f"never arrived: {what}")

    async def message(self, what, text):
        found = await self.wait_for(what, lambda s: [m for m in s.messages if m.message == text])
        return found[0]

    async def action(self, what, kind):
        # Service messages come as raw updates (Telethon's NewMessage leaves them out).
        found = await self.wait_for(what, lambda s: [
            u.message for u in s.raw
            if isinstance(u, types.UpdateNewMessage)
            and isinstance(getattr(u.message, "action", None), kind)])
        return found[-1]


async def sign_up(state, who, phone, first, last, username):
    """Signs `who` up with a new number (an unknown number cannot sign in first) and a
    username, keeping the session and id in `state`."""
    c = await client(state, who)
    sent = await c.send_code_request(phone)
    try:
        await c.sign_in(phone, CODE, phone_code_hash=sent.phone_code_hash)
        raise AssertionError("sign in of an unknown number succeeded")
    except errors.PhoneNumberUnoccupiedError:
        pass
    await c(functions.auth.SignUpRequest(
        phone_number=phone, phone_code_hash=sent.phone_code_hash,
        first_name=first, last_name=last))
    await c(functions.account.UpdateUsernameRequest(username))
    me = await c.get_me()
    state[who] = {"session": c.session.save(), "id": me.id}
    await c.disconnect()
