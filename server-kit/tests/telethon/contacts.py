"""Telethon 1.45 against the reference server: contacts and privacy. Run in phases by
server-kit/tests/telethon_contacts.rs, which restarts the server between phases:

  signup    A, B and C sign up with names and usernames
  contacts  A imports B by phone; contacts.search finds B by first name, last name and
            username in any case (B, a contact, in my_results; C in results); getStatuses
            shows B online while B is connected; A blocks B: B's message to A fails with
            USER_IS_BLOCKED, A's to B with YOU_BLOCKED_USER, getBlocked and getFullUser show
            it; A unblocks B and messages flow both ways; B blocks A and hides its status
            from A; B hides its status (account.setPrivacy: nobody, contacts) and shows it
            again; deleteContacts removes B from A's contacts; A blocks C
  restart   after a restart C is still blocked (getBlocked, C's message refused)

State between phases (session strings, ids) lives in a JSON file. Every check raises on
failure; the last line printed is "PHASE ok".
"""
import asyncio, json, os, sys, time, traceback
from telethon import errors, events, functions, types

from common import (PHASE, check, client, load, refused, sign_up, save, trust_server_key)

PEOPLE = {
    "a": ("+1 555 0300", "Alice", "Cooper", "alice_ct"),
    "b": ("+1 555 0400", "Boris", "Brown", "bobby_ct"),
    "c": ("+1 555 0500", "Carol", "Brownie", "carol_ct"),
}


async def signup(state):
    for who, (phone, first, last, username) in PEOPLE.items():
        await sign_up(state, who, phone, first, last, username)
    save(state)


async def search(a, q):
    found = await a(functions.contacts.SearchRequest(q=q, limit=10))
    mine = [p.user_id for p in found.my_results]
    others = [p.user_id for p in found.results]
    listed = {u.id for u in found.users}
    check(set(mine + others) == listed, f"search {q!r}: users {listed} for {mine} + {others}")
    return mine, others


async def statuses(a):
    return {s.user_id: s.status for s in await a(functions.contacts.GetStatusesRequest())}


async def contacts(state):
    ids = {who: state[who]["id"] for who in PEOPLE}
    a, b, c = await client(state, "a"), await client(state, "b"), await client(state, "c")
    # Everyone learns the others' access hashes from a username lookup.
    bob = await a.get_entity("@bobby_ct")
    carol = await a.get_entity("@carol_ct")
    alice_for_b = await b.get_entity("@alice_ct")
    alice_for_c = await c.get_entity("@alice_ct")
    check(bob.id == ids["b"] and carol.id == ids["c"], "usernames resolve")

    # Import B by phone.
    imported = await a(functions.contacts.ImportContactsRequest([types.InputPhoneContact(
        client_id=7, phone=PEOPLE["b"][0], first_name="Bob", last_name="")]))
    check([(i.user_id, i.client_id) for i in imported.imported] == [(ids["b"], 7)],
          f"imported: {imported.imported}")
    listed = await a(functions.contacts.GetContactsRequest(hash=0))
    check([x.user_id for x in listed.contacts] == [ids["b"]], "B is A's contact")

    # Search by each field, in any case; contacts first.
    check(await search(a, "Bor") == ([ids["b"]], []), "by first name")
    check(await search(a, "BORIS") == ([ids["b"]], []), "by first name, upper case")
    check(await search(a, "bobby") == ([ids["b"]], []), "by username")
    check(await search(a, "@Bobby_CT") == ([ids["b"]], []), "by @username")
    check(await search(a, "brown") == ([ids["b"]], [ids["c"]]), "by last name: B mine, C not")
    check(await search(a, "carol") == ([], [ids["c"]]), "a non-contact")
    check(await search(a, "alice") == ([], []), "the searcher is left out")
    check(await search(a, "zz") == ([], []), "nobody")
    await refused(a(functions.contacts.SearchRequest(q="  ", limit=10)),
                  errors.QueryTooShortError, "an empty query")

    # B is connected: online; C has no contact entry with A, so is not listed.
    now = int(time.time())
    st = await statuses(a)
    check(set(st) == {ids["b"]}, f"statuses of A's contacts: {st}")
    check(isinstance(st[ids["b"]], types.UserStatusOnline), f"B online: {st[ids['b']]}")
    expires = int(st[ids["b"]].expires.timestamp())
    check(now + 200 <= expires <= now + 400, f"expires {expires - now}s from now")

    # A blocks B.
    check(await a(functions.contacts.BlockRequest(id=bob)) is True, "block")
    check(await a(functions.contacts.BlockRequest(id=bob)) is True, "block again")
    await refused(a(functions.contacts.BlockRequest(id=types.InputPeerSelf())),
                  errors.ContactIdInvalidError, "blocking oneself")
    await refused(b.send_message(alice_for_b, "let me in"), errors.UserIsBlockedError,
                  "B writes A, who blocked B")
    await refused(a.send_message(bob, "hello?"), errors.YouBlockedUserError,
                  "A writes B, whom A blocked")
    blocked = await a(functions.contacts.GetBlockedRequest(offset=0, limit=10))
    check(isinstance(blocked, types.contacts.Blocked), f"the whole list: {type(blocked)}")
    check([x.peer_id.user_id for x in blocked.blocked] == [ids["b"]], "getBlocked lists B")
    check(abs(int(blocked.blocked[0].date.timestamp()) - now) < 60, "blocked just now")
    check([u.id for u in blocked.users] == [ids["b"]], "with B's user")
    full = await a(functions.users.GetFullUserRequest(bob))
    check(full.full_user.blocked, "userFull.blocked")
    full_b = await b(functions.users.GetFullUserRequest(alice_for_b))
    check(not full_b.full_user.blocked, "B did not block A")
    nothing = await b(functions.contacts.GetBlockedRequest(offset=0, limit=10))
    check(nothing.blocked == [], "B's list is empty")

    # Unblocked, messages flow both ways.
    got = []
    arrived = asyncio.Event()

    @a.on(events.NewMessage(incoming=True))
    async def on_message(event):
        got.append(event.raw_text)
        arrived.set()

    await a(functions.updates.GetStateRequest())
    check(await a(functions.contacts.UnblockRequest(id=bob)) is True, "unblock")
    check(await a(functions.contacts.UnblockRequest(id=bob)) is True, "unblock again")
    await b.send_message(alice_for_b, "thanks for unblocking")
    await asyncio.wait_for(arrived.wait(), 15)
    check(got == ["thanks for unblocking"], f"pushed to A: {got}")
    sent = await a.send_message(bob, "you're welcome")
    check(sent.text == "you're welcome", "A writes B again")
    blocked = await a(functions.contacts.GetBlockedRequest(offset=0, limit=10))
    check(blocked.blocked == [], "nobody blocked")
    check(not (await a(functions.users.GetFullUserRequest(bob))).full_user.blocked, "unblocked")

    # B blocks A: A no longer sees B's status, and A's messages to B are refused.
    check(await b(functions.contacts.BlockRequest(id=alice_for_b)) is True, "B blocks A")
    st = await statuses(a)
    check(isinstance(st[ids["b"]], types.UserStatusEmpty), f"B hides from A: {st[ids['b']]}")
    await refused(a.send_message(bob, "still there?"), errors.UserIsBlockedError,
                  "A writes B, who blocked A")
    check(await b(functions.contacts.UnblockRequest(id=alice_for_b)) is True, "B unblocks A")
    st = await statuses(a)
    check(isinstance(st[ids["b"]], types.UserStatusOnline), f"B shows again: {st[ids['b']]}")

    # B hides its status: from everybody, then from non-contacts (A is not B's contact);
    # A sees "recently" though B is online, and the rule reads back; then B shows it again.
    rules = await b(functions.account.SetPrivacyRequest(
        key=types.InputPrivacyKeyStatusTimestamp(), rules=[types.InputPrivacyValueDisallowAll()]))
    check([type(r) for r in rules.rules] == [types.PrivacyValueDisallowAll], f"{rules.rules}")
    st = await statuses(a)
    check(isinstance(st[ids["b"]], types.UserStatusRecently), f"B hidden: {st[ids['b']]}")
    seen = await a.get_entity(bob)
    check(isinstance(seen.status, types.UserStatusRecently), f"B's user: {seen.status}")
    await b(functions.account.SetPrivacyRequest(
        key=types.InputPrivacyKeyStatusTimestamp(),
        rules=[types.InputPrivacyValueAllowContacts(), types.InputPrivacyValueDisallowAll()]))
    read = await b(functions.account.GetPrivacyRequest(types.InputPrivacyKeyStatusTimestamp()))
    check([type(r) for r in read.rules] == [types.PrivacyValueAllowContacts,
                                            types.PrivacyValueDisallowAll], f"{read.rules}")
    st = await statuses(a)
    check(isinstance(st[ids["b"]], types.UserStatusRecently), f"not B's contact: {st[ids['b']]}")
    await refused(b(functions.account.GetPrivacyRequest(types.InputPrivacyKeyPhoneNumber())),
                  errors.PrivacyKeyInvalidError, "a key the server does not keep")
    await b(functions.account.SetPrivacyRequest(
        key=types.InputPrivacyKeyStatusTimestamp(), rules=[types.InputPrivacyValueAllowAll()]))
    st = await statuses(a)
    check(isinstance(st[ids["b"]], types.UserStatusOnline), f"B shown again: {st[ids['b']]}")

    # B goes away: no longer online.
    await b.disconnect()
    for _ in range(50):
        st = await statuses(a)
        if not isinstance(st[ids["b"]], types.UserStatusOnline):
            break
        await asyncio.sleep(0.1)
    check(isinstance(st[ids["b"]], types.UserStatusRecently), f"B offline: {st[ids['b']]}")

    # deleteContacts: B is no contact of A's any more.
    updates = await a(functions.contacts.DeleteContactsRequest(id=[bob]))
    check(ids["b"] in [u.id for u in updates.users], "the answer carries B")
    listed = await a(functions.contacts.GetContactsRequest(hash=0))
    check(listed.contacts == [], f"A's contacts: {listed.contacts}")
    check(await search(a, "Bor") == ([], [ids["b"]]), "B is found, not as a contact")
    check(await statuses(a) == {}, "no contacts, no statuses")

    # C is blocked across the restart.
    check(await a(functions.contacts.BlockRequest(id=carol)) is True, "block C")
    await refused(c.send_message(alice_for_c, "hi"), errors.UserIsBlockedError, "C writes A")
    state["a"]["session"], state["c"]["session"] = a.session.save(), c.session.save()
    save(state)
    await a.disconnect()
    await c.disconnect()


async def restart(state):
    ids = {who: state[who]["id"] for who in PEOPLE}
    a, c = await client(state, "a"), await client(state, "c")
    blocked = await a(functions.contacts.GetBlockedRequest(offset=0, limit=10))
    check([x.peer_id.user_id for x in blocked.blocked] == [ids["c"]], "C is still blocked")
    alice = await c.get_entity("@alice_ct")
    await refused(c.send_message(alice, "after the restart"), errors.UserIsBlockedError,
                  "C writes A after the restart")
    check(await a(functions.contacts.UnblockRequest(id=await a.get_entity("@carol_ct"))), "unblock C")
    await c.send_message(alice, "at last")
    await a.disconnect()
    await c.disconnect()


async def main():
    trust_server_key()
    state = load()
    phases = {"signup": signup, "contacts": contacts, "restart": restart}
    try:
        await asyncio.wait_for(phases[PHASE](state), 120)
    except BaseException:
        # A failed check leaves clients connected, whose tasks would keep the loop alive:
        # report and leave at once.
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    print(PHASE, "ok")

asyncio.run(main())
