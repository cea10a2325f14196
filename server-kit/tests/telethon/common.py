"""What the phase scripts beside this file share: their arguments (PORT DATA_DIR STATE_FILE
PHASE), trusting the test server's key, the JSON state kept between phases, a client on a
saved session, and checks that raise."""
import json, os, sys
import rsa as pyrsa
from telethon import TelegramClient
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
