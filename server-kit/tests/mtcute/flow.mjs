// mtcute (npm @mtcute/node 0.30.3, layer 227, TCP intermediate) against the reference
// server, driven by server-kit/tests/peers.rs. Usage: node flow.mjs PORT DATA_DIR WORK_DIR PHONE
//
// The account PHONE exists already (mtcute signs in but never signs up; the Rust test made
// it). Its counterpart is Telethon (server-kit/tests/telethon/peer.py, @tele_p), which
// answers through pushed updates:
//   1. sign in with the login code, take the username @mtcute_a;
//   2. "ping mtcute" to @tele_p, its "pong" arrives as a new-message update;
//   3. 160 messages sent at once, then the whole chat paged by iterHistory newest first and
//      oldest first: every message seen exactly once, in order;
//   4. a 3 MiB document up; Telethon downloads it and sends it back; mtcute downloads both
//      (its own and Telethon's copy) and the bytes match;
//   5. a broadcast channel created, named, posted to and read with iterHistory; Telethon
//      joins it and reads the same posts;
//   6. "bye". Every check throws; the last line printed is "mtcute ok".
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { MemoryStorage, TelegramClient } from "@mtcute/node";
import { addPublicKey, NodeCryptoProvider } from "@mtcute/node/utils.js";
import { InputMedia } from "@mtcute/core";

const [PORT, DATA, WORK, PHONE] = [Number(process.argv[2]), process.argv[3], process.argv[4], process.argv[5]];
const HOST = "127.0.0.1";
const CODE = "12345";
const FLOOD = 160;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function log(...args) {
  console.log(new Date().toISOString().slice(11, 23), ...args);
}

async function waitFile(file, ms) {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return fs.readFileSync(file, "utf8");
}

// Resolves with the first pushed new message `pred` accepts.
function waitMessage(tg, pred, what, ms = 60000) {
  return new Promise((resolve, reject) => {
    const handler = (msg) => {
      if (pred(msg)) {
        clearTimeout(timer);
        tg.onNewMessage.remove(handler);
        resolve(msg);
      }
    };
    const timer = setTimeout(() => {
      tg.onNewMessage.remove(handler);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    tg.onNewMessage.add(handler);
  });
}

// Sends `text` to `peer` and waits for the pushed answer from it that `pred` accepts.
async function ask(tg, peer, peerId, text, pred, what, ms) {
  const answer = waitMessage(tg, (m) => m.sender.id === peerId && pred(m), what, ms);
  await tg.sendText(peer, text);
  return answer;
}

async function main() {
  // mtcute trusts only Telegram's keys and dials Telegram's DCs: add the server's key to its
  // index and give the server as DC 2 (main and media).
  const nodeCrypto = new NodeCryptoProvider();
  await nodeCrypto.initialize();
  addPublicKey(nodeCrypto, fs.readFileSync(path.join(DATA, "rsa-public.pem"), "utf8"));
  const dc = { id: 2, ipAddress: HOST, port: PORT };
  const tg = new TelegramClient({
    apiId: 1,
    apiHash: "x",
    storage: new MemoryStorage(),
    defaultDcs: { main: dc, media: { ...dc, mediaOnly: true } },
    logLevel: Number(process.env.MTCUTE_LOG_LEVEL ?? 1), // errors only unless asked
  });
  tg.onError.add((e) => log("client error:", e && e.message ? e.message : e));

  // 1. Sign in (the account exists: mtcute refuses to sign up).
  const me = await tg.start({ phone: PHONE, code: CODE, codeSentCallback: () => {} });
  check(me.phoneNumber === PHONE.replace(/\D/g, ""), `signed in as ${me.phoneNumber}`);
  await tg.setMyUsername("mtcute_a");
  log("signed in", me.id);

  // 2. Chat with Telethon, both directions pushed.
  const teleId = Number((await waitFile(path.join(WORK, "tele_p.ready"), 120000)).trim());
  const pong = await ask(tg, "tele_p", teleId, "ping mtcute", (m) => m.text.startsWith("pong"), "Telethon's pong");
  check(pong.text === "pong mtcute from @mtcute_a", `Telethon answered ${JSON.stringify(pong.text)}`);
  check(pong.chat.id === teleId && !pong.isOutgoing, "the pong is an incoming private message");
  log("chat ok");

  // 3. A flood sent at once, then the whole chat paged both ways.
  const started = Date.now();
  const sent = await Promise.all(
    Array.from({ length: FLOOD }, (_, i) => tg.sendText("tele_p", `flood ${i}`)),
  );
  const spread = Date.now() - started;
  const sentIds = new Set(sent.map((m) => m.id));
  check(sentIds.size === FLOOD, `${FLOOD} distinct ids: ${sentIds.size}`);
  const newest = [];
  for await (const m of tg.iterHistory("tele_p")) newest.push(m);
  const oldest = [];
  for await (const m of tg.iterHistory("tele_p", { reverse: true })) oldest.push(m);
  for (const [name, list, sign] of [["newest first", newest, -1], ["oldest first", oldest, 1]]) {
    const ids = list.map((m) => m.id);
    check(new Set(ids).size === ids.length, `${name}: each message once (${ids.length} seen)`);
    check(ids.every((id, i) => i === 0 || Math.sign(id - ids[i - 1]) === sign), `${name}: in order`);
    const flood = list.filter((m) => m.text.startsWith("flood "));
    check(flood.length === FLOOD && flood.every((m) => sentIds.has(m.id)), `${name}: ${flood.length} of the ${FLOOD} sent`);
    check(list.some((m) => m.text === "ping mtcute") && list.some((m) => m.text.startsWith("pong")), `${name}: the chat`);
  }
  check(newest.length === oldest.length, `both ways see the same ${newest.length} vs ${oldest.length}`);
  const dates = sent.map((m) => m.date.getTime());
  log(`history ok: ${FLOOD} sent in ${spread} ms (dates span ${(Math.max(...dates) - Math.min(...dates)) / 1000} s), ${newest.length} paged each way`);

  // 4. A file up, echoed back by Telethon, both copies down.
  const data = crypto.randomBytes(3 * 1024 * 1024);
  const digest = crypto.createHash("sha256").update(data).digest("hex");
  const echoed = waitMessage(
    tg,
    (m) => m.sender.id === teleId && m.text.startsWith("echo "),
    "Telethon's echo of the file",
    120000,
  );
  const upMsg = await tg.sendMedia("tele_p", InputMedia.document(data, { fileName: "mt.bin" }), { caption: "a file" });
  const echo = await echoed;
  check(echo.text === `echo ${digest} ${data.length}`, `Telethon downloaded the same bytes: ${echo.text}`);
  check(echo.media && echo.media.type === "document", `the echo is a document: ${echo.media && echo.media.type}`);
  const mine = Buffer.from(await tg.downloadAsBuffer(upMsg.media));
  check(mine.equals(data), `own upload downloads byte-exact (${mine.length})`);
  const theirs = Buffer.from(await tg.downloadAsBuffer(echo.media));
  check(theirs.equals(data), `Telethon's copy downloads byte-exact (${theirs.length})`);
  log("file ok");

  // 5. A channel: created, named, posted to, read; Telethon joins and reads it.
  const channel = await tg.createChannel({ title: "Mt news", description: "layer 227" });
  check(channel.chatType === "channel", `a channel: ${channel.chatType}`);
  await tg.setChatUsername(channel.id, "mt_news");
  await tg.sendText(channel.id, "first post");
  await tg.sendText(channel.id, "second post");
  const posts = [];
  for await (const m of tg.iterHistory(channel.id)) if (m.text) posts.push(m.text);
  check(posts.join("|") === "second post|first post", `mtcute reads its channel: ${posts}`);
  const read = await ask(tg, "tele_p", teleId, "join @mt_news", (m) => m.text.startsWith("read:"), "Telethon's reading", 60000);
  check(read.text === "read: second post | first post", `Telethon read ${JSON.stringify(read.text)}`);
  const full = await tg.getFullChat("mt_news");
  check(full.id === channel.id && full.username === "mt_news", `resolved @mt_news: ${full.id}`);
  log("channel ok");

  const bye = await ask(tg, "tele_p", teleId, "bye", (m) => m.text.startsWith("bye"), "Telethon's bye");
  check(bye.text === "bye @mtcute_a", `bye: ${bye.text}`);
  await tg.destroy();
  console.log("mtcute ok");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  },
);
