"""Telethon 1.45 against the reference server: secret chats, the end-to-end layer played in
Python on Telethon's raw API (the server only relays). Run in phases by
server-kit/tests/telethon_secret.rs, which kills the server (kill -9) and restarts it
between phases:

  signup   A and B sign up with usernames; A signs in a second time (A3: another auth key,
           the third session), and so does B (B2)
  chat     A asks getDhConfig (Telegram's prime, g = 3, random bytes; dhConfigNotModified
           when its version is current), requests a secret chat with B (a repeated
           random_id is the same chat); B sees encryptedChatRequested, accepts with g_b and
           the key fingerprint; both derive the key and check the fingerprint against the
           other's. Each notifies its layer (sendEncryptedService); messages both ways in
           decryptedMessageLayer/decryptedMessage, MTProto 2.0 end-to-end encrypted
           (AES-256-IGE, x = 0 from the creator, 8 from the other side), with seq_no and
           qts checked; typing and a read receipt reach A; receivedQueue acknowledges;
           then B goes away and A sends three more. A3 is connected all along and sees none
           of it (no update, qts 0); B2 sees the request, then sees it gone once B accepted
           (and may not accept it itself), and nothing after.
  restart  after kill -9: B's getDifference from its qts gives the three messages queued
           while it was away (and nothing once acknowledged: the server keeps no copy);
           A sends an encrypted file (saveFilePart, inputEncryptedFileUploaded) and a big
           one (saveBigFilePart, inputEncryptedFileBigUploaded): B downloads them with
           inputEncryptedFileLocation and decrypts them; A3 still sees nothing and its calls
           on the chat are refused (CHAT_ID_INVALID, ENCRYPTION_ID_INVALID); a message left
           queued is dropped when A discards the chat with delete_history, which B sees;
           sends to the discarded chat are refused; a second chat ends when A signs out
           (auth.logOut), and B is told.

Every text and file holds MARKER, which the Rust side then looks for in the server's data
directory and log (it must never be there). Every check raises on failure; the last line
printed is "PHASE ok".
"""
import asyncio, hashlib, os, struct, sys, traceback
from telethon import errors, events, functions, types
from telethon.crypto import AES

from common import (CODE, PHASE, STATE, check, client, load, refused, save, trust_server_key)
from e2e import (LAYER, TELEGRAM_PRIME, Side, check_dh_value, decrypted_message, dh_config,
                 file_fingerprint, fingerprint, media_document, notify_layer, secret_exponent,
                 send_text)

MARKER = "PLAINTEXT-MARKER-5ec7e7"
PEOPLE = {
    "a": ("+1 555 0710", "Ann", "secret_ann"),
    "b": ("+1 555 0720", "Ben", "secret_ben"),
}


# ---------------------------------------------------------------------------------------------
# Updates.

ENCRYPTED_UPDATES = (types.UpdateEncryption, types.UpdateNewEncryptedMessage,
                     types.UpdateEncryptedChatTyping, types.UpdateEncryptedMessagesRead)


class Watch:
    """The raw updates a client gets, awaitable."""

    def __init__(self, c):
        self.raw = []
        self.changed = asyncio.Event()

        @c.on(events.Raw())
        async def on_raw(update):
            self.raw.append(update)
            self.changed.set()

    async def wait_for(self, what, pick, seconds=15):
        for _ in range(seconds * 10):
            found = [u for u in self.raw if pick(u)]
            if found:
                return found
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        raise AssertionError(f"never arrived: {what}")

    async def encrypted(self, what, random_id):
        found = await self.wait_for(what, lambda u: isinstance(u, types.UpdateNewEncryptedMessage)
                                    and u.message.random_id == random_id)
        return found[0]

    def secret_ones(self):
        return [u for u in self.raw if isinstance(u, ENCRYPTED_UPDATES)]


async def receive_text(watch, side, random_id, text, qts, what):
    update = await watch.encrypted(what, random_id)
    check(update.qts == qts, f"{what}: qts {update.qts}, expected {qts}")
    check(isinstance(update.message, types.EncryptedMessage), f"{what}: {update.message}")
    msg = side.open(update.message.bytes)
    check(msg["text"] == text and msg["random_id"] == random_id, f"{what}: {msg}")
    return update


# ---------------------------------------------------------------------------------------------
# Phases.


async def sign_in(state, who, session_name):
    phone, first, username = PEOPLE[who]
    c = await client(state, session_name)
    sent = await c.send_code_request(phone)
    try:
        await c.sign_in(phone, CODE, phone_code_hash=sent.phone_code_hash)
    except errors.PhoneNumberUnoccupiedError:
        await c(functions.auth.SignUpRequest(
            phone_number=phone, phone_code_hash=sent.phone_code_hash,
            first_name=first, last_name=""))
        await c(functions.account.UpdateUsernameRequest(username))
    me = await c.get_me()
    state[session_name] = {"session": c.session.save(), "id": me.id}
    await c.disconnect()


async def signup(state):
    await sign_in(state, "a", "a")
    await sign_in(state, "b", "b")
    await sign_in(state, "a", "a3")
    await sign_in(state, "b", "b2")
    check(state["a3"]["id"] == state["a"]["id"], "A3 is A")
    check(state["b2"]["id"] == state["b"]["id"], "B2 is B")
    save(state)


async def chat(state):
    a, b, a3, b2 = [await client(state, who) for who in ("a", "b", "a3", "b2")]
    watch = {"a": Watch(a), "b": Watch(b), "a3": Watch(a3), "b2": Watch(b2)}
    for c in (a, b, a3, b2):
        await c(functions.updates.GetStateRequest())
    ben = await a.get_input_entity("@secret_ben")

    # The DH exchange, through the server.
    dh_a = await dh_config(a)
    secret_a = secret_exponent(dh_a)
    g_a = pow(3, secret_a, TELEGRAM_PRIME).to_bytes(256, "big")
    random_id = struct.unpack("<i", os.urandom(4))[0]
    await refused(a(functions.messages.RequestEncryptionRequest(
        user_id=ben, random_id=random_id, g_a=(1).to_bytes(256, "big"))),
        errors.DhGAInvalidError, "a g_a of 1")
    waiting = await a(functions.messages.RequestEncryptionRequest(
        user_id=ben, random_id=random_id, g_a=g_a))
    check(isinstance(waiting, types.EncryptedChatWaiting), f"requestEncryption: {waiting}")
    check(waiting.admin_id == state["a"]["id"] and waiting.participant_id == state["b"]["id"],
          f"the sides: {waiting}")
    again = await a(functions.messages.RequestEncryptionRequest(
        user_id=ben, random_id=random_id, g_a=g_a))
    check(again.id == waiting.id and again.access_hash == waiting.access_hash,
          f"the same random_id is the same chat: {again}")

    found = await watch["b"].wait_for("B: encryptedChatRequested", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatRequested))
    requested = found[0].chat
    check(requested.id == waiting.id and requested.g_a == g_a, f"the request B sees: {requested}")
    dh_b = await dh_config(b)
    check_dh_value(int.from_bytes(requested.g_a, "big"), "g_a")
    secret_b = secret_exponent(dh_b)
    g_b = pow(3, secret_b, TELEGRAM_PRIME).to_bytes(256, "big")
    key_b = pow(int.from_bytes(requested.g_a, "big"), secret_b, TELEGRAM_PRIME).to_bytes(256, "big")
    peer_b = types.InputEncryptedChat(requested.id, requested.access_hash)
    accepted = await b(functions.messages.AcceptEncryptionRequest(
        peer=peer_b, g_b=g_b, key_fingerprint=fingerprint(key_b)))
    check(isinstance(accepted, types.EncryptedChat) and accepted.g_a_or_b == g_a
          and accepted.key_fingerprint == fingerprint(key_b), f"acceptEncryption: {accepted}")
    await refused(b(functions.messages.AcceptEncryptionRequest(
        peer=peer_b, g_b=g_b, key_fingerprint=fingerprint(key_b))),
        errors.EncryptionAlreadyAcceptedError, "a second accept")

    # B2, B's other device, saw the request too (any device may accept) and now sees it gone;
    # the chat is B's first device's: B2 can no longer act on it.
    await watch["b2"].wait_for("B2: the request", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatRequested))
    await watch["b2"].wait_for("B2: the request gone", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatDiscarded)
        and u.chat.id == requested.id)
    await refused(b2(functions.messages.AcceptEncryptionRequest(
        peer=peer_b, g_b=g_b, key_fingerprint=fingerprint(key_b))),
        errors.ChatIdInvalidError, "B2 accepting the chat B accepted")
    b2_seen = len(watch["b2"].secret_ones())

    found = await watch["a"].wait_for("A: the accepted chat", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChat))
    chat_a = found[0].chat
    check_dh_value(int.from_bytes(chat_a.g_a_or_b, "big"), "g_b")
    key_a = pow(int.from_bytes(chat_a.g_a_or_b, "big"), secret_a, TELEGRAM_PRIME).to_bytes(256, "big")
    check(fingerprint(key_a) == chat_a.key_fingerprint, "A's key has B's fingerprint")
    check(key_a == key_b, "one key on both sides")
    side_a = Side({"key": key_a.hex(), "creator": True, "sent": 0, "received": 0,
                   "chat_id": chat_a.id, "access_hash": chat_a.access_hash})
    side_b = Side({"key": key_b.hex(), "creator": False, "sent": 0, "received": 0,
                   "chat_id": peer_b.chat_id, "access_hash": peer_b.access_hash})

    # The layer, as a service message each way.
    qts = {"a": 0, "b": 0}
    for me, them, side in (("a", "b", side_a), ("b", "a", side_b)):
        random_id = int.from_bytes(os.urandom(8), "little", signed=True)
        c = a if me == "a" else b
        await c(functions.messages.SendEncryptedServiceRequest(
            peer=side.chat, random_id=random_id, data=side.seal(notify_layer(random_id))))
        update = await watch[them].encrypted(f"{them}: the layer", random_id)
        qts[them] += 1
        check(update.qts == qts[them] and isinstance(update.message, types.EncryptedMessageService),
              f"{them}: {update}")
        msg = (side_b if them == "b" else side_a).open(update.message.bytes)
        check(msg["notify_layer"] == LAYER, f"{them}: layer {msg}")

    # Messages both ways, received live with the next qts.
    sent_to = {"a": [], "b": []}
    for i in range(4):
        text = f"{MARKER} A to B #{i}"
        rid, date = await send_text(a, side_a, text)
        qts["b"] += 1
        await receive_text(watch["b"], side_b, rid, text, qts["b"], f"B: A's message {i}")
        sent_to["b"].append(rid)
        text = f"{MARKER} B to A #{i}"
        rid, date_b = await send_text(b, side_b, text)
        qts["a"] += 1
        await receive_text(watch["a"], side_a, rid, text, qts["a"], f"A: B's message {i}")
        sent_to["a"].append(rid)

    # Typing and a read receipt reach A.
    check(await b(functions.messages.SetEncryptedTypingRequest(peer=side_b.chat, typing=True)),
          "setEncryptedTyping")
    await watch["a"].wait_for("A: B types", lambda u: isinstance(
        u, types.UpdateEncryptedChatTyping) and u.chat_id == side_a.chat.chat_id)
    check(await b(functions.messages.ReadEncryptedHistoryRequest(peer=side_b.chat, max_date=date)),
          "readEncryptedHistory")
    await watch["a"].wait_for("A: B read", lambda u: isinstance(
        u, types.UpdateEncryptedMessagesRead) and u.chat_id == side_a.chat.chat_id
        and u.max_date == date)

    # qts in getState; receivedQueue acknowledges (returning the random_ids).
    for me, c in (("a", a), ("b", b)):
        got = await c(functions.updates.GetStateRequest())
        check(got.qts == qts[me], f"{me}: getState qts {got.qts}, expected {qts[me]}")
    acked = await b(functions.messages.ReceivedQueueRequest(max_qts=qts["b"]))
    check(acked[-4:] == sent_to["b"] and len(acked) == 5, f"B acknowledged {acked}")
    check(await b(functions.messages.ReceivedQueueRequest(max_qts=qts["b"])) == [], "acked twice")
    acked = await a(functions.messages.ReceivedQueueRequest(max_qts=qts["a"] - 1))
    check(acked[-3:] == sent_to["a"][:3], f"A acknowledged {acked}")

    # B goes away; A writes three more, queued for B.
    b_state = await b(functions.updates.GetStateRequest())
    await b.disconnect()
    queued = []
    for i in range(3):
        text = f"{MARKER} while B is away #{i}"
        rid, _ = await send_text(a, side_a, text)
        queued.append([rid, text])

    # A3, another auth key of A, saw nothing and has no qts.
    await asyncio.sleep(0.5)
    check(watch["a3"].secret_ones() == [], f"A3 saw {watch['a3'].secret_ones()}")
    check((await a3(functions.updates.GetStateRequest())).qts == 0, "A3's qts")
    check(len(watch["b2"].secret_ones()) == b2_seen, f"B2 saw {watch['b2'].secret_ones()[b2_seen:]}")
    check((await b2(functions.updates.GetStateRequest())).qts == 0, "B2's qts")

    state["side_a"], state["side_b"] = side_a.saved(), side_b.saved()
    state["b_state"] = {"pts": b_state.pts, "qts": b_state.qts, "date": int(b_state.date.timestamp())}
    state["queued"] = queued
    save(state)
    for c in (a, a3, b2):
        await c.disconnect()


async def restart(state):
    side_a, side_b = Side(state["side_a"]), Side(state["side_b"])
    b = await client(state, "b")
    watch_b = Watch(b)
    # The messages queued while B was away, from its qts, across the restart.
    saved = state["b_state"]
    diff = await b(functions.updates.GetDifferenceRequest(
        pts=saved["pts"], date=saved["date"], qts=saved["qts"]))
    check(isinstance(diff, types.updates.Difference), f"getDifference: {diff}")
    got = [side_b.open(m.bytes) for m in diff.new_encrypted_messages]
    check([[m["random_id"], m["text"]] for m in got] == state["queued"],
          f"the queued messages: {got}")
    check(diff.state.qts == saved["qts"] + 3, f"qts {diff.state.qts}")
    again = await b(functions.updates.GetDifferenceRequest(
        pts=diff.state.pts, date=diff.state.date, qts=diff.state.qts))
    check(not getattr(again, "new_encrypted_messages", []), f"nothing after the qts: {again}")
    acked = await b(functions.messages.ReceivedQueueRequest(max_qts=diff.state.qts))
    check(acked == [rid for rid, _ in state["queued"]], f"acknowledged {acked}")
    gone = await b(functions.updates.GetDifferenceRequest(pts=saved["pts"], date=saved["date"], qts=0))
    check(not getattr(gone, "new_encrypted_messages", []), f"kept after the ack: {gone}")
    qts_b = diff.state.qts

    a = await client(state, "a")
    a3 = await client(state, "a3")
    watch_a3 = Watch(a3)
    await b(functions.updates.GetStateRequest())
    await a3(functions.updates.GetStateRequest())

    # Encrypted files: a small upload and a big one.
    for n, (size, big) in enumerate(((300_000, False), (1_200_000, True))):
        content = (MARKER.encode() + b" file bytes " + bytes([n])) * (size // 36 + 1)
        content = content[:size]
        key, iv = os.urandom(32), os.urandom(32)
        encrypted = AES.encrypt_ige(content + b"\0" * (-len(content) % 16), key, iv)
        file_id = int.from_bytes(os.urandom(8), "little", signed=True)
        part = 128 * 1024
        parts = [encrypted[i:i + part] for i in range(0, len(encrypted), part)]
        for i, chunk in enumerate(parts):
            if big:
                ok = await a(functions.upload.SaveBigFilePartRequest(
                    file_id=file_id, file_part=i, file_total_parts=len(parts), bytes=chunk))
            else:
                ok = await a(functions.upload.SaveFilePartRequest(
                    file_id=file_id, file_part=i, bytes=chunk))
            check(ok, f"part {i}")
        if big:
            uploaded = types.InputEncryptedFileBigUploaded(
                id=file_id, parts=len(parts), key_fingerprint=file_fingerprint(key, iv))
        else:
            uploaded = types.InputEncryptedFileUploaded(
                id=file_id, parts=len(parts), md5_checksum=hashlib.md5(encrypted).hexdigest(),
                key_fingerprint=file_fingerprint(key, iv))
        random_id = int.from_bytes(os.urandom(8), "little", signed=True)
        name = f"{MARKER}-{n}.bin"
        media = media_document(size, key, iv, name, "application/octet-stream")
        sent = await a(functions.messages.SendEncryptedFileRequest(
            peer=side_a.chat, random_id=random_id,
            data=side_a.seal(decrypted_message(random_id, f"{MARKER} a file", media)),
            file=uploaded))
        check(isinstance(sent, types.messages.SentEncryptedFile), f"sendEncryptedFile: {sent}")
        check(sent.file.size == len(encrypted) and sent.file.key_fingerprint == file_fingerprint(key, iv),
              f"the stored file: {sent.file}")
        qts_b += 1
        update = await watch_b.encrypted(f"B: file {n}", random_id)
        check(update.qts == qts_b, f"file {n}: qts {update.qts}")
        file = update.message.file
        check(isinstance(file, types.EncryptedFile) and file.id == sent.file.id, f"file {file}")
        msg = side_b.open(update.message.bytes)
        got_media = msg["media"]
        check(got_media["name"] == name and got_media["size"] == size, f"the media: {got_media}")
        check(file_fingerprint(got_media["key"], got_media["iv"]) == file.key_fingerprint,
              "the file key's fingerprint")
        downloaded = b""
        while True:
            chunk = await b(functions.upload.GetFileRequest(
                location=types.InputEncryptedFileLocation(file.id, file.access_hash),
                offset=len(downloaded), limit=512 * 1024))
            downloaded += chunk.bytes
            if len(chunk.bytes) < 512 * 1024:
                break
        check(downloaded == encrypted, f"file {n}: {len(downloaded)} bytes downloaded")
        plain = AES.decrypt_ige(downloaded, got_media["key"], got_media["iv"])[:got_media["size"]]
        check(hashlib.sha256(plain).digest() == hashlib.sha256(content).digest(),
              f"file {n} decrypts to what A sent")
    await b(functions.messages.ReceivedQueueRequest(max_qts=qts_b))

    # A3, the third session: nothing live, nothing in getDifference, and refused.
    check(watch_a3.secret_ones() == [], f"A3 saw {watch_a3.secret_ones()}")
    state3 = await a3(functions.updates.GetStateRequest())
    check(state3.qts == 0, f"A3's qts {state3.qts}")
    diff3 = await a3(functions.updates.GetDifferenceRequest(pts=max(state3.pts - 1, 0), date=1, qts=0))
    check(not getattr(diff3, "new_encrypted_messages", []), f"A3's difference: {diff3}")
    check(not [u for u in getattr(diff3, "other_updates", []) if isinstance(u, ENCRYPTED_UPDATES)],
          f"A3's difference: {diff3}")
    await refused(a3(functions.messages.SendEncryptedRequest(
        peer=side_a.chat, random_id=1, data=os.urandom(56))), errors.ChatIdInvalidError,
        "A3 sending in A's secret chat")
    await refused(a3(functions.messages.ReadEncryptedHistoryRequest(
        peer=side_a.chat, max_date=1)), errors.ChatIdInvalidError, "A3 reading it")
    await refused(a3(functions.messages.DiscardEncryptionRequest(
        chat_id=side_a.chat.chat_id, delete_history=True)), errors.EncryptionIdInvalidError,
        "A3 discarding it")
    await refused(b(functions.messages.SendEncryptedRequest(
        peer=types.InputEncryptedChat(side_b.chat.chat_id, side_b.chat.access_hash + 1),
        random_id=1, data=os.urandom(56))), errors.ChatIdInvalidError, "a wrong access hash")
    await refused(b(functions.messages.SendEncryptedRequest(
        peer=side_b.chat, random_id=1, data=os.urandom(50))), errors.DataInvalidError,
        "a payload that is not whole blocks")

    # One more stays queued for B; A discards the chat with its history: B sees it, and the
    # queued message is dropped.
    rid, _ = await send_text(a, side_a, f"{MARKER} never acknowledged")
    await watch_b.encrypted("B: the last message", rid)
    check(await a(functions.messages.DiscardEncryptionRequest(
        chat_id=side_a.chat.chat_id, delete_history=True)), "discardEncryption")
    found = await watch_b.wait_for("B: the chat discarded", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatDiscarded))
    check(found[0].chat.history_deleted and found[0].chat.id == side_b.chat.chat_id,
          f"B's discarded chat: {found[0].chat}")
    left = await b(functions.updates.GetDifferenceRequest(pts=saved["pts"], date=saved["date"], qts=0))
    check(not getattr(left, "new_encrypted_messages", []), f"queued after the discard: {left}")
    await refused(b(functions.messages.SendEncryptedRequest(
        peer=side_b.chat, random_id=2, data=side_b.seal(decrypted_message(2, "late")))),
        errors.EncryptionDeclinedError, "a send to the discarded chat")
    await refused(a(functions.messages.DiscardEncryptionRequest(
        chat_id=side_a.chat.chat_id, delete_history=False)),
        errors.EncryptionAlreadyDeclinedError, "a second discard")
    await asyncio.sleep(0.5)
    check(watch_a3.secret_ones() == [], f"A3 saw {watch_a3.secret_ones()}")

    # A second chat, A to B; then A signs out: the chat ends with A's device, B is told.
    dh = await dh_config(a)
    secret_a = secret_exponent(dh)
    waiting = await a(functions.messages.RequestEncryptionRequest(
        user_id=await a.get_input_entity("@secret_ben"), random_id=99,
        g_a=pow(3, secret_a, TELEGRAM_PRIME).to_bytes(256, "big")))
    found = await watch_b.wait_for("B: the second request", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatRequested)
        and u.chat.id == waiting.id)
    secret_b = secret_exponent(await dh_config(b))
    key = pow(int.from_bytes(found[0].chat.g_a, "big"), secret_b, TELEGRAM_PRIME).to_bytes(256, "big")
    second = types.InputEncryptedChat(waiting.id, found[0].chat.access_hash)
    await b(functions.messages.AcceptEncryptionRequest(
        peer=second, g_b=pow(3, secret_b, TELEGRAM_PRIME).to_bytes(256, "big"),
        key_fingerprint=fingerprint(key)))
    await a(functions.auth.LogOutRequest())
    await watch_b.wait_for("B: the chat ended with A's sign-out", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatDiscarded)
        and u.chat.id == waiting.id)
    await refused(b(functions.messages.SendEncryptedRequest(
        peer=second, random_id=3, data=os.urandom(56))), errors.EncryptionDeclinedError,
        "a send to a signed-out device")
    check(watch_a3.secret_ones() == [], f"A3 saw {watch_a3.secret_ones()}")
    for c in (a, b, a3):
        await c.disconnect()


class Plugin:
    """A's side played by telethon-secret-chat 0.2.4 (PyPI): its SecretChatManager accepts
    requests on its own and hands decrypted messages to a callback."""

    def __init__(self, c):
        try:
            from telethon_secret_chat import SecretChatManager, SECRET_TYPES
        except ImportError as e:
            raise AssertionError("telethon-secret-chat is missing: `pip install "
                                 "telethon-secret-chat==0.2.4` (.ci/test.sh installs it)") from e
        self.texts = []
        self.created = []
        self.changed = asyncio.Event()

        async def on_message(event):
            self.texts.append(event.decrypted_event.message)
            self.changed.set()

        async def on_created(chat, created_by_me):
            self.created.append((chat.id, created_by_me))
            self.changed.set()

        self.manager = SecretChatManager(c, auto_accept=True, new_chat_created=on_created)
        self.manager.add_secret_event_handler(SECRET_TYPES.decrypt, on_message)

    async def wait_for(self, what, pick, seconds=15):
        for _ in range(seconds * 10):
            if pick(self):
                return
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        raise AssertionError(f"never arrived at telethon-secret-chat: {what}")


async def read_from_plugin(watch, side, chat_id, seen, text, what):
    """Decrypts, in qts order, what the plugin sent in the chat (its notify-layer services and
    messages, MTProto 1.0 or 2.0) until `text` comes; `seen` keeps the qts already read."""
    for _ in range(150):
        fresh = sorted((u for u in watch.raw if isinstance(u, types.UpdateNewEncryptedMessage)
                        and u.message.chat_id == chat_id and u.qts not in seen),
                       key=lambda u: u.qts)
        for u in fresh:
            seen.add(u.qts)
            msg = side.open(u.message.bytes, mtproto1=True)
            if msg.get("text") == text:
                return msg
        watch.changed.clear()
        try:
            await asyncio.wait_for(watch.changed.wait(), 0.1)
        except asyncio.TimeoutError:
            pass
    raise AssertionError(f"never arrived from telethon-secret-chat: {what}")


async def plugin(state):
    """telethon-secret-chat 0.2.4 as A, our raw-API peer as B: each side starts a chat once,
    messages go both ways in each."""
    a, b = await client(state, "a"), await client(state, "b")
    plugin = Plugin(a)
    watch = Watch(b)
    for c in (a, b):
        await c(functions.updates.GetStateRequest())
    ann = await b.get_input_entity("@secret_ann")

    # 1. The plugin starts the chat; B accepts it.
    chat_id = await plugin.manager.start_secret_chat("@secret_ben")
    found = await watch.wait_for("B: the plugin's request", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChatRequested)
        and u.chat.id == chat_id)
    requested = found[0].chat
    dh = await dh_config(b)
    check_dh_value(int.from_bytes(requested.g_a, "big"), "the plugin's g_a")
    secret_b = secret_exponent(dh)
    key = pow(int.from_bytes(requested.g_a, "big"), secret_b, TELEGRAM_PRIME).to_bytes(256, "big")
    peer = types.InputEncryptedChat(requested.id, requested.access_hash)
    await b(functions.messages.AcceptEncryptionRequest(
        peer=peer, g_b=pow(3, secret_b, TELEGRAM_PRIME).to_bytes(256, "big"),
        key_fingerprint=fingerprint(key)))
    side = Side({"key": key.hex(), "creator": False, "sent": 0, "received": 0,
                 "chat_id": peer.chat_id, "access_hash": peer.access_hash})
    await plugin.wait_for("the chat it started is ready", lambda p: (chat_id, True) in p.created)
    seen = set()
    text = f"{MARKER} from telethon-secret-chat, its chat"
    await plugin.manager.send_secret_message(chat_id, text)
    await read_from_plugin(watch, side, chat_id, seen, text, "its first message")
    text = f"{MARKER} to telethon-secret-chat, its chat"
    await send_text(b, side, text)
    await plugin.wait_for("B's message", lambda p: text in p.texts)
    text = f"{MARKER} from telethon-secret-chat again"
    await plugin.manager.send_secret_message(chat_id, text)
    await read_from_plugin(watch, side, chat_id, seen, text, "its second message")

    # 2. B starts a chat; the plugin accepts it on its own.
    dh = await dh_config(b)
    secret_b = secret_exponent(dh)
    waiting = await b(functions.messages.RequestEncryptionRequest(
        user_id=ann, random_id=struct.unpack("<i", os.urandom(4))[0],
        g_a=pow(3, secret_b, TELEGRAM_PRIME).to_bytes(256, "big")))
    found = await watch.wait_for("B: the plugin accepted", lambda u: isinstance(
        u, types.UpdateEncryption) and isinstance(u.chat, types.EncryptedChat)
        and u.chat.id == waiting.id)
    accepted = found[0].chat
    check_dh_value(int.from_bytes(accepted.g_a_or_b, "big"), "the plugin's g_b")
    key = pow(int.from_bytes(accepted.g_a_or_b, "big"), secret_b, TELEGRAM_PRIME).to_bytes(256, "big")
    check(fingerprint(key) == accepted.key_fingerprint, "the plugin's key fingerprint")
    side = Side({"key": key.hex(), "creator": True, "sent": 0, "received": 0,
                 "chat_id": accepted.id, "access_hash": accepted.access_hash})
    await plugin.wait_for("the chat it accepted", lambda p: (waiting.id, False) in p.created)
    text = f"{MARKER} to telethon-secret-chat, B's chat"
    await send_text(b, side, text)
    await plugin.wait_for("B's message in B's chat", lambda p: text in p.texts)
    text = f"{MARKER} from telethon-secret-chat, B's chat"
    await plugin.manager.send_secret_message(waiting.id, text)
    await read_from_plugin(watch, side, waiting.id, set(), text, "its message in B's chat")
    for c in (a, b):
        await c.disconnect()


async def main():
    trust_server_key()
    state = load()
    await {"signup": signup, "chat": chat, "restart": restart, "plugin": plugin}[PHASE](state)
    print(f"{PHASE} ok")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception:
        traceback.print_exc()
        sys.exit(1)
