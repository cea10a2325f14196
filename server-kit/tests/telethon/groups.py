"""Telethon 1.45 against the reference server: basic groups. Run in phases by
server-kit/tests/telethon_groups.rs, which kills and restarts the server between phases:

  signup   A, B, C and D sign up with usernames
  groups   A creates "Team" with B and C (messages.createChat); B and C get the messages A
           sends as NewMessage events in the chat; B replies and every member's copy names
           their own copy of the replied message; typing shows as updateChatUserTyping;
           C's read receipt reaches the senders; forwards out of and into the group; B pins
           A's message for everyone (a notice replying to it, chatFull.pinned_msg_id) and C
           unpins all; B pins dialogs (toggleDialogPin, reorderPinnedDialogs,
           getPinnedDialogs, on top of the first page of getDialogs); an edit and a revoking
           delete reach every
           member's copy;
           getFullChat lists the members with A as creator; the title changes
           (editChatTitle, the ChatAction event); A adds D, who gets the chat and its next
           messages (a second add: USER_ALREADY_PARTICIPANT); A removes C, who sees it and
           can no longer write (CHAT_ID_INVALID); dialogs list the group; a second chat is
           migrated to a megagroup (migrateChat) that B can write to, and the old chat takes
           nothing more; A pins B's post there (B, no admin, may not); a profile photo
           uploaded, seen and downloaded, deleted; searchGlobal
           finds messages of the group and the megagroup; drafts in the group and a private
           chat, one cleared by a send
  restart  after kill -9: the history is whole on every member's side (service messages
           included), B catches up with what A sent while B was away, C sees the chat as
           forbidden; A's draft is still there (getAllDrafts, the dialog)

State between phases (session strings, ids) lives in a JSON file. Every check raises on
failure; the last line printed is "PHASE ok".
"""
import asyncio, json, os, sys, traceback
from telethon import errors, events, functions, types

from common import (PHASE, STATE, Inbox, check, client, load, refused, sign_up, save,
                    trust_server_key)

PEOPLE = {
    "a": ("+1 555 0610", "Ann", "groups_ann"),
    "b": ("+1 555 0620", "Ben", "groups_ben"),
    "c": ("+1 555 0630", "Cid", "groups_cid"),
    "d": ("+1 555 0640", "Dee", "groups_dee"),
}


async def signup(state):
    for who, (phone, first, username) in PEOPLE.items():
        await sign_up(state, who, phone, first, "", username)
    save(state)


async def groups(state):
    ids = {who: state[who]["id"] for who in PEOPLE}
    a, b, c, d = [await client(state, who) for who in "abcd"]
    inbox = {who: Inbox(x) for who, x in zip("abcd", (a, b, c, d))}
    for x in (a, b, c, d):
        await x(functions.updates.GetStateRequest())
    ben = await a.get_entity("@groups_ben")
    cid = await a.get_entity("@groups_cid")
    dee = await a.get_entity("@groups_dee")

    # A creates the group: everyone gets the service message.
    invited = await a(functions.messages.CreateChatRequest(users=[ben, cid], title="Team"))
    check(isinstance(invited, types.messages.InvitedUsers), f"createChat answers {invited}")
    chats = [x for x in invited.updates.chats if isinstance(x, types.Chat)]
    check(len(chats) == 1 and chats[0].title == "Team", f"the chat: {invited.updates.chats}")
    chat = chats[0]
    check(chat.creator and chat.participants_count == 3 and chat.version == 1, f"{chat}")
    state["chat"] = chat.id
    peer = types.InputPeerChat(chat.id)
    for who in "bc":
        created = await inbox[who].action(f"{who}: the ChatCreate message",
                                          types.MessageActionChatCreate)
        check(created.action.title == "Team", f"{who}: {created.action}")
        check(sorted(created.action.users) == sorted([ids["a"], ids["b"], ids["c"]]),
              f"{who}: {created.action.users}")
        check(created.peer_id == types.PeerChat(chat.id), f"{who}: {created.peer_id}")

    # A writes; B and C get it in the chat.
    sent = await a.send_message(peer, "hello team")
    check(sent.peer_id == types.PeerChat(chat.id) and sent.out, f"A's copy: {sent}")
    got = {}
    for who in "bc":
        got[who] = await inbox[who].message(f"{who}: A's message", "hello team")
        check(got[who].chat_id == -chat.id, f"{who}: event chat {got[who].chat_id}")
        check(got[who].sender_id == ids["a"] and not got[who].out, f"{who}: sender")

    # B replies to its copy; each member's copy names their own copy of A's message.
    await b.send_message(peer, "hi Ann", reply_to=got["b"].id)
    reply_a = await inbox["a"].message("A: B's reply", "hi Ann")
    check(reply_a.reply_to_msg_id == sent.id, f"A's reply header {reply_a.reply_to_msg_id}")
    reply_c = await inbox["c"].message("C: B's reply", "hi Ann")
    check(reply_c.reply_to_msg_id == got["c"].id, f"C's reply header {reply_c.reply_to_msg_id}")
    replied = await c.get_messages(peer, ids=types.InputMessageReplyTo(reply_c.id))
    check(replied is not None and replied.message == "hello team", f"get_reply: {replied}")

    # C reads the chat: A and B see their messages read.
    await c.send_read_acknowledge(peer, max_id=reply_c.id)
    for who, mine in (("a", sent.id), ("b", None)):
        outbox = await inbox[who].wait_for(f"{who}: read by C", lambda s: [
            u for u in s.raw
            if isinstance(u, types.UpdateReadHistoryOutbox) and u.peer == types.PeerChat(chat.id)])
        if mine is not None:
            check(outbox[-1].max_id == mine, f"A's outbox read up to {outbox[-1].max_id}")

    # Forwards: from the group into a private chat, and from a private chat into the group.
    dee_for_b = await b.get_entity("@groups_dee")
    await b.forward_messages(dee_for_b, got["b"].id, peer)
    fwd_d = await inbox["d"].message("D: the forward from the group", "hello team")
    check(fwd_d.fwd_from and fwd_d.fwd_from.from_id == types.PeerUser(ids["a"]),
          f"D's forward header: {fwd_d.fwd_from}")
    private = await d.send_message(await d.get_entity("@groups_ben"), "from Dee")
    await inbox["b"].message("B: Dee's private message", "from Dee")
    await b.forward_messages(peer, [m.id for m in inbox["b"].messages if m.message == "from Dee"],
                             dee_for_b)
    fwd_c = await inbox["c"].wait_for("C: the forward into the group", lambda s: [
        m for m in s.messages if m.message == "from Dee" and m.chat_id == -chat.id])
    check(fwd_c[0].fwd_from.from_id == types.PeerUser(ids["d"]) and fwd_c[0].sender_id == ids["b"],
          f"C's forward: {fwd_c[0]}")
    check(private.out, "D's own copy")

    # Typing.
    await c(functions.messages.SetTypingRequest(peer, types.SendMessageTypingAction()))
    typing = await inbox["a"].wait_for("A: C typing", lambda s: [
        u for u in s.raw if isinstance(u, types.UpdateChatUserTyping)])
    check(typing[0].chat_id == chat.id and typing[0].from_id == types.PeerUser(ids["c"]),
          f"typing: {typing[0]}")

    # B pins A's message (by B's copy): every member's copy is pinned, with a notice that
    # replies to it; C unpins everything.
    notice = await b.pin_message(peer, got["b"].id)
    check(isinstance(notice.action, types.MessageActionPinMessage), f"B's notice: {notice}")
    check(notice.reply_to_msg_id == got["b"].id, f"B's notice replies to {notice.reply_to_msg_id}")
    pinned_c = await inbox["c"].action("C: the pin notice", types.MessageActionPinMessage)
    check(pinned_c.reply_to.reply_to_msg_id == got["c"].id, f"C's notice: {pinned_c}")
    await inbox["a"].wait_for("A: updatePinnedMessages", lambda s: [
        u for u in s.raw if isinstance(u, types.UpdatePinnedMessages) and u.pinned
        and u.messages == [sent.id] and u.peer == types.PeerChat(chat.id)])
    full_c = await c(functions.messages.GetFullChatRequest(chat.id))
    check(full_c.full_chat.pinned_msg_id == got["c"].id, f"C's pinned: {full_c.full_chat}")
    pinned_a = await a.get_messages(peer, ids=sent.id)
    check(pinned_a.pinned, "A's copy is pinned")
    await c.unpin_message(peer)
    await inbox["b"].wait_for("B: the unpin", lambda s: [
        u for u in s.raw if isinstance(u, types.UpdatePinnedMessages) and not u.pinned])
    full_b = await b(functions.messages.GetFullChatRequest(chat.id))
    check(full_b.full_chat.pinned_msg_id is None, f"nothing pinned: {full_b.full_chat}")

    # A edits then revokes a message: every member's copy changes, then goes.
    typo = await a.send_message(peer, "tpyo")
    typo_b = await inbox["b"].message("B: the typo", "tpyo")
    await a.edit_message(peer, typo.id, "typo")
    edited = await inbox["b"].wait_for("B: the edit", lambda s: [
        u.message for u in s.raw
        if isinstance(u, types.UpdateEditMessage) and u.message.id == typo_b.id])
    check(edited[0].message == "typo" and edited[0].edit_date, f"B's edited copy: {edited[0]}")
    await a.delete_messages(peer, [typo.id], revoke=True)
    await inbox["b"].wait_for("B: the deletion", lambda s: [
        u for u in s.raw
        if isinstance(u, types.UpdateDeleteMessages) and typo_b.id in u.messages])
    check(await b.get_messages(peer, ids=typo_b.id) is None, "B's copy is gone")

    # The full chat.
    full = await b(functions.messages.GetFullChatRequest(chat.id))
    parts = full.full_chat.participants.participants
    check({p.user_id for p in parts} == {ids["a"], ids["b"], ids["c"]}, f"members: {parts}")
    creator = [p for p in parts if isinstance(p, types.ChatParticipantCreator)]
    check([p.user_id for p in creator] == [ids["a"]], f"creator: {creator}")
    check({u.id for u in full.users} >= {ids["a"], ids["b"], ids["c"]}, "with the users")
    found = await b(functions.messages.GetChatsRequest(id=[chat.id]))
    check([x.title for x in found.chats] == ["Team"], f"getChats: {found.chats}")

    # A new title.
    await b(functions.messages.EditChatTitleRequest(chat.id, "Team Two"))
    renamed = await inbox["a"].action("A: the new title", types.MessageActionChatEditTitle)
    check(renamed.action.title == "Team Two", f"{renamed.action}")
    await refused(b(functions.messages.EditChatTitleRequest(chat.id, "Team Two")),
                  errors.ChatNotModifiedError, "the same title")

    # A adds D, who then gets the chat's messages.
    await a(functions.messages.AddChatUserRequest(chat.id, dee, fwd_limit=0))
    added = await inbox["d"].action("D: added", types.MessageActionChatAddUser)
    check(added.action.users == [ids["d"]], f"{added.action}")
    await refused(a(functions.messages.AddChatUserRequest(chat.id, dee, fwd_limit=0)),
                  errors.UserAlreadyParticipantError, "adding D twice")
    await a.send_message(peer, "welcome Dee")
    await inbox["d"].message("D: the next message", "welcome Dee")

    # A removes C: C sees it and can no longer write.
    await a(functions.messages.DeleteChatUserRequest(chat.id, cid))
    removed = await inbox["c"].action("C: removed", types.MessageActionChatDeleteUser)
    check(removed.action.user_id == ids["c"], f"{removed.action}")
    await refused(c.send_message(peer, "let me back"), errors.ChatIdInvalidError,
                  "C writes after removal")
    await refused(c(functions.messages.DeleteChatUserRequest(chat.id, types.InputUser(ids["b"], 0))),
                  errors.ChatIdInvalidError, "C removes B after removal")

    # Dialogs list the group with its new title.
    dialogs = await b.get_dialogs()
    groups_ = [x for x in dialogs if x.is_group and isinstance(x.entity, types.Chat)]
    check([x.name for x in groups_] == ["Team Two"], f"B's groups: {[x.name for x in groups_]}")
    check(groups_[0].message.action == types.MessageActionChatDeleteUser(ids["c"]),
          f"top: C's removal, not {groups_[0].message}")

    # B pins the group and the private chat with Dee on top of its dialog list (the last
    # pinned on top), sees them first on the first page only, reorders, unpins.
    dee_b = await b.get_input_entity("@groups_dee")
    await b(functions.messages.ToggleDialogPinRequest(types.InputDialogPeer(peer), pinned=True))
    await b(functions.messages.ToggleDialogPinRequest(types.InputDialogPeer(dee_b), pinned=True))
    dialogs = await b.get_dialogs()
    top = [(x.id, x.pinned) for x in dialogs]
    check(top[:2] == [(ids["d"], True), (-chat.id, True)], f"B's pinned dialogs first: {top}")
    every = [x.id for x in dialogs]
    check(len(every) == len(set(every)), f"each dialog once: {every}")
    page = await b(functions.messages.GetDialogsRequest(
        offset_date=dialogs[-1].date, offset_id=0, offset_peer=types.InputPeerEmpty(),
        limit=10, hash=0))
    check(all(not d.pinned for d in page.dialogs), "no pins past the first page")
    await b(functions.messages.ReorderPinnedDialogsRequest(
        folder_id=0, order=[types.InputDialogPeer(peer)], force=True))
    pinned = await b(functions.messages.GetPinnedDialogsRequest(folder_id=0))
    check([d.peer for d in pinned.dialogs] == [types.PeerChat(chat.id)],
          f"B's pins after the reorder: {pinned.dialogs}")
    await b(functions.messages.ToggleDialogPinRequest(types.InputDialogPeer(peer), pinned=False))
    check(not any(x.pinned for x in await b.get_dialogs()), "nothing pinned")

    # A second chat becomes a megagroup.
    big = await a(functions.messages.CreateChatRequest(users=[ben], title="Big"))
    big_id = big.updates.chats[0].id
    migrated = await a(functions.messages.MigrateChatRequest(big_id))
    channels = [x for x in migrated.chats if isinstance(x, types.Channel)]
    check(len(channels) == 1 and channels[0].megagroup and channels[0].title == "Big",
          f"the megagroup: {migrated.chats}")
    old = [x for x in migrated.chats if isinstance(x, types.Chat)]
    check(old and old[0].deactivated and old[0].migrated_to.channel_id == channels[0].id,
          f"the old chat: {old}")
    await inbox["b"].action("B: the migration", types.MessageActionChatMigrateTo)
    mega = await b.get_entity(types.PeerChannel(channels[0].id))
    await b.send_message(mega, "in the megagroup")
    await inbox["a"].message("A: B in the megagroup", "in the megagroup")
    await refused(b.send_message(types.InputPeerChat(big_id), "old place"),
                  errors.ChatIdInvalidError, "writing to a migrated chat")

    # A (the megagroup's creator) pins B's post for everyone: B gets the pin and the notice,
    # channelFull names it; B, no admin, may not pin; A unpins all.
    posted = await inbox["a"].message("A: B's post", "in the megagroup")
    mega_a = await a.get_input_entity(types.PeerChannel(channels[0].id))
    await a.pin_message(mega_a, posted.id, notify=True)
    notices = await inbox["b"].wait_for("B: the megagroup's pin notice", lambda s: [
        u.message for u in s.raw if isinstance(u, types.UpdateNewChannelMessage)
        and isinstance(getattr(u.message, "action", None), types.MessageActionPinMessage)])
    notice = notices[0]
    check(notice.reply_to.reply_to_msg_id == posted.id and notice.peer_id.channel_id == mega.id,
          f"the notice: {notice}")
    await inbox["b"].wait_for("B: updatePinnedChannelMessages", lambda s: [
        u for u in s.raw if isinstance(u, types.UpdatePinnedChannelMessages) and u.pinned
        and u.messages == [posted.id]])
    full_mega = await b(functions.channels.GetFullChannelRequest(mega))
    check(full_mega.full_chat.pinned_msg_id == posted.id, f"pinned: {full_mega.full_chat}")
    check((await b.get_messages(mega, ids=posted.id)).pinned, "the post is pinned")
    await refused(b.pin_message(mega, posted.id), errors.ChatAdminRequiredError,
                  "a member pinning in the megagroup")
    await a.unpin_message(mega_a)
    full_mega = await b(functions.channels.GetFullChannelRequest(mega))
    check(full_mega.full_chat.pinned_msg_id is None, "unpinned")

    # Global search: every chat of A's at once, the megagroup's posts too.
    found = [m.message async for m in a.iter_messages(None, search="megagroup")]
    check(found == ["in the megagroup"], f"searchGlobal megagroup: {found}")
    found = [(m.message, m.chat_id) async for m in a.iter_messages(None, search="hello")]
    check(found == [("hello team", -chat.id)], f"searchGlobal hello: {found}")
    found = [m.message async for m in a.iter_messages(None, search="Team")]
    check(found == ["hello team"], f"service messages are not found: {found}")

    # A profile photo: A uploads one; B sees it on A's user and downloads it (JPEG sizes
    # made by the server); A's list has it; once deleted, A has none.
    avatar = os.path.join(os.path.dirname(STATE), "avatar.png")
    uploaded = await a(functions.photos.UploadProfilePhotoRequest(file=await a.upload_file(avatar)))
    check(isinstance(uploaded.photo, types.Photo), f"the new photo: {uploaded.photo}")
    check(uploaded.users[0].photo.photo_id == uploaded.photo.id, "A's user carries it")
    ann = await b.get_entity("@groups_ann")
    check(ann.photo and ann.photo.photo_id == uploaded.photo.id, f"B sees A's photo: {ann.photo}")
    for big in (False, True):
        data = await b.download_profile_photo(ann, file=bytes, download_big=big)
        check(data and data[:2] == b"\xff\xd8", f"a JPEG (big {big}): {data[:4] if data else data}")
    photos = await b.get_profile_photos(ann)
    check([p.id for p in photos] == [uploaded.photo.id], f"A's photos: {photos}")
    p = uploaded.photo
    deleted = await a(functions.photos.DeletePhotosRequest(
        id=[types.InputPhoto(p.id, p.access_hash, p.file_reference)]))
    check(deleted == [p.id], f"deleted: {deleted}")
    ann = await b.get_entity("@groups_ann")
    check(not ann.photo or isinstance(ann.photo, types.UserProfilePhotoEmpty), f"{ann.photo}")

    # Drafts: one per chat; a send with clear_draft clears that chat's.
    await a(functions.messages.SaveDraftRequest(peer=peer, message="half typed"))
    await a(functions.messages.SaveDraftRequest(peer=ben, message="for Ben"))
    texts = sorted(d.text for d in await a.get_drafts())
    check(texts == ["for Ben", "half typed"], f"A's drafts: {texts}")
    await a.send_message(ben, "sent at last", clear_draft=True)
    texts = [d.text for d in await a.get_drafts()]
    check(texts == ["half typed"], f"A's drafts after the send: {texts}")

    for x in (a, b, c, d):
        await x.disconnect()
    # A writes while B is away (B catches up in the next phase).
    a = await client(state, "a")
    await a.send_message(peer, "while you were away")
    await a.disconnect()
    save(state)


async def restart(state):
    ids = {who: state[who]["id"] for who in PEOPLE}
    peer = types.InputPeerChat(state["chat"])
    b = await client(state, "b")
    history = await b.get_messages(peer, limit=20)
    texts = [m.message for m in history if not m.action]
    check(texts == ["while you were away", "welcome Dee", "from Dee", "hi Ann", "hello team"],
          f"B's history: {texts}")
    actions = [type(m.action).__name__ for m in history if m.action]
    check(actions == ["MessageActionChatDeleteUser", "MessageActionChatAddUser",
                      "MessageActionChatEditTitle", "MessageActionPinMessage",
                      "MessageActionChatCreate"],
          f"B's service messages: {actions}")
    diff = await b(functions.updates.GetDifferenceRequest(pts=1, date=0, qts=0))
    check(any(getattr(m, "message", None) == "while you were away" for m in diff.new_messages),
          "getDifference carries the message sent while B was away")
    check(any(isinstance(x, types.Chat) and x.id == state["chat"] for x in diff.chats),
          f"with the chat: {diff.chats}")
    c = await client(state, "c")
    found = await c(functions.messages.GetChatsRequest(id=[state["chat"]]))
    check(isinstance(found.chats[0], types.ChatForbidden), f"C's view: {found.chats}")
    history_c = await c.get_messages(peer, limit=20)
    check(history_c[0].action == types.MessageActionChatDeleteUser(ids["c"]),
          f"C's last message is the removal: {history_c[0]}")
    a = await client(state, "a")
    texts = [d.text for d in await a.get_drafts()]
    check(texts == ["half typed"], f"A's drafts after the restart: {texts}")
    team = [x for x in await a.get_dialogs() if x.id == -state["chat"]]
    check(team and team[0].draft.text == "half typed", "the group's dialog shows the draft")
    for x in (a, b, c):
        await x.disconnect()


async def main():
    trust_server_key()
    state = load()
    await {"signup": signup, "groups": groups, "restart": restart}[PHASE](state)
    print(f"{PHASE} ok")


try:
    asyncio.run(main())
except Exception:
    traceback.print_exc()
    sys.exit(1)
