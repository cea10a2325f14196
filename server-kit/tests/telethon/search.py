"""Telethon 1.45 against the reference server: message search (messages.search) through
Telethon's high-level API. Run in phases by server-kit/tests/telethon_search.rs, which kills
and restarts the server between phases:

  signup   A and B sign up with usernames
  fill     A sends B 10,000 messages through the server (batches of concurrent
           SendMessageRequest), a few with distinct words; B answers with some; A sends a
           photo, a document and a link, and posts in a broadcast channel
  search   after a restart: iter_messages(search=) finds exactly the right messages, by
           prefix and in any case; filter=InputMessagesFilterPhotos / Document / Url;
           from_user=; paging through 500 hits sees each once (both directions); the count;
           every private chat (inputPeerEmpty); a channel; B's own box; queries with search
           syntax characters; and the time of one search over the 10,000 (round trip, after a
           warm-up), which must be under 50 ms

State between phases lives in a JSON file; the last line printed is "PHASE ok".
"""
import asyncio, json, os, statistics, sys, time
import rsa as pyrsa
from telethon import TelegramClient, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, STATE, PHASE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CODE = "12345"
USERS = {"a": ("+1 555 0401", "ann_search"), "b": ("+1 555 0402", "ben_search")}
MANY = 10_000
BATCH = 500


def text_of(i):
    """The text of A's i-th message: every one is a filler; some carry distinct words."""
    words = [f"filler number {i}"]
    if i % 20 == 3:
        words.append("kiwi")              # 500 messages
    if i % 1000 == 7:
        words.append("Zebra crossing")    # 10 messages
    if i == 4321:
        words.append("aardvark sighting")  # 1 message
    return " ".join(words)


def trust_server_key():
    key = pyrsa.PublicKey.load_pkcs1(open(os.path.join(DATA, "rsa-public.pem"), "rb").read())
    rsa._server_keys[rsa._compute_fingerprint(key)] = (key, False)


def load():
    return json.load(open(STATE)) if os.path.exists(STATE) else {}


def save(state):
    json.dump(state, open(STATE, "w"))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def client(state, who):
    session = StringSession(state.get(who, {}).get("session"))
    session.set_dc(2, "127.0.0.1", PORT)
    c = TelegramClient(session, 1, "x")
    await c.connect()
    return c


async def signup(state):
    for who, (phone, username) in USERS.items():
        c = await client(state, who)
        sent = await c.send_code_request(phone)
        try:
            await c.sign_in(phone, CODE, phone_code_hash=sent.phone_code_hash)
            raise AssertionError("a new number signed in")
        except Exception as e:
            check(type(e).__name__ == "PhoneNumberUnoccupiedError", f"signIn -> {type(e).__name__}")
        await c(functions.auth.SignUpRequest(phone_number=phone, phone_code_hash=sent.phone_code_hash,
                                             first_name=who.upper(), last_name=""))
        await c(functions.account.UpdateUsernameRequest(username))
        state[who] = {"session": c.session.save(), "id": (await c.get_me()).id}
        await c.disconnect()
    save(state)


def sent_id(result):
    """The id of the message a raw SendMessageRequest sent."""
    if isinstance(result, types.UpdateShortSentMessage):
        return result.id
    for update in result.updates:
        if isinstance(update, types.UpdateMessageID):
            return update.id
    raise AssertionError(f"no message id in {result}")


async def fill(state):
    a, b = await client(state, "a"), await client(state, "b")
    ben = await a.get_entity("@" + USERS["b"][1])
    ann = await b.get_entity("@" + USERS["a"][1])
    started = time.perf_counter()
    ids = {}
    for first in range(0, MANY, BATCH):
        batch = range(first, min(first + BATCH, MANY))
        sent = await asyncio.gather(*(a(functions.messages.SendMessageRequest(
            ben, text_of(i), random_id=1_000_000 + i)) for i in batch))
        for i, result in zip(batch, sent):
            ids[i] = sent_id(result)
    took = time.perf_counter() - started
    print(f"sent {MANY} messages in {took:.1f} s ({MANY / took:.0f}/s)")
    check(len(set(ids.values())) == MANY, "every message has its own id")
    # B answers: two zebras of its own (for from_user=).
    for text in ("a zebra from ben", "another ZEBRA here"):
        await b.send_message(ann, text)
    # A photo, a document and a link, each with a caption of its own.
    photo = await a.send_file(ben, os.path.join(os.path.dirname(STATE), "photo.png"),
                              caption="holiday picture")
    check(photo.photo is not None, "sent as a photo")
    notes = os.path.join(os.path.dirname(STATE), "notes.txt")
    with open(notes, "w") as f:
        f.write("notes\n")
    doc = await a.send_file(ben, notes, force_document=True, caption="quarterly report")
    check(doc.document is not None, "sent as a document")
    link = await a.send_message(ben, "see https://example.org/page for the zebra facts")
    # A broadcast channel with posts.
    news = (await a(functions.channels.CreateChannelRequest("Search news", "", broadcast=True))).chats[0]
    await a(functions.channels.UpdateUsernameRequest(news, "search_news"))
    posts = {}
    for text in ("giraffe spotted", "elephant herd", "GIRAFFES everywhere", "nothing new"):
        posts[text] = (await a.send_message(news, text)).id
    state["a"].update({"ids": {str(k): v for k, v in ids.items()}, "photo": photo.id, "doc": doc.id,
                       "link": link.id, "posts": posts})
    save(state)
    for x in (a, b):
        await x.disconnect()


async def timed_search(c, peer, q):
    """One messages.search round trip, in milliseconds, and its answer."""
    started = time.perf_counter()
    answer = await c(functions.messages.SearchRequest(
        peer=peer, q=q, filter=types.InputMessagesFilterEmpty(), min_date=None, max_date=None,
        offset_id=0, add_offset=0, limit=20, max_id=0, min_id=0, hash=0))
    return (time.perf_counter() - started) * 1000, answer


async def search(state):
    a, b = await client(state, "a"), await client(state, "b")
    mine = state["a"]
    ids = {int(k): v for k, v in mine["ids"].items()}
    ben = await a.get_entity("@" + USERS["b"][1])
    ann_b = await b.get_entity("@" + USERS["a"][1])

    async def found(chat, **kw):
        return [m.id async for m in a.iter_messages(chat, limit=None, **kw)]

    def expect(which):
        return sorted((ids[i] for i in range(MANY) if which(i)), reverse=True)

    # Words, by prefix, in any case.
    zebras = expect(lambda i: i % 1000 == 7)
    check(len(zebras) == 10, "ten zebras sent")
    by_ben = await found(ben, search="zebra", from_user=ben)
    check(len(by_ben) == 2, f"B's zebras: {by_ben}")
    all_zebras = sorted(zebras + by_ben + [mine["link"]], reverse=True)
    check(await found(ben, search="zebra") == all_zebras, "search='zebra'")
    check(await found(ben, search="ZEB") == all_zebras, "a prefix, in another case")
    check(await found(ben, search="zebra crossing") == zebras, "two words")
    check(await found(ben, search="aardvark") == [ids[4321]], "one in 10,000")
    check(await found(ben, search="sighting aard") == [ids[4321]], "any order, a prefix")
    check(await found(ben, search="ebra") == [], "not inside a word")
    mine_zebras = sorted(zebras + [mine["link"]], reverse=True)
    check(await found(ben, search="zebra", from_user="me") == mine_zebras, "from_user='me'")
    # Filters.
    photos = await a.get_messages(ben, search=None, filter=types.InputMessagesFilterPhotos(), limit=10)
    check([m.id for m in photos] == [mine["photo"]] and photos[0].photo is not None, f"photos: {photos}")
    docs = await a.get_messages(ben, filter=types.InputMessagesFilterDocument(), limit=10)
    check([m.id for m in docs] == [mine["doc"]] and docs[0].document is not None, f"documents: {docs}")
    urls = await a.get_messages(ben, filter=types.InputMessagesFilterUrl(), limit=10)
    check([m.id for m in urls] == [mine["link"]], f"links: {[m.id for m in urls]}")
    check(await found(ben, search="holiday", filter=types.InputMessagesFilterPhotos()) == [mine["photo"]],
          "words and a filter")
    check(await found(ben, search="holiday", filter=types.InputMessagesFilterDocument()) == [],
          "words and another filter")
    check(await found(ben, filter=types.InputMessagesFilterVoice()) == [], "an unkept kind: nothing")
    # Paging through 500 hits: each once, newest first, and in reverse.
    kiwis = expect(lambda i: i % 20 == 3)
    first = await a.get_messages(ben, search="kiwi", limit=1)
    check(first.total == 500, f"total {first.total}")
    paged = await found(ben, search="kiwi")
    check(len(paged) == len(set(paged)) and paged == kiwis, f"paged {len(paged)} of 500")
    upward = [m.id async for m in a.iter_messages(ben, limit=None, search="kiwi", reverse=True)]
    check(upward == list(reversed(kiwis)), f"reverse: {len(upward)} of 500")
    # Every private chat (inputPeerEmpty), and B's own box.
    everywhere = await a(functions.messages.SearchRequest(
        peer=types.InputPeerEmpty(), q="aardvark", filter=types.InputMessagesFilterEmpty(),
        min_date=None, max_date=None, offset_id=0, add_offset=0, limit=10, max_id=0, min_id=0, hash=0))
    check([m.id for m in everywhere.messages] == [ids[4321]], "every chat")
    theirs = [m.text async for m in b.iter_messages(ann_b, search="aardvark")]
    check(theirs == [text_of(4321)], f"B's copy: {theirs}")
    # A channel.
    news = await a.get_entity("@search_news")
    giraffes = [m.id async for m in a.iter_messages(news, search="giraffe")]
    check(giraffes == [mine["posts"]["GIRAFFES everywhere"], mine["posts"]["giraffe spotted"]],
          f"channel: {giraffes}")
    check([m.id async for m in b.iter_messages(news, search="eleph")] == [mine["posts"]["elephant herd"]],
          "a public channel B is not in")
    # Search syntax is just characters.
    for q in ['"', '*', 'AND', 'zebra:*', 'zebra & kiwi', 'zebra | kiwi', '!zebra', '(zebra', "'", '\\']:
        got = await found(ben, search=q)
        want = all_zebras if q in ('zebra:*', '!zebra', '(zebra') else []
        check(got == want, f"{q!r}: {len(got)} found")
    # The time of one search over the 10,000, after a warm-up.
    await timed_search(a, ben, "aardvark")
    times = []
    for _ in range(7):
        ms, answer = await timed_search(a, ben, "aardvark")
        check([m.id for m in answer.messages] == [ids[4321]], "the timed search finds it")
        times.append(ms)
    common = []
    for _ in range(3):
        ms, answer = await timed_search(a, ben, "filler")
        check(answer.count == MANY, f"filler count {answer.count}")
        common.append(ms)
    median = statistics.median(times)
    print(f"search 'aardvark' over {MANY} messages: median {median:.1f} ms, "
          f"times {[round(t, 1) for t in times]} ms; 'filler' ({MANY} hits, page of 20): "
          f"{[round(t, 1) for t in common]} ms")
    check(median < 50, f"a search took {median:.1f} ms")
    for x in (a, b):
        await x.disconnect()


async def main():
    trust_server_key()
    state = load()
    phases = {"signup": signup, "fill": fill, "search": search}
    await phases[PHASE](state)
    print(PHASE, "ok")

asyncio.run(main())
