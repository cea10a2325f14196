"""Telethon 1.45 against the reference server: two users chat. Run in phases by
server-kit/tests/telethon.rs, which restarts the server between phases:

  signup   A and B sign up, pick usernames
  chat     A writes B by username and by id; B, online, gets both pushed; histories,
           dialogs; B reads
  offline  B is offline; A writes three more
  catchup  B comes back and gets exactly those three through getDifference
  channel  A creates a broadcast channel with a username and posts; B joins by username,
           reads the history, gets a new post pushed, may not post, sees it in dialogs,
           goes offline and catches up with getChannelDifference
  photo    A sends B a photo (photo.png beside the state file, 1600x1200); it arrives with
           the standard sizes s/m/x/y and B downloads the largest as a JPEG
  files    A sends B a 3 MiB file and a 12 MiB file (the big-file path); B downloads
           both and the SHA-256 matches; B sends one back by reference (inputMediaDocument)

State between phases (session strings, pts) lives in a JSON file. Every check raises on
failure; the last line printed is "PHASE ok".
"""
import asyncio, json, os, sys
import rsa as pyrsa
from telethon import TelegramClient, events, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, STATE, PHASE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CODE = "12345"
PHONES = {"a": "+1 555 0100", "b": "+1 555 0200"}
NAMES = {"a": "alice_rs", "b": "bob_rs"}


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def load():
    return json.load(open(STATE)) if os.path.exists(STATE) else {}


def save(state):
    json.dump(state, open(STATE, "w"))


async def client(state, who, receive_updates=True):
    session = StringSession(state.get(who, {}).get("session"))
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x", receive_updates=receive_updates)
    await c.connect()
    return c


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def signup(state):
    for who in ("a", "b"):
        c = await client(state, who)
        check(not await c.is_user_authorized(), "fresh key is not authorized")
        sent = await c.send_code_request(PHONES[who])
        try:
            await c.sign_in(PHONES[who], "00000", phone_code_hash=sent.phone_code_hash)
            raise AssertionError("a wrong code was accepted")
        except Exception as e:
            check(type(e).__name__ == "PhoneCodeInvalidError", f"wrong code -> {type(e).__name__}")
        try:
            await c.sign_in(PHONES[who], CODE, phone_code_hash=sent.phone_code_hash)
            raise AssertionError("sign in of an unknown number succeeded")
        except Exception as e:
            check(type(e).__name__ == "PhoneNumberUnoccupiedError", f"signIn -> {type(e).__name__}")
        await c(functions.auth.SignUpRequest(
            phone_number=PHONES[who], phone_code_hash=sent.phone_code_hash,
            first_name=who.upper() + "-first", last_name=""))
        me = await c.get_me()
        check(me.phone == "".join(ch for ch in PHONES[who] if ch.isdigit()), "phone is digits")
        check(await c(functions.account.CheckUsernameRequest(NAMES[who])), "username free")
        await c(functions.account.UpdateUsernameRequest(NAMES[who]))
        state[who] = {"session": c.session.save(), "id": me.id}
        await c.disconnect()
    save(state)


async def chat(state):
    a = await client(state, "a")
    b = await client(state, "b")
    got = []
    done = asyncio.Event()

    @b.on(events.NewMessage(incoming=True))
    async def on_message(event):
        got.append(event.raw_text)
        if len(got) == 2:
            done.set()

    await b.get_me()
    # Telethon starts receiving pushes once it knows its update state.
    await b(functions.updates.GetStateRequest())
    bob = await a.get_entity("@" + NAMES["b"])
    check(bob.id == state["b"]["id"], "resolved by username")
    state["b"]["access_hash"] = bob.access_hash
    m1 = await a.send_message(bob, "hello by username")
    m2 = await a.send_message(types.PeerUser(state["b"]["id"]), "hello by id")
    check(m1 is not None and m2 is not None and m2.id > m1.id, "send results carry the messages")
    await asyncio.wait_for(done.wait(), 15)
    check(got == ["hello by username", "hello by id"], f"pushed to B: {got}")
    history = await a.get_messages(bob, limit=10)
    check([m.text for m in history] == ["hello by id", "hello by username"], "A's history, newest first")
    alice = await b.get_entity(state["a"]["id"])
    history_b = await b.get_messages(alice, limit=10)
    check([m.text for m in history_b] == ["hello by id", "hello by username"], "B's history")
    check(all(not m.out for m in history_b) and all(m.out for m in history), "out flags")
    dialogs_b = await b.get_dialogs()
    check(len(dialogs_b) == 1 and dialogs_b[0].entity.id == state["a"]["id"], "B's dialog with A")
    check(dialogs_b[0].unread_count == 2, f"unread {dialogs_b[0].unread_count}")
    await b.send_read_acknowledge(alice, history_b[0])
    dialogs_b = await b.get_dialogs()
    check(dialogs_b[0].unread_count == 0, "read")
    dialogs_a = await a.get_dialogs()
    check(dialogs_a[0].dialog.read_outbox_max_id == m2.id, "A sees that B read")
    st = await b(functions.updates.GetStateRequest())
    state["b"]["pts"], state["b"]["date"] = st.pts, int(st.date.timestamp())
    state["a"]["session"], state["b"]["session"] = a.session.save(), b.session.save()
    save(state)
    await a.disconnect()
    await b.disconnect()


async def offline(state):
    a = await client(state, "a")
    bob = types.InputPeerUser(state["b"]["id"], state["b"]["access_hash"])
    for i in range(3):
        await a.send_message(bob, f"while you were away {i}")
    await a.disconnect()


async def catchup(state):
    b = await client(state, "b", receive_updates=False)
    diff = await b(functions.updates.GetDifferenceRequest(
        pts=state["b"]["pts"], date=state["b"]["date"], qts=0))
    texts = [m.message for m in diff.new_messages]
    check(texts == [f"while you were away {i}" for i in range(3)], f"difference: {texts}")
    check(diff.state.pts == state["b"]["pts"] + 3, "pts moved by three")
    again = await b(functions.updates.GetDifferenceRequest(pts=diff.state.pts, date=diff.state.date, qts=0))
    check(isinstance(again, types.updates.DifferenceEmpty), "nothing twice")
    alice = await b.get_entity("@" + NAMES["a"])
    history = await b.get_messages(alice, limit=100)
    check(len(history) == 5, f"everything survived the restarts: {len(history)}")
    await b.disconnect()


async def files(state):
    import hashlib
    a = await client(state, "a")
    bob = types.InputPeerUser(state["b"]["id"], state["b"]["access_hash"])
    digests = {}
    for name, size in (("three.bin", 3 * 1024 * 1024), ("twelve.bin", 12 * 1024 * 1024)):
        data = os.urandom(size)
        path = os.path.join(os.path.dirname(STATE), name)
        with open(path, "wb") as f:
            f.write(data)
        digests[name] = hashlib.sha256(data).hexdigest()
        sent = await a.send_file(bob, path, force_document=True, caption=name)
        check(sent is not None and sent.document is not None, f"{name}: the sent message has the document")
        check(sent.document.size == size, f"{name}: size {sent.document.size}")
    await a.disconnect()
    b = await client(state, "b")
    alice = await b.get_entity("@" + NAMES["a"])
    received = await b.get_messages(alice, limit=2)
    check(sorted(m.text for m in received) == ["three.bin", "twelve.bin"], "both files arrived")
    for m in received:
        data = await b.download_media(m, file=bytes)
        check(hashlib.sha256(data).hexdigest() == digests[m.text], f"{m.text}: bytes differ")
    # Forward one by reference, without uploading again.
    doc = received[0].document
    back = await b(functions.messages.SendMediaRequest(
        peer=alice,
        media=types.InputMediaDocument(id=types.InputDocument(doc.id, doc.access_hash, doc.file_reference)),
        message="back", random_id=4242))
    check(any(isinstance(u, types.UpdateMessageID) for u in back.updates), "updateMessageID")
    await b.disconnect()


async def channel(state):
    a = await client(state, "a")
    b = await client(state, "b")
    created = await a(functions.channels.CreateChannelRequest(title="Rust news", about="posts", broadcast=True))
    ch = created.chats[0]
    check(ch.broadcast and ch.creator, "a broadcast channel, created by A")
    check(await a(functions.channels.UpdateUsernameRequest(ch, "rust_news")), "username set")
    first = await a.send_message(ch, "first post")
    check(first is not None and first.post, "the post comes back as a post")
    await a.send_message(ch, "second post")
    news = await b.get_entity("@rust_news")
    check(news.id == ch.id, "resolved by username")
    await b(functions.channels.JoinChannelRequest(news))
    history = await b.get_messages(news, limit=10)
    check([m.text for m in history] == ["second post", "first post"], f"history: {[m.text for m in history]}")
    got = []
    done = asyncio.Event()

    @b.on(events.NewMessage(chats=news))
    async def on_post(event):
        got.append(event.raw_text)
        done.set()

    await b(functions.updates.GetStateRequest())
    await a.send_message(ch, "third post")
    await asyncio.wait_for(done.wait(), 15)
    check(got == ["third post"], f"pushed: {got}")
    try:
        await b.send_message(news, "me too")
        raise AssertionError("a member posted in a broadcast channel")
    except Exception as e:
        check(type(e).__name__ == "ChatAdminRequiredError", f"posting -> {type(e).__name__}")
    dialogs = await b.get_dialogs()
    check(any(d.entity.id == news.id for d in dialogs), "the channel is in B's dialogs")
    seen_pts = (await b(functions.channels.GetFullChannelRequest(news))).full_chat.pts
    # B goes offline; A posts; B comes back and catches up from the pts it had.
    await b.disconnect()
    await a.send_message(ch, "fourth post")
    b = await client(state, "b", receive_updates=False)
    diff = await b(functions.updates.GetChannelDifferenceRequest(
        channel=news, filter=types.ChannelMessagesFilterEmpty(), pts=seen_pts, limit=100))
    check([m.message for m in diff.new_messages] == ["fourth post"], "channel difference")
    check(diff.final and diff.pts == seen_pts + 1, "channel pts")
    again = await b(functions.updates.GetChannelDifferenceRequest(
        channel=news, filter=types.ChannelMessagesFilterEmpty(), pts=diff.pts, limit=100))
    check(isinstance(again, types.updates.ChannelDifferenceEmpty), "nothing twice")
    participants = await a.get_participants(ch)
    check(sorted(p.id for p in participants) == sorted([state["a"]["id"], state["b"]["id"]]), "members")
    await a.disconnect()
    await b.disconnect()


async def photo(state):
    a = await client(state, "a")
    bob = types.InputPeerUser(state["b"]["id"], state["b"]["access_hash"])
    sent = await a.send_file(bob, os.path.join(os.path.dirname(STATE), "photo.png"), caption="a photo")
    check(sent is not None and sent.photo is not None, "sent as a photo")
    sizes = [(s.type, s.w, s.h) for s in sent.photo.sizes if isinstance(s, types.PhotoSize)]
    check(sizes == [("s", 100, 75), ("m", 320, 240), ("x", 800, 600), ("y", 1280, 960)], f"sizes {sizes}")
    await a.disconnect()
    b = await client(state, "b")
    alice = await b.get_entity("@" + NAMES["a"])
    received = (await b.get_messages(alice, limit=1))[0]
    check(received.photo is not None and received.text == "a photo", "B got the photo")
    largest = [s for s in received.photo.sizes if isinstance(s, types.PhotoSize)][-1]
    data = await b.download_media(received, file=bytes)
    check(data[:2] == b"\xff\xd8" and len(data) == largest.size, f"downloaded {len(data)} bytes")
    await b.disconnect()


async def paging(state):
    # 300 messages and 300 posts sent at once, so most share a second: Telethon pages with
    # offset_id and offset_date of the last message it got, forwards and in reverse, and must
    # see each exactly once.
    a = await client(state, "a")
    bob = types.InputPeerUser(state["b"]["id"], state["b"]["access_hash"])
    news = await a.get_entity("@rust_news")
    await asyncio.gather(*(a(functions.messages.SendMessageRequest(bob, f"burst {i}", random_id=700000 + i))
                           for i in range(300)))
    await asyncio.gather(*(a(functions.messages.SendMessageRequest(news, f"post burst {i}", random_id=800000 + i))
                           for i in range(300)))
    # ordered=True: Telethon chains the sends with invokeAfterMsg in one container; the server
    # runs each after the one it names, so the ids follow the order.
    await a([functions.messages.SendMessageRequest(bob, f"ordered {i}", random_id=900000 + i)
             for i in range(60)], ordered=True)
    texts = [m.message for m in reversed(await a.get_messages(bob, limit=60))]
    check(texts == [f"ordered {i}" for i in range(60)], f"ordered sends out of order: {texts}")
    await a.disconnect()
    b = await client(state, "b")
    for chat in (await b.get_entity("@" + NAMES["a"]), await b.get_entity("@rust_news")):
        total = (await b.get_messages(chat, limit=0)).total
        check(total >= 300, f"{chat.id}: {total} messages in all")
        for reverse in (False, True):
            ids = [m.id async for m in b.iter_messages(chat, limit=None, reverse=reverse)]
            check(len(ids) == len(set(ids)), f"{chat.id} reverse={reverse}: a message seen twice")
            check(len(ids) == total, f"{chat.id} reverse={reverse}: saw {len(ids)} of {total}")
            check(ids == sorted(ids, reverse=not reverse), f"{chat.id} reverse={reverse}: out of order")
    # getMessages answers in request order, messageEmpty where an id has no message.
    alice, news = await b.get_entity("@" + NAMES["a"]), await b.get_entity("@rust_news")
    newest = (await b.get_messages(alice, limit=1))[0].id
    asked = [types.InputMessageID(i) for i in (newest, 999999, newest - 1)]
    got = (await b(functions.messages.GetMessagesRequest(asked))).messages
    check([type(m).__name__ for m in got] == ["Message", "MessageEmpty", "Message"], f"getMessages: {got}")
    check([m.id for m in got] == [newest, 999999, newest - 1], f"getMessages ids: {[m.id for m in got]}")
    newest = (await b.get_messages(news, limit=1))[0].id
    got = (await b(functions.channels.GetMessagesRequest(news, [types.InputMessageID(i) for i in (999999, newest)]))).messages
    check([(type(m).__name__, m.id) for m in got] == [("MessageEmpty", 999999), ("Message", newest)],
          f"channels.getMessages: {got}")
    await b.disconnect()


async def main():
    trust_server_key()
    state = load()
    phases = {"signup": signup, "chat": chat, "offline": offline, "catchup": catchup, "channel": channel,
              "photo": photo, "files": files, "paging": paging}
    await phases[PHASE](state)
    print(PHASE, "ok")

asyncio.run(main())
