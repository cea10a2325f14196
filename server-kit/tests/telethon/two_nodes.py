"""Telethon 1.45 against two server nodes sharing a store, a Redis bus and S3 media. Run by
server-kit/tests/two_nodes.rs in steps; user A always talks to node 1, user B to node 2:

  signup PORT1 PORT2        A signs up through node 1, B through node 2
  chat PORT1 PORT2 TAG      A and B message each other; every message arrives pushed (through
                            the bus) within seconds, both ways (TAG marks this round's texts)
  file PORT1 PORT2 FILE     A sends FILE through node 1; B gets it pushed on node 2 and
                            downloads it through node 2; the SHA-256 matches
  channel PORT1 PORT2       A makes a broadcast channel through node 1, B joins through node 2;
                            A's posts reach B pushed (through the bus), and a deletion too
  reactions PORT1 PORT2     A reacts through node 1 to its message to B: B, on node 2, is told
                            (through the bus); B reacts through node 2 to A's channel post:
                            A, on node 1, is told
  roam PORT1 PORT2          A's key (made on node 1) works on node 2; a new key gets its code
                            through node 1 and signs in through node 2, then works on node 1;
                            signed out through node 2, it is at once signed out on node 1
  receive PORT2 COUNT       B listens on node 2 (which the test kills and restarts) until it
                            has COUNT messages "burst N" from A; prints them as JSON
  send PORT1 COUNT          A sends COUNT messages "burst 0".. slowly, printing "sent N"
  presence PORT1 PORT2 HOOK B registers a device through node 2 and stays connected there;
                            A's message through node 1 makes no push (node 1 learns from
                            the shared presence that B is online on node 2). B disconnects;
                            A's next message is pushed: the nodes' webhook (this step
                            listens on 127.0.0.1:HOOK) gets a POST for B
  flood PORT1 PORT2 LIMIT   login codes for one new number, asked alternately through node
                            1 and node 2: LIMIT are sent, the next is FLOOD_WAIT_X (the
                            limit is counted across nodes)
  secret PORT1 PORT2        a secret chat across nodes (the end-to-end layer of e2e.py): A
                            requests it through node 1, B sees the request pushed on node 2
                            and accepts, A sees it accepted; encrypted messages both ways,
                            B's typing and read receipt, each pushed through the bus from
                            the other node's qts box or chat; A discards it, B is told

  buttons PORT1 PORT2 TOKEN a bot signed in through node 1 sends B (on node 2) an inline
                            keyboard; B's press reaches the bot through the bus, the bot's
                            answer reaches B's waiting call through the shared store, and
                            the bot's edit reaches B

State (session strings, ids) lives in DIR/state.json; DIR holds the server's public key.
Every check raises on failure; the last line printed is "STEP ok".
"""
import asyncio, hashlib, json, os, sys, time
import rsa as pyrsa
from telethon import Button, TelegramClient, errors, events, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

DIR, STEP = sys.argv[1], sys.argv[2]
ARGS = sys.argv[3:]
STATE = os.path.join(DIR, "state.json")
CODE = "12345"
PHONES = {"a": "+1 555 0300", "b": "+1 555 0400"}
NAMES = {"a": "alice_nodes", "b": "bob_nodes"}


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DIR, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def load():
    return json.load(open(STATE)) if os.path.exists(STATE) else {}


def save(state):
    json.dump(state, open(STATE, "w"))


async def client(state, who, port):
    session = StringSession(state.get(who, {}).get("session"))
    session.set_dc(2, "127.0.0.1", port)
    c = TelegramClient(session, 1, "x", connection_retries=None, retry_delay=0.5,
                       auto_reconnect=True)
    await c.connect()
    return c


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def signup(state, port1, port2):
    for who, port in (("a", port1), ("b", port2)):
        c = await client(state, who, port)
        sent = await c.send_code_request(PHONES[who])
        try:
            await c.sign_in(PHONES[who], CODE, phone_code_hash=sent.phone_code_hash)
            raise AssertionError("an unknown number signed in")
        except errors.PhoneNumberUnoccupiedError:
            pass
        await c(functions.auth.SignUpRequest(
            phone_number=PHONES[who], phone_code_hash=sent.phone_code_hash,
            first_name=who.upper(), last_name="nodes"))
        me = await c.get_me()
        await c(functions.account.UpdateUsernameRequest(NAMES[who]))
        state[who] = {"session": c.session.save(), "id": me.id}
        await c.disconnect()
    save(state)


async def wait_for(queue, pred, what, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"not pushed within {timeout} s: {what}")
        try:
            msg = await asyncio.wait_for(queue.get(), left)
        except asyncio.TimeoutError:
            continue
        if pred(msg):
            return msg


async def pair(state, port1, port2):
    a = await client(state, "a", port1)
    b = await client(state, "b", port2)
    inbox = {"a": asyncio.Queue(), "b": asyncio.Queue()}
    for who, c in (("a", a), ("b", b)):
        c.add_event_handler(lambda e, who=who: inbox[who].put(e.message), events.NewMessage(incoming=True))
        await c.get_me()  # the session exists on its node: pushes reach it
        await c.catch_up()
    return a, b, inbox


async def chat(state, port1, port2, tag):
    a, b, inbox = await pair(state, port1, port2)
    b_on_a = await a.get_input_entity(NAMES["b"])
    a_on_b = await b.get_input_entity(NAMES["a"])
    for i in range(3):
        t0 = time.monotonic()
        await a.send_message(b_on_a, f"ping {tag}{i}")
        got = await wait_for(inbox["b"], lambda m: m.message == f"ping {tag}{i}", f"ping {tag}{i} to B")
        check(got.sender_id == state["a"]["id"], "B sees A as the sender")
        await b.send_message(a_on_b, f"pong {tag}{i}")
        got = await wait_for(inbox["a"], lambda m: m.message == f"pong {tag}{i}", f"pong {tag}{i} to A")
        check(got.sender_id == state["b"]["id"], "A sees B as the sender")
        print(f"round {i}: {1000 * (time.monotonic() - t0):.0f} ms", flush=True)
    # Each side's history has all six, through either node.
    history = [m.message for m in await b.get_messages(a_on_b, limit=50) if m.message[5:].startswith(tag)]
    check(sorted(history) == sorted([f"ping {tag}{i}" for i in range(3)] + [f"pong {tag}{i}" for i in range(3)]),
          f"history on node 2: {history}")
    await a.disconnect()
    await b.disconnect()


async def file(state, port1, port2, path):
    a, b, inbox = await pair(state, port1, port2)
    data = open(path, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    b_on_a = await a.get_input_entity(NAMES["b"])
    await a.send_file(b_on_a, path, caption="the file", force_document=True, part_size_kb=512)
    got = await wait_for(inbox["b"], lambda m: m.message == "the file", "the file to B", 60)
    check(got.document is not None and got.document.size == len(data), "a document of the right size")
    downloaded = await b.download_media(got, file=bytes)
    check(hashlib.sha256(downloaded).hexdigest() == digest, "downloaded through node 2 byte-exact")
    await a.disconnect()
    await b.disconnect()


async def channel(state, port1, port2):
    a = await client(state, "a", port1)
    b = await client(state, "b", port2)
    created = await a(functions.channels.CreateChannelRequest(title="Nodes", about="posts", broadcast=True))
    ch = created.chats[0]
    check(await a(functions.channels.UpdateUsernameRequest(ch, "nodes_news")), "username set")
    await a.send_message(ch, "first post")
    news = await b.get_entity("@nodes_news")
    await b(functions.channels.JoinChannelRequest(news))
    check([m.text for m in await b.get_messages(news, limit=10)] == ["first post"], "history on node 2")
    posts, deleted = asyncio.Queue(), asyncio.Queue()
    b.add_event_handler(lambda e: posts.put(e.message), events.NewMessage(chats=news))
    b.add_event_handler(lambda e: deleted.put(e.deleted_ids), events.MessageDeleted(chats=news))
    await b(functions.updates.GetStateRequest())
    for text in ("second post", "third post"):
        await a.send_message(ch, text)
        await wait_for(posts, lambda m: m.message == text, f"{text} to B")
    third = (await a.get_messages(ch, limit=1))[0]
    await a.delete_messages(ch, [third.id])
    ids = await wait_for(deleted, lambda ids: third.id in ids, "the deletion to B")
    check(ids == [third.id], f"deleted ids {ids}")
    await a.disconnect()
    await b.disconnect()


async def reactions(state, port1, port2):
    a, b, inbox = await pair(state, port1, port2)
    told = {"a": asyncio.Queue(), "b": asyncio.Queue()}
    for who, c in (("a", a), ("b", b)):
        c.add_event_handler(lambda u, who=who: told[who].put(u), events.Raw(types.UpdateMessageReactions))

    def counts(update):
        return {r.reaction.emoticon: r.count for r in update.reactions.results}

    b_on_a = await a.get_input_entity(NAMES["b"])
    sent = await a.send_message(b_on_a, "react across nodes")
    got = await wait_for(inbox["b"], lambda m: m.message == "react across nodes", "the message to B")
    await a(functions.messages.SendReactionRequest(peer=b_on_a, msg_id=sent.id,
                                                   reaction=[types.ReactionEmoji("👍")]))
    update = await wait_for(told["b"], lambda u: u.msg_id == got.id, "A's reaction to B on node 2")
    check(update.peer == types.PeerUser(state["a"]["id"]) and counts(update) == {"👍": 1},
          f"B is told of A's reaction: {update}")
    # A channel post: B (a member, on node 2) reacts, A (its creator, on node 1) is told.
    news = await b.get_entity("@nodes_news")
    post = (await b.get_messages(news, limit=1))[0]
    await b(functions.messages.SendReactionRequest(peer=news, msg_id=post.id,
                                                   reaction=[types.ReactionEmoji("🔥")]))
    update = await wait_for(told["a"], lambda u: u.msg_id == post.id, "B's reaction to A on node 1")
    check(update.peer == types.PeerChannel(news.id) and counts(update) == {"🔥": 1},
          f"A is told of B's reaction: {update}")
    await a.disconnect()
    await b.disconnect()


async def buttons(state, port1, port2, token):
    bot = await client({}, "bot", port1)
    await bot.sign_in(bot_token=token)
    pressed = asyncio.Queue()

    @bot.on(events.CallbackQuery)
    async def on_press(event):
        await pressed.put(event.data)
        await event.answer(f"node 1 heard {event.data.decode()}")
        await event.edit("answered across nodes")

    b = await client(state, "b", port2)
    await b.get_me()
    me = await b.get_me(input_peer=True)
    sent = await bot.send_message(types.InputPeerUser(me.user_id, me.access_hash),
                                  "press across nodes", buttons=[[Button.inline("go", b"go")]])
    bot_peer = await b.get_input_entity((await bot.get_me()).username)
    deadline = time.monotonic() + 15
    while True:
        got = (await b.get_messages(bot_peer, limit=1))[0]
        if got.text == "press across nodes":
            break
        check(time.monotonic() < deadline, "the keyboard did not reach B")
        await asyncio.sleep(0.2)
    check(got.buttons and got.buttons[0][0].data == b"go", f"B's keyboard: {got.buttons}")
    answer = await got.click(0)
    check(await asyncio.wait_for(pressed.get(), 5) == b"go", "the bot heard B's press")
    check(answer is not None and answer.message == "node 1 heard go",
          f"B's press was answered across nodes: {answer}")
    while (await b.get_messages(bot_peer, ids=got.id)).text != "answered across nodes":
        check(time.monotonic() < deadline + 15, "the bot's edit did not reach B")
        await asyncio.sleep(0.2)
    check(sent.id, "sent")
    await bot.disconnect()
    await b.disconnect()


async def roam(state, port1, port2):
    a2 = await client(state, "a", port2)
    check((await a2.get_me()).id == state["a"]["id"], "A's key from node 1 works on node 2")
    await a2.disconnect()
    c1 = await client({}, "c", port1)
    sent = await c1.send_code_request(PHONES["a"])
    key = c1.session.save()
    await c1.disconnect()
    c2 = await client({"c": {"session": key}}, "c", port2)
    await c2.sign_in(PHONES["a"], CODE, phone_code_hash=sent.phone_code_hash)
    check((await c2.get_me()).id == state["a"]["id"], "signed in through node 2")
    c1 = await client({"c": {"session": key}}, "c", port1)
    check((await c1.get_me()).id == state["a"]["id"], "node 1 knows the key is signed in")
    await c1.disconnect()
    await c2.log_out()
    await asyncio.sleep(1)
    c1 = await client({"c": {"session": key}}, "c", port1)
    check(not await c1.is_user_authorized(), "signed out through node 2: signed out on node 1")
    await c1.disconnect()


async def receive(state, port2, count):
    b = await client(state, "b", port2)
    seen = []
    done = asyncio.Event()

    async def on_message(e):
        if e.message.message.startswith("burst "):
            seen.append(e.message.message)
            if len({m for m in seen}) >= count:
                done.set()

    b.add_event_handler(on_message, events.NewMessage(incoming=True))
    await b.get_me()
    await b.catch_up()
    print("ready", flush=True)
    try:
        await asyncio.wait_for(done.wait(), 120)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(2)  # anything delivered twice would arrive meanwhile
    print(json.dumps(seen), flush=True)
    check(len(set(seen)) == count, f"B got {len(set(seen))} of {count}")
    check(len(seen) == count, f"B got some twice: {sorted(seen)}")
    stored = [m.message for m in await b.get_messages(await b.get_input_entity(NAMES["a"]), limit=count + 50)
              if m.message.startswith("burst ")]
    check(sorted(stored) == sorted(set(seen)), f"B's history holds each once: {sorted(stored)}")
    await b.disconnect()


async def send(state, port1, count):
    a = await client(state, "a", port1)
    b_on_a = await a.get_input_entity(NAMES["b"])
    for i in range(count):
        await a.send_message(b_on_a, f"burst {i}")
        print(f"sent {i + 1}", flush=True)
        await asyncio.sleep(0.2)
    await a.disconnect()


async def webhook(port):
    """A minimal HTTP server on 127.0.0.1:port: every POST body (JSON) goes to the queue."""
    posts = asyncio.Queue()

    async def serve(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length)
            await posts.put(json.loads(body))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    return server, posts


async def pushes_for(posts, user, seconds):
    """The webhook POSTs for `user` arriving within `seconds`."""
    found = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            post = await asyncio.wait_for(posts.get(), left)
        except asyncio.TimeoutError:
            break
        if post.get("user_id") == user:
            found.append(post)
    return found


async def presence(state, port1, port2, hook):
    server, posts = await webhook(hook)
    a, b, inbox = await pair(state, port1, port2)
    await b(functions.account.RegisterDeviceRequest(
        token_type=2, token="fcm-token-of-b", app_sandbox=False, secret=b"", other_uids=[]))
    b_on_a = await a.get_input_entity(NAMES["b"])
    await asyncio.sleep(4)  # nodes compare who is connected every 2 s
    await a.send_message(b_on_a, "presence 1")
    await wait_for(inbox["b"], lambda m: m.message == "presence 1", "presence 1 to B")
    early = await pushes_for(posts, state["b"]["id"], 3)
    check(not early, f"B is online on node 2, yet node 1 pushed: {early}")
    await b.disconnect()
    await asyncio.sleep(5)  # node 2 notices within 2 s and tells the others
    await a.send_message(b_on_a, "presence 2")
    late = await pushes_for(posts, state["b"]["id"], 15)
    check(late and late[0]["devices"][0]["token"] == "fcm-token-of-b",
          f"B is offline everywhere: one push expected, got {late}")
    print(f"pushed for offline B: {late[0].get('preview')!r}", flush=True)
    await a.disconnect()
    server.close()


async def flood(state, port1, port2, limit):
    from telethon.errors import FloodWaitError
    phone = "+1 555 0500"
    clients = [await client({}, "c", port1), await client({}, "c", port2)]
    # auth.sendCode itself each time (Telethon's send_code_request would resend the code).
    ask = lambda c: c(functions.auth.SendCodeRequest(phone, 1, "x", types.CodeSettings()))
    for i in range(limit):
        await ask(clients[i % 2])
    try:
        await ask(clients[limit % 2])
        raise AssertionError(f"code {limit + 1} for one number was sent")
    except FloodWaitError as e:
        check(0 < e.seconds <= 3600, f"FLOOD_WAIT of {e.seconds} s")
        print(f"code {limit + 1}: FLOOD_WAIT_{e.seconds}", flush=True)
    for c in clients:
        await c.disconnect()


async def secret(state, port1, port2):
    from e2e import (TELEGRAM_PRIME, Side, dh_config, fingerprint, secret_exponent, send_text)
    a = await client(state, "a", port1)
    b = await client(state, "b", port2)
    raw = {"a": asyncio.Queue(), "b": asyncio.Queue()}
    for who, c in (("a", a), ("b", b)):
        c.add_event_handler(lambda u, who=who: raw[who].put(u), events.Raw())
        await c(functions.updates.GetStateRequest())
    b_on_a = await a.get_input_entity(NAMES["b"])
    dh = await dh_config(a)
    secret_a = secret_exponent(dh)
    waiting = await a(functions.messages.RequestEncryptionRequest(
        user_id=b_on_a, random_id=7, g_a=pow(3, secret_a, TELEGRAM_PRIME).to_bytes(256, "big")))
    got = await wait_for(raw["b"], lambda u: isinstance(u, types.UpdateEncryption) and isinstance(
        u.chat, types.EncryptedChatRequested) and u.chat.id == waiting.id, "the request to B")
    secret_b = secret_exponent(await dh_config(b))
    key = pow(int.from_bytes(got.chat.g_a, "big"), secret_b, TELEGRAM_PRIME).to_bytes(256, "big")
    side_b = Side({"key": key.hex(), "creator": False, "sent": 0, "received": 0,
                   "chat_id": got.chat.id, "access_hash": got.chat.access_hash})
    await b(functions.messages.AcceptEncryptionRequest(
        peer=side_b.chat, g_b=pow(3, secret_b, TELEGRAM_PRIME).to_bytes(256, "big"),
        key_fingerprint=fingerprint(key)))
    got = await wait_for(raw["a"], lambda u: isinstance(u, types.UpdateEncryption) and isinstance(
        u.chat, types.EncryptedChat), "the accepted chat to A")
    key = pow(int.from_bytes(got.chat.g_a_or_b, "big"), secret_a, TELEGRAM_PRIME).to_bytes(256, "big")
    check(fingerprint(key) == got.chat.key_fingerprint, "A's key has B's fingerprint")
    side_a = Side({"key": key.hex(), "creator": True, "sent": 0, "received": 0,
                   "chat_id": got.chat.id, "access_hash": got.chat.access_hash})
    for i in range(2):
        for me, c, side, them, other in (("a", a, side_a, "b", side_b), ("b", b, side_b, "a", side_a)):
            text = f"secret {me} {i}"
            rid, date = await send_text(c, side, text)
            got = await wait_for(raw[them], lambda u: isinstance(u, types.UpdateNewEncryptedMessage)
                                 and u.message.random_id == rid, f"{text} to {them}")
            check(other.open(got.message.bytes)["text"] == text, f"{them} decrypts {text}")
    await b(functions.messages.SetEncryptedTypingRequest(peer=side_b.chat, typing=True))
    await wait_for(raw["a"], lambda u: isinstance(u, types.UpdateEncryptedChatTyping), "B types")
    await b(functions.messages.ReadEncryptedHistoryRequest(peer=side_b.chat, max_date=date))
    await wait_for(raw["a"], lambda u: isinstance(u, types.UpdateEncryptedMessagesRead)
                   and u.max_date == date, "B read")
    await a(functions.messages.DiscardEncryptionRequest(chat_id=side_a.chat.chat_id))
    await wait_for(raw["b"], lambda u: isinstance(u, types.UpdateEncryption) and isinstance(
        u.chat, types.EncryptedChatDiscarded), "the discard to B")
    await a.disconnect()
    await b.disconnect()


async def main():
    trust_server_key()
    state = load()
    if STEP == "signup":
        await signup(state, int(ARGS[0]), int(ARGS[1]))
    elif STEP == "chat":
        await chat(state, int(ARGS[0]), int(ARGS[1]), ARGS[2])
    elif STEP == "file":
        await file(state, int(ARGS[0]), int(ARGS[1]), ARGS[2])
    elif STEP == "channel":
        await channel(state, int(ARGS[0]), int(ARGS[1]))
    elif STEP == "reactions":
        await reactions(state, int(ARGS[0]), int(ARGS[1]))
    elif STEP == "buttons":
        await buttons(state, int(ARGS[0]), int(ARGS[1]), ARGS[2])
    elif STEP == "roam":
        await roam(state, int(ARGS[0]), int(ARGS[1]))
    elif STEP == "receive":
        await receive(state, int(ARGS[0]), int(ARGS[1]))
    elif STEP == "send":
        await send(state, int(ARGS[0]), int(ARGS[1]))
    elif STEP == "presence":
        await presence(state, int(ARGS[0]), int(ARGS[1]), int(ARGS[2]))
    elif STEP == "flood":
        await flood(state, int(ARGS[0]), int(ARGS[1]), int(ARGS[2]))
    elif STEP == "secret":
        await secret(state, int(ARGS[0]), int(ARGS[1]))
    else:
        raise SystemExit(f"unknown step {STEP}")
    print(f"{STEP} ok", flush=True)


asyncio.run(main())
