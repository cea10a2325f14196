// GramJS (npm telegram@2.26.22, layer 198) against the reference server, driven by
// server-kit/tests/peers.rs (at the same time as every other client family). Usage:
// node e2e.js PORT DATA_DIR WORK_DIR
//
// Two GramJS users (A, B) sign up (A also signs in again on a new key), chat with pushed
// updates, read history and dialogs, page a chat of 160 messages sent at once with GramJS's
// own iterator both ways, send a 3 MiB file with 4 parallel upload workers and
// download it; A creates a broadcast channel and posts, B joins, reads and gets a new post
// pushed; A creates a basic group with B and writes in it. Meanwhile a Telethon user
// (layer 229, tests/gramjs/telethon_peer.py) chats with A:
// it writes WORK_DIR/tele.ready when signed up; A writes it, it answers, A says bye.
// Every check throws; the last line printed is "gramjs ok".
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { TelegramClient, Api } = require("telegram");
const { MemorySession } = require("telegram/sessions");
const { ConnectionTCPFull } = require("telegram/network");
const { NewMessage } = require("telegram/events");
const { Logger, LogLevel } = require("telegram/extensions/Logger");
const { CustomFile } = require("telegram/client/uploads");
const { trustServerKey } = require("./server_key");

const [PORT, DATA, WORK] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const CODE = "12345";
const HOST = "127.0.0.1";

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function log(...args) {
  console.log(new Date().toISOString().slice(11, 23), ...args);
}

// GramJS dials port 80 for the main connection and 443 for exported senders whatever the
// session says (CLIENTS.md 0.6): pin the test server's address in the connection class.
class PinnedConnection extends ConnectionTCPFull {
  constructor(opts) {
    super({ ...opts, ip: HOST, port: PORT });
  }
}

async function newClient() {
  // MemorySession: StringSession cannot store ports above 32767 (CLIENTS.md 0.7).
  const session = new MemorySession();
  session.setDC(2, HOST, PORT);
  const client = new TelegramClient(session, 1, "x", {
    connection: PinnedConnection,
    connectionRetries: 3,
    baseLogger: new Logger(LogLevel.ERROR),
    autoReconnect: false,
  });
  await client.connect();
  return client;
}

async function login(client, phone, names) {
  await client.start({
    phoneNumber: async () => phone,
    phoneCode: async () => CODE,
    firstAndLastNames: async () => names,
    password: async () => {
      throw new Error("no 2FA here");
    },
    onError: async (e) => {
      throw e;
    },
  });
  return client.getMe();
}

// Resolves with the first new message `pred` accepts (pushed by the server).
function waitMessage(client, pred, what, ms = 30000) {
  return new Promise((resolve, reject) => {
    const event = new NewMessage({});
    const handler = (ev) => {
      if (pred(ev.message)) {
        clearTimeout(timer);
        client.removeEventHandler(handler, event);
        resolve(ev.message);
      }
    };
    const timer = setTimeout(() => {
      client.removeEventHandler(handler, event);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    client.addEventHandler(handler, event);
  });
}

async function waitFile(file, ms) {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return fs.readFileSync(file, "utf8");
}

async function main() {
  trustServerKey(DATA);

  // Sign up A and B; A signs in again on a second key.
  let a = await newClient();
  const meA = await login(a, "+1 555 0701", ["Gram", "A"]);
  check(meA.phone === "15550701", `A's phone is digits: ${meA.phone}`);
  await a.invoke(new Api.account.UpdateUsername({ username: "gram_a" }));
  await a.disconnect();
  a = await newClient();
  const meA2 = await login(a, "+15550701", ["ignored", "ignored"]);
  check(meA2.id.equals(meA.id), "signing in again gives the same user");
  const b = await newClient();
  const meB = await login(b, "+1 555 0702", ["Gram", "B"]);
  await b.invoke(new Api.account.UpdateUsername({ username: "gram_b" }));
  log("signed up", meA.id.toString(), meB.id.toString());

  // Chat A <-> B with pushed updates.
  const gotB = waitMessage(b, (m) => m.message === "hello b", "A's message at B");
  await a.sendMessage("gram_b", { message: "hello b" });
  const atB = await gotB;
  check(atB.senderId.equals(meA.id), "B sees A as the sender");
  const gotA = waitMessage(a, (m) => m.message === "hello a", "B's answer at A");
  await b.sendMessage(meA.id, { message: "hello a" });
  await gotA;
  log("chat ok");

  // History (newest first) and dialogs.
  const history = await a.getMessages("gram_b", { limit: 10 });
  check(history.length >= 2, `history has both messages: ${history.length}`);
  check(history[0].message === "hello a" && history[1].message === "hello b", "newest first");
  const dialogs = await a.getDialogs({ limit: 20 });
  check(dialogs.some((d) => d.entity && d.entity.id && d.entity.id.equals(meB.id)), "B in A's dialogs");
  await b.markAsRead(meA.id);
  log("history and dialogs ok");

  // 160 messages from B at once (within about a second), then A pages the whole chat with
  // GramJS's own iterator, newest first and oldest first: each message exactly once.
  const BURST = 160;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: BURST }, (_, i) => b.sendMessage(meA.id, { message: `burst ${i}` })),
  );
  const spent = (Date.now() - started) / 1000;
  for (const reverse of [false, true]) {
    const ids = [];
    const bursts = [];
    for await (const m of a.iterMessages("gram_b", { reverse })) {
      ids.push(m.id);
      if (m.message && m.message.startsWith("burst ")) bursts.push(m.message);
    }
    check(new Set(ids).size === ids.length, `no message twice (reverse ${reverse})`);
    const sorted = [...ids].sort((x, y) => (reverse ? x - y : y - x));
    check(ids.every((id, i) => id === sorted[i]), `in order (reverse ${reverse})`);
    check(
      bursts.length === BURST && new Set(bursts).size === BURST,
      `all ${BURST} paged (reverse ${reverse}): ${bursts.length}`,
    );
    check(ids.length === BURST + 2, `the whole chat (reverse ${reverse}): ${ids.length}`);
  }
  log(`paged ${BURST + 2} messages both ways (${BURST} sent in ${spent.toFixed(2)} s)`);

  // Telethon (layer 229) and GramJS (layer 198) talk through the server.
  const teleId = (await waitFile(path.join(WORK, "tele.ready"), 120000)).trim();
  const fromTele = waitMessage(
    a,
    (m) => m.message === "hi gramjs from telethon",
    "Telethon's answer at A",
  );
  await a.sendMessage("tele_g", { message: "hi telethon from gramjs" });
  const teleMsg = await fromTele;
  check(teleMsg.senderId.toString() === teleId, `Telethon's id ${teleMsg.senderId} == ${teleId}`);
  const withTele = await a.getMessages("tele_g", { limit: 5 });
  check(withTele[0].message === "hi gramjs from telethon", "Telethon's message in history");
  await a.sendMessage("tele_g", { message: "bye telethon" });
  log("telethon chat ok");

  // A 3 MiB file: uploaded with 4 parallel workers on an extra connection (md5 left empty),
  // downloaded by B on an extra connection.
  const data = crypto.randomBytes(3 * 1024 * 1024);
  const gotFile = waitMessage(b, (m) => m.media && m.message === "a file", "the file at B", 60000);
  await a.sendFile("gram_b", {
    file: new CustomFile("blob.bin", data.length, "", data),
    caption: "a file",
    forceDocument: true,
    workers: 4,
  });
  const fileMsg = await gotFile;
  const back = await b.downloadMedia(fileMsg, {});
  check(Buffer.isBuffer(back) && back.equals(data), `downloaded bytes match (${back && back.length})`);
  log("file ok");

  // A broadcast channel: A creates and posts, B joins (layer 198 answers `Updates`), reads,
  // and gets the next post pushed.
  const created = await a.invoke(
    new Api.channels.CreateChannel({ broadcast: true, title: "Gram news", about: "layer 198" }),
  );
  const channel = created.chats[0];
  check(channel.broadcast && channel.creator, "a broadcast channel A created");
  await a.invoke(new Api.channels.UpdateUsername({ channel, username: "gram_news" }));
  await a.sendMessage(channel, { message: "first post" });
  const joined = await b.invoke(new Api.channels.JoinChannel({ channel: "gram_news" }));
  check(joined.className === "Updates" || joined.className === "UpdatesCombined", `join -> ${joined.className}`);
  const posts = await b.getMessages("gram_news", { limit: 10 });
  check(posts.length >= 1 && posts[0].message === "first post", "B reads the post");
  const pushed = waitMessage(b, (m) => m.message === "second post", "the pushed post at B");
  await a.sendMessage(channel, { message: "second post" });
  await pushed;
  await b.invoke(new Api.channels.ReadHistory({ channel: "gram_news", maxId: 0 }));
  log("channel ok");

  // A basic group (layer 198 answers messages.invitedUsers too): A creates it with B, B gets
  // A's message in it, both see the members.
  const invited = await a.invoke(
    new Api.messages.CreateChat({ users: ["gram_b"], title: "Gram group" }),
  );
  const group = invited.updates.chats[0];
  check(group.className === "Chat" && group.title === "Gram group", `the group: ${group.className}`);
  const inGroup = waitMessage(b, (m) => m.message === "hello group", "A's group message at B");
  await a.sendMessage(new Api.InputPeerChat({ chatId: group.id }), { message: "hello group" });
  const groupMsg = await inGroup;
  check(
    groupMsg.peerId.className === "PeerChat" && groupMsg.peerId.chatId.equals(group.id),
    `B's copy is in the group: ${groupMsg.peerId.className}`,
  );
  const full = await b.invoke(new Api.messages.GetFullChat({ chatId: group.id }));
  check(full.fullChat.participants.participants.length === 2, "two members");
  log("group ok");

  await a.disconnect();
  await b.disconnect();
  console.log("gramjs ok");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  },
);
