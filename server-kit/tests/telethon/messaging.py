"""Telethon 1.45 against the reference server: messaging as people use it, through Telethon's
high-level API. Run in phases by server-kit/tests/telethon_messaging.rs, which kills and
restarts the server between phases:

  signup    A, B and C sign up with usernames
  replies   B replies to A's message (reply_to=); A, online, gets it pushed naming A's own
            copy; get_reply_message() finds it; C replies in a megagroup A made
  restarted after a restart, the replies are still there, per viewer
  forwards  A posts in a broadcast channel B joined; B forwards the post to C and A's message
            to C (forward_messages); C sees who wrote each first; C forwards the forward on,
            and the first origin stays; drop_author sends a plain copy; a forward into the
            megagroup
  typing    A types to B (client.action): B sees UserUpdate typing, then cancel; A types in
            the megagroup: B and C see it
  status    B sees A come online and leave (UserUpdate with the status), and A say it is
            offline (account.updateStatus)
  last_seen after a restart, A shows as last seen when it left
  pins      A pins a message for both (B told, both copies pinned, pinned_msg_id), B pins one
            for itself only (pm_oneside), A unpins all
  reactions B reacts to A's message (A, online, is told; get_messages shows the count), changes
            it (replaced), A reacts too, B takes it back, A edits it (still there); a bad emoji, a custom emoji, an unknown
            message and a channel C is not in are refused; in the megagroup B reacts to A's
            post and C, online, is told, then reacts too; getMessagesReactions,
            getMessageReactionsList, getAvailableReactions (and its hash)
  reactions_kept  after a restart, the reactions are still there, each viewer's own marked

State between phases lives in a JSON file; the last line printed is "PHASE ok".
"""
import asyncio, json, os, sys
import rsa as pyrsa
from telethon import TelegramClient, events, functions, types
from telethon.crypto import rsa
from telethon.sessions import StringSession

PORT, DATA, STATE, PHASE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CODE = "12345"
USERS = {"a": ("+1 555 0301", "ann_msg"), "b": ("+1 555 0302", "ben_msg"), "c": ("+1 555 0303", "cat_msg")}


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


async def online(state, who):
    """A client that receives pushed updates (Telethon starts once it has the update state)."""
    c = await client(state, who)
    await c.get_me()
    await c(functions.updates.GetStateRequest())
    return c


async def chat_of(c, channel_id):
    """A channel or group the client is in, found through its dialogs (a session string keeps
    no entities, and a channel is named by id and access hash)."""
    for dialog in await c.get_dialogs():
        if isinstance(dialog.entity, types.Channel) and dialog.entity.id == channel_id:
            return dialog.entity
    raise AssertionError(f"channel {channel_id} is not in the dialogs")


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


async def replies(state):
    a, b, c = await online(state, "a"), await client(state, "b"), await client(state, "c")
    ben = await a.get_entity("@" + USERS["b"][1])
    ann = await b.get_entity("@" + USERS["a"][1])
    question = await a.send_message(ben, "lunch?")
    await a.send_message(ben, "(something in between)")
    got = asyncio.get_running_loop().create_future()

    @a.on(events.NewMessage(incoming=True))
    async def on_message(event):
        if not got.done():
            got.set_result(event.message)

    # B replies to its own copy of the question, whose id differs from A's.
    question_b = (await b.get_messages(ann, limit=2))[-1]
    check(question_b.text == "lunch?", f"B's copy: {question_b.text}")
    answer = await b.send_message(ann, "yes, at noon", reply_to=question_b.id)
    check(answer.reply_to_msg_id == question_b.id, "B's answer replies to B's copy")
    pushed = await asyncio.wait_for(got, 15)
    check(pushed.text == "yes, at noon", f"pushed to A: {pushed.text}")
    check(pushed.reply_to_msg_id == question.id,
          f"A's copy replies to A's message {question.id}, not {pushed.reply_to_msg_id}")
    replied = await pushed.get_reply_message()
    check(replied is not None and replied.text == "lunch?", f"get_reply_message: {replied}")
    # A megagroup: C replies to A's message there.
    group = (await a(functions.channels.CreateChannelRequest("Lunch club", "", megagroup=True))).chats[0]
    await a(functions.channels.InviteToChannelRequest(group, [await a.get_entity("@" + USERS["c"][1]),
                                                              ben]))
    hello = await a.send_message(group, "welcome")
    group_c = await chat_of(c, group.id)
    reply = await c.send_message(group_c, "thanks", reply_to=hello.id)
    check(reply.reply_to_msg_id == hello.id, "a reply in the group")
    state["a"]["question"], state["a"]["group"] = question.id, group.id
    state["b"]["answer"] = answer.id
    save(state)
    for x in (a, b, c):
        await x.disconnect()


async def restarted(state):
    a = await client(state, "a")
    ben = await a.get_entity("@" + USERS["b"][1])
    history = await a.get_messages(ben, limit=5)
    answer = next(m for m in history if m.text == "yes, at noon")
    check(answer.reply_to_msg_id == state["a"]["question"], "the reply survived the restart")
    group = await chat_of(a, state["a"]["group"])
    thanks = (await a.get_messages(group, limit=1))[0]
    check(thanks.text == "thanks" and thanks.reply_to_msg_id is not None, "the group reply survived")
    check((await thanks.get_reply_message()).text == "welcome", "the group reply's message")
    await a.disconnect()


async def forwards(state):
    a, b, c = await client(state, "a"), await client(state, "b"), await online(state, "c")
    news = (await a(functions.channels.CreateChannelRequest("Menu", "today's menu", broadcast=True))).chats[0]
    await a(functions.channels.UpdateUsernameRequest(news, "lunch_menu"))
    post = await a.send_message(news, "soup of the day")
    news_b = await b.get_entity("@lunch_menu")
    await b(functions.channels.JoinChannelRequest(news_b))
    cat = await b.get_entity("@" + USERS["c"][1])
    arrived = []
    done = asyncio.Event()

    @c.on(events.NewMessage(incoming=True))
    async def on_message(event):
        arrived.append(event.message)
        if len(arrived) == 2:
            done.set()

    fwd_post = await b.forward_messages(cat, post.id, news_b)
    check(fwd_post.fwd_from is not None, "the answer carries the forward header")
    ann = await b.get_entity("@" + USERS["a"][1])
    lunch = next(m for m in await b.get_messages(ann, limit=5) if m.text == "lunch?")
    await b.forward_messages(cat, lunch)
    await asyncio.wait_for(done.wait(), 15)
    by_text = {m.text: m for m in arrived}
    soup = by_text["soup of the day"]
    check(isinstance(soup.fwd_from.from_id, types.PeerChannel) and soup.fwd_from.from_id.channel_id == news.id,
          f"the post's origin: {soup.fwd_from}")
    check(soup.fwd_from.channel_post == post.id, "the post's id in its channel")
    check(soup.forward.chat is not None and soup.forward.chat.title == "Menu", "the channel came with it")
    from_a = by_text["lunch?"]
    check(from_a.fwd_from.from_id == types.PeerUser(state["a"]["id"]), f"A wrote it: {from_a.fwd_from}")
    check(from_a.forward.sender is not None and from_a.forward.sender.username == USERS["a"][1],
          "A came with it")
    # C forwards the forward on: the first origin stays.
    again = await c.forward_messages(await c.get_entity("@" + USERS["a"][1]), from_a)
    check(again.fwd_from.from_id == types.PeerUser(state["a"]["id"]), "the first origin stays")
    # drop_author: a plain copy.
    plain = await c.forward_messages(await c.get_entity("@" + USERS["b"][1]), soup, drop_author=True)
    check(plain.fwd_from is None and plain.text == "soup of the day", "drop_author copies")
    # Into the megagroup, from C's history, read back there by A.
    group = await chat_of(c, state["a"]["group"])
    into_group = await c.forward_messages(group, soup)
    check(into_group.fwd_from.channel_post == post.id, "forwarded into the group")
    seen = (await a.get_messages(await chat_of(a, state["a"]["group"]), limit=1))[0]
    check(seen.id == into_group.id and seen.fwd_from.from_id.channel_id == news.id, "A sees it there")
    # Unknown ids: an error, not an empty answer.
    try:
        await c(functions.messages.ForwardMessagesRequest(
            from_peer=await c.get_input_entity("@" + USERS["b"][1]), id=[987654], random_id=[1],
            to_peer=await c.get_input_entity("@" + USERS["a"][1])))
        raise AssertionError("forwarding a message that does not exist succeeded")
    except Exception as e:
        check(type(e).__name__ == "MessageIdInvalidError", f"unknown id -> {type(e).__name__}")
    for x in (a, b, c):
        await x.disconnect()


async def typing(state):
    a, b, c = await client(state, "a"), await online(state, "b"), await online(state, "c")
    seen = {"b": [], "c": []}
    events_in = {"b": asyncio.Event(), "c": asyncio.Event()}

    def watch(who, x):
        @x.on(events.UserUpdate)
        async def on_update(event):
            if event.status is not None:
                return  # online status, not an action
            seen[who].append((event.chat_id, event.user_id, event.typing, event.cancel))
            events_in[who].set()

    watch("b", b)
    watch("c", c)
    ben = await a.get_entity("@" + USERS["b"][1])
    async with a.action(ben, "typing"):
        await asyncio.wait_for(events_in["b"].wait(), 15)
    check(seen["b"][0][1] == state["a"]["id"] and seen["b"][0][2], f"B sees A typing: {seen['b']}")
    for _ in range(50):
        if any(cancel for (_, _, _, cancel) in seen["b"]):
            break
        await asyncio.sleep(0.1)
    check(any(cancel for (_, _, _, cancel) in seen["b"]), f"B sees A stop: {seen['b']}")
    check(not seen["c"], f"C saw a private chat's typing: {seen['c']}")
    group = await chat_of(a, state["a"]["group"])
    await a(functions.messages.SetTypingRequest(group, types.SendMessageTypingAction()))
    await asyncio.wait_for(events_in["c"].wait(), 15)
    chat_id, user_id, is_typing, _ = seen["c"][0]
    check(user_id == state["a"]["id"] and is_typing, f"C sees A typing in the group: {seen['c']}")
    # Typing to someone who does not exist is an error.
    try:
        await a(functions.messages.SetTypingRequest(types.InputPeerUser(424242, 1), types.SendMessageTypingAction()))
        raise AssertionError("typing to nobody succeeded")
    except Exception as e:
        check("Invalid" in type(e).__name__, f"typing to nobody -> {type(e).__name__}")
    for x in (a, b, c):
        await x.disconnect()


async def status(state):
    # B watches A (they have a chat): A comes online, then leaves.
    b = await online(state, "b")
    changes = []
    changed = asyncio.Event()

    @b.on(events.UserUpdate(chats=[state["a"]["id"]]))
    async def on_update(event):
        if event.status is not None:
            changes.append(event.status)
            changed.set()

    ann = await b.get_entity("@" + USERS["a"][1])
    check(isinstance(ann.status, (types.UserStatusOffline, types.UserStatusRecently)), f"A at rest: {ann.status}")
    a = await client(state, "a")
    await a.get_me()
    await asyncio.wait_for(changed.wait(), 15)
    check(isinstance(changes[-1], types.UserStatusOnline), f"A came online: {changes}")
    ann = await b.get_entity("@" + USERS["a"][1])
    check(isinstance(ann.status, types.UserStatusOnline), f"A is shown online: {ann.status}")
    changed.clear()
    await a.disconnect()
    await asyncio.wait_for(changed.wait(), 15)
    check(isinstance(changes[-1], types.UserStatusOffline), f"A left: {changes}")
    left_at = changes[-1].was_online
    # account.updateStatus(offline=True) while connected also tells the watchers.
    a = await client(state, "a")
    await a.get_me()
    await asyncio.wait_for(changed.wait(), 15)
    changed.clear()
    await a(functions.account.UpdateStatusRequest(offline=True))
    await asyncio.wait_for(changed.wait(), 15)
    check(isinstance(changes[-1], types.UserStatusOffline), f"A said offline: {changes}")
    await a.disconnect()
    state["a"]["left_at"] = left_at.timestamp()
    save(state)
    await b.disconnect()


async def last_seen(state):
    # After a restart, A (not connected) shows as last seen, not online.
    b = await client(state, "b")
    ann = await b.get_entity("@" + USERS["a"][1])
    check(isinstance(ann.status, types.UserStatusOffline), f"A's status after a restart: {ann.status}")
    check(ann.status.was_online.timestamp() >= state["a"]["left_at"], "last seen kept")
    await b.disconnect()


async def pins(state):
    a, b = await client(state, "a"), await online(state, "b")
    pushed = []
    got = asyncio.Event()

    @b.on(events.Raw(types.UpdatePinnedMessages))
    async def on_pin(update):
        pushed.append(update)
        got.set()

    ben = await a.get_entity("@" + USERS["b"][1])
    ann = await b.get_entity("@" + USERS["a"][1])
    lunch = next(m for m in await a.get_messages(ben, limit=10) if m.text == "lunch?")
    lunch_b = next(m for m in await b.get_messages(ann, limit=10) if m.text == "lunch?")
    await a.pin_message(ben, lunch)
    await asyncio.wait_for(got.wait(), 15)
    check(pushed[0].pinned and pushed[0].messages == [lunch_b.id], f"B told of the pin: {pushed}")
    check((await a.get_messages(ben, ids=lunch.id)).pinned, "A's copy is pinned")
    check((await b.get_messages(ann, ids=lunch_b.id)).pinned, "B's copy is pinned")
    full = await b(functions.users.GetFullUserRequest(ann))
    check(full.full_user.pinned_msg_id == lunch_b.id, f"pinned_msg_id {full.full_user.pinned_msg_id}")
    # One side only: B pins the answer for itself.
    answer_b = next(m for m in await b.get_messages(ann, limit=10) if m.text == "yes, at noon")
    await b.pin_message(ann, answer_b, pm_oneside=True)
    answer_a = next(m for m in await a.get_messages(ben, limit=10) if m.text == "yes, at noon")
    check(not answer_a.pinned, "pm_oneside leaves A's copy alone")
    full = await b(functions.users.GetFullUserRequest(ann))
    check(full.full_user.pinned_msg_id == answer_b.id, "the newest pin is shown")
    # Unpin everything (both sides).
    got.clear()
    await a.unpin_message(ben)
    for _ in range(50):
        if any(not u.pinned for u in pushed):
            break
        await asyncio.sleep(0.1)
    check(any(not u.pinned for u in pushed), f"B told of the unpin: {pushed}")
    check(not (await b.get_messages(ann, ids=lunch_b.id)).pinned, "unpinned on B's side")
    try:
        await a(functions.messages.UpdatePinnedMessageRequest(ben, 987654))
        raise AssertionError("pinning a message that does not exist succeeded")
    except Exception as e:
        check(type(e).__name__ == "MessageIdInvalidError", f"unknown id -> {type(e).__name__}")
    for x in (a, b):
        await x.disconnect()


def counts(reactions):
    """A message's reactions as {emoji: (count, chosen by the viewer)}."""
    if reactions is None:
        return {}
    return {r.reaction.emoticon: (r.count, r.chosen_order is not None) for r in reactions.results}


async def reactions(state):
    a, b, c = await online(state, "a"), await client(state, "b"), await online(state, "c")
    try:
        pushed = {"a": [], "c": []}
        arrived = {"a": asyncio.Event(), "c": asyncio.Event()}

        def watch(who, x):
            @x.on(events.Raw(types.UpdateMessageReactions))
            async def on_reactions(update):
                pushed[who].append(update)
                arrived[who].set()

        watch("a", a)
        watch("c", c)

        async def told(who, msg_id, want):
            """Waits until `who` is told the reactions of `msg_id` are `want`."""
            for _ in range(150):
                seen = [u for u in pushed[who] if u.msg_id == msg_id]
                if seen and counts(seen[-1].reactions) == want:
                    return seen[-1]
                arrived[who].clear()
                try:
                    await asyncio.wait_for(arrived[who].wait(), 0.1)
                except asyncio.TimeoutError:
                    pass
            raise AssertionError(f"{who} was not told {want} for {msg_id}: {pushed[who]}")

        ben = await a.get_entity("@" + USERS["b"][1])
        ann = await b.get_entity("@" + USERS["a"][1])
        mine = await a.send_message(ben, "react to this")
        copy = (await b.get_messages(ann, limit=1))[0]
        check(copy.text == "react to this", f"B's copy: {copy.text}")

        def react(x, peer, msg_id, *emoji):
            return x(functions.messages.SendReactionRequest(
                peer=peer, msg_id=msg_id, reaction=[types.ReactionEmoji(e) for e in emoji]))

        answer = await react(b, ann, copy.id, "👍")
        own = [u for u in answer.updates if isinstance(u, types.UpdateMessageReactions)]
        check(len(own) == 1 and own[0].msg_id == copy.id, f"B's answer: {answer}")
        check(counts(own[0].reactions) == {"👍": (1, True)}, f"B sees its own: {own[0].reactions}")
        update = await told("a", mine.id, {"👍": (1, False)})
        check(update.peer == types.PeerUser(state["b"]["id"]), f"the chat with B: {update.peer}")
        recent = update.reactions.recent_reactions or []
        check([r.peer_id for r in recent] == [types.PeerUser(state["b"]["id"])], f"who: {recent}")
        got = await a.get_messages(ben, ids=mine.id)
        check(counts(got.reactions) == {"👍": (1, False)}, f"get_messages: {got.reactions}")
        # A new one replaces the old; A reacts too; B takes it back.
        await react(b, ann, copy.id, "🔥")
        await told("a", mine.id, {"🔥": (1, False)})
        check(counts((await a.get_messages(ben, ids=mine.id)).reactions) == {"🔥": (1, False)}, "replaced")
        await react(a, ben, mine.id, "🔥")
        check(counts((await b.get_messages(ann, ids=copy.id)).reactions) == {"🔥": (2, True)}, "both react")
        await react(b, ann, copy.id)
        await told("a", mine.id, {"🔥": (1, True)})
        check(counts((await b.get_messages(ann, ids=copy.id)).reactions) == {"🔥": (1, False)}, "taken back")
        # An edit keeps them: the edited message comes with its reactions.
        edited = await a.edit_message(ben, mine.id, "react to this!")
        check(counts(edited.reactions) == {"🔥": (1, True)}, f"the edit carries them: {edited.reactions}")
        # Refused: an emoji not offered, a custom emoji, two at once, an unknown message.
        for bad, error in [([types.ReactionEmoji("🦖")], "ReactionInvalidError"),
                           ([types.ReactionCustomEmoji(5368324170671202286)], "ReactionInvalidError"),
                           ([types.ReactionEmoji("👍"), types.ReactionEmoji("🔥")], "ReactionsTooManyError")]:
            try:
                await b(functions.messages.SendReactionRequest(peer=ann, msg_id=copy.id, reaction=bad))
                raise AssertionError(f"{bad} accepted")
            except Exception as e:
                check(type(e).__name__ == error, f"{bad} -> {type(e).__name__}")
        try:
            await react(b, ann, 987654, "👍")
            raise AssertionError("reacting to a message that does not exist succeeded")
        except Exception as e:
            check(type(e).__name__ == "MessageIdInvalidError", f"unknown id -> {type(e).__name__}")
        # A channel C is not in.
        menu = await c.get_entity("@lunch_menu")
        soup = (await c.get_messages(menu, limit=1))[0]
        try:
            await react(c, menu, soup.id, "👍")
            raise AssertionError("reacting in a channel one is not in succeeded")
        except Exception as e:
            check(type(e).__name__ == "ChannelPrivateError", f"not a member -> {type(e).__name__}")
        # The megagroup: B reacts to A's post, C (online) is told, then reacts too.
        post = await a.send_message(await chat_of(a, state["a"]["group"]), "vote")
        group_b, group_c = await chat_of(b, state["a"]["group"]), await chat_of(c, state["a"]["group"])
        await react(b, group_b, post.id, "👍")
        update = await told("c", post.id, {"👍": (1, False)})
        check(update.peer == types.PeerChannel(state["a"]["group"]), f"the group: {update.peer}")
        await react(c, group_c, post.id, "👍")
        seen = await c.get_messages(group_c, ids=post.id)
        check(counts(seen.reactions) == {"👍": (2, True)}, f"C sees both: {seen.reactions}")
        check(seen.reactions.can_see_list, "a small group lists who reacted")
        listed = await c(functions.messages.GetMessageReactionsListRequest(group_c, post.id, limit=10))
        check(listed.count == 2 and {u.id for u in listed.users} == {state["b"]["id"], state["c"]["id"]},
              f"getMessageReactionsList: {listed}")
        asked = await a(functions.messages.GetMessagesReactionsRequest(ben, [mine.id]))
        check([counts(u.reactions) for u in asked.updates] == [{"🔥": (1, True)}], f"getMessagesReactions: {asked}")
        offered = await a(functions.messages.GetAvailableReactionsRequest(hash=0))
        check(any(r.reaction == "👍" for r in offered.reactions) and offered.hash != 0, "the offered reactions")
        again = await a(functions.messages.GetAvailableReactionsRequest(hash=offered.hash))
        check(isinstance(again, types.messages.AvailableReactionsNotModified), f"same hash: {again}")
        state["a"]["reacted"], state["b"]["reacted"], state["a"]["voted"] = mine.id, copy.id, post.id
        save(state)
    finally:
        # Also when a check fails: clients left receiving updates keep the script running.
        for x in (a, b, c):
            await x.disconnect()


async def reactions_kept(state):
    a, b, c = await client(state, "a"), await client(state, "b"), await client(state, "c")
    ben = await a.get_entity("@" + USERS["b"][1])
    ann = await b.get_entity("@" + USERS["a"][1])
    check(counts((await a.get_messages(ben, ids=state["a"]["reacted"])).reactions) == {"🔥": (1, True)},
          "A's reaction after a restart")
    check(counts((await b.get_messages(ann, ids=state["b"]["reacted"])).reactions) == {"🔥": (1, False)},
          "on B's copy too")
    group = await chat_of(b, state["a"]["group"])
    vote = await b.get_messages(group, ids=state["a"]["voted"])
    check(counts(vote.reactions) == {"👍": (2, True)}, f"the group's after a restart: {vote.reactions}")
    # The dialog list's top message of the chat carries them too.
    top = next(d.message for d in await a.get_dialogs() if d.id == state["b"]["id"])
    check(top.id == state["a"]["reacted"] and counts(top.reactions) == {"🔥": (1, True)},
          f"the dialog's top message: {top.id} {top.reactions}")
    for x in (a, b, c):
        await x.disconnect()


async def main():
    trust_server_key()
    state = load()
    phases = {"signup": signup, "replies": replies, "restarted": restarted, "forwards": forwards,
              "typing": typing, "status": status, "last_seen": last_seen, "pins": pins,
              "reactions": reactions, "reactions_kept": reactions_kept}
    await phases[PHASE](state)
    print(PHASE, "ok")

asyncio.run(main())
