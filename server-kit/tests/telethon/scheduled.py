"""Telethon 1.45 against the reference server: scheduled messages. Run in phases by
server-kit/tests/telethon_scheduled.rs, which kills the server (-9) between phases:

  signup    A, B and C sign up; A makes a basic group with B
  schedule  A schedules (send_message / send_file with schedule=): a text to B in 3 s, which
            B receives then and not before, and which leaves A's scheduled list; a photo to
            B and a text to the group, both received in time; one deleted before its time
            (never arrives), one sent at once with sendScheduledMessages; A's other session
            sees the new scheduled message; the errors for a past date and for a bot-less
            third party (C cannot see A's list); last, a text due while the server is down
  restart   after kill -9 and a wait past that date: B finds the message due during the
            outage, once, sent after its date; A's scheduled lists are empty

State between phases (session strings, ids, dates) lives in a JSON file. Every check
raises on failure; the last line printed is "PHASE ok".
"""
import asyncio, os, sys, time, traceback
from datetime import datetime, timedelta, timezone
from telethon import errors, functions, types

from common import (DATA, PHASE, STATE, Inbox, check, client, load, refused, save, sign_up,
                    trust_server_key)

PEOPLE = {
    "a": ("+1 555 0710", "Ann", "sched_ann"),
    "b": ("+1 555 0720", "Ben", "sched_ben"),
    "c": ("+1 555 0730", "Cid", "sched_cid"),
}

# How far ahead the message due during the outage is scheduled (the Rust test waits longer).
OUTAGE_DUE_SECONDS = 6


async def signup(state):
    for who, (phone, first, username) in PEOPLE.items():
        await sign_up(state, who, phone, first, "", username)
    a = await client(state, "a")
    created = await a(functions.messages.CreateChatRequest(
        users=[PEOPLE["b"][2]], title="Plans"))
    updates = getattr(created, "updates", created)
    state["chat"] = updates.chats[0].id
    await a.disconnect()
    save(state)


def texts(messages):
    return [m.message for m in messages]


async def schedule(state):
    a, a2, b, c = [await client(state, w) for w in ("a", "a", "b", "c")]
    inbox_b, inbox_a2 = Inbox(b), Inbox(a2)
    await b.get_dialogs()
    await a2.get_dialogs()
    ben = await a.get_input_entity(PEOPLE["b"][2])
    chat = types.InputPeerChat(state["chat"])

    start = time.time()
    soon = await a.send_message(ben, "in three seconds", schedule=timedelta(seconds=3))
    check(soon.message == "in three seconds" and soon.out, f"the scheduled message: {soon}")
    check(abs(soon.date.timestamp() - (start + 3)) <= 2, f"dated when due: {soon.date}")
    listed = await a.get_messages(ben, scheduled=True)
    check(texts(listed) == ["in three seconds"], f"A's scheduled list: {texts(listed)}")
    # A's other session hears of it (updateNewScheduledMessage).
    await inbox_a2.wait_for("A's other session sees the scheduled message", lambda s: [
        u for u in s.raw if isinstance(u, types.UpdateNewScheduledMessage)
        and u.message.message == "in three seconds"])

    photo = os.path.join(os.path.dirname(STATE), "photo.png")
    await a.send_file(ben, photo, caption="a photo later", schedule=timedelta(seconds=3))
    await a.send_message(chat, "to the group later", schedule=timedelta(seconds=3))
    gone = await a.send_message(ben, "never sent", schedule=timedelta(seconds=4))
    deleted = await a(functions.messages.DeleteScheduledMessagesRequest(ben, [gone.id]))
    check(any(isinstance(u, types.UpdateDeleteScheduledMessages) and gone.id in u.messages
              for u in deleted.updates), f"the delete's answer: {deleted}")
    now = await a.send_message(ben, "sent at once", schedule=timedelta(hours=1))
    await a(functions.messages.SendScheduledMessagesRequest(ben, [now.id]))
    got_now = await inbox_b.message("the message sent at once", "sent at once")
    check(time.time() - start < 3, "sendScheduledMessages sends at once")
    check(got_now.sender_id == state["a"]["id"], f"from A: {got_now.sender_id}")

    await refused(a.send_message(ben, "in the past",
                                 schedule=datetime.now(timezone.utc) - timedelta(minutes=5)),
                  errors.RPCError, "a date in the past")
    await refused(a.send_message(ben, "too late", schedule=timedelta(days=400)),
                  errors.RPCError, "more than a year ahead")
    # C is not in the group: no list to see there.
    await refused(c.get_messages(chat, scheduled=True), errors.RPCError,
                  "C reading a group it is not in")

    got = await inbox_b.message("the text due in 3 s", "in three seconds")
    check(time.time() >= start + 3 - 1, "not sent before its time")
    check(got.date.timestamp() >= soon.date.timestamp() - 1, f"sent at its date: {got.date}")
    pic = await inbox_b.message("the scheduled photo", "a photo later")
    check(isinstance(pic.media, types.MessageMediaPhoto), f"a photo: {pic.media}")
    data = await b.download_media(pic, file=bytes)
    check(data and len(data) > 100, "the photo downloads")
    in_group = await inbox_b.message("the group's scheduled text", "to the group later")
    check(in_group.chat_id == -state["chat"], f"in the group: {in_group.chat_id}")

    left = await a.get_messages(ben, scheduled=True)
    check(texts(left) == [], f"sent ones leave the list: {texts(left)}")
    await asyncio.sleep(1.5)
    check("never sent" not in texts(inbox_b.messages), "the deleted one never arrives")
    check(texts(inbox_b.messages).count("in three seconds") == 1, "sent once")

    due = await a.send_message(ben, "due while down",
                               schedule=timedelta(seconds=OUTAGE_DUE_SECONDS))
    state["due"] = int(due.date.timestamp())
    listed = await a.get_messages(ben, scheduled=True)
    check(texts(listed) == ["due while down"], f"kept for later: {texts(listed)}")
    for x in (a, a2, b, c):
        await x.disconnect()
    save(state)


async def restart(state):
    a, b = await client(state, "a"), await client(state, "b")
    check(time.time() > state["due"], "the Rust test waits past the due date")
    ann = await b.get_input_entity(PEOPLE["a"][2])
    found = []
    for _ in range(100):
        history = await b.get_messages(ann, limit=20)
        found = [m for m in history if m.message == "due while down"]
        if found:
            break
        await asyncio.sleep(0.1)
    check(len(found) == 1, f"the message due during the outage arrives once: {texts(history)}")
    check(found[0].date.timestamp() >= state["due"], "sent after its date")
    check(texts(history).count("in three seconds") == 1, "nothing sent twice after the restart")
    ben = await a.get_input_entity(PEOPLE["b"][2])
    check(await a.get_messages(ben, scheduled=True) == [], "A's list is empty")
    chat = types.InputPeerChat(state["chat"])
    check(await a.get_messages(chat, scheduled=True) == [], "A's group list is empty")
    for x in (a, b):
        await x.disconnect()


async def main():
    trust_server_key()
    state = load()
    await {"signup": signup, "schedule": schedule, "restart": restart}[PHASE](state)
    print(f"{PHASE} ok")


try:
    asyncio.run(main())
except Exception:
    traceback.print_exc()
    sys.exit(1)
