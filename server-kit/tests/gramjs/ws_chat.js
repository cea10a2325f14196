// GramJS (npm telegram@2.26.22, layer 198) over WebSocket: ConnectionTCPObfuscated (the
// obfuscated abridged transport) on the `PromisedWebSockets` network socket, as in a browser,
// against the reference server; driven by server-kit/tests/websocket.rs. Usage:
// node ws_chat.js PORT DATA_DIR WORK_DIR
//
// PromisedWebSockets dials ws://IP:PORT/apiws with the subprotocol "binary" (wss://…:443
// only for port 443). A GramJS user signs up, chats with a Telethon user on TCP
// (tests/gramjs/telethon_peer.py: it writes WORK_DIR/tele.ready, then answers), and sends
// itself a 1.5 MiB file that it downloads again (the server's answers then exceed one
// WebSocket message). Every check throws; the last line printed is "gramjs ws ok".
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { TelegramClient } = require("telegram");
const { MemorySession } = require("telegram/sessions");
const { ConnectionTCPObfuscated } = require("telegram/network");
const { PromisedWebSockets } = require("telegram/extensions");
const { NewMessage } = require("telegram/events");
const { Logger, LogLevel } = require("telegram/extensions/Logger");
const { CustomFile } = require("telegram/client/uploads");
const { Api } = require("telegram");
const { trustServerKey } = require("./server_key");

const [PORT, DATA, WORK] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const HOST = "127.0.0.1";

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function log(...args) {
  console.log(new Date().toISOString().slice(11, 23), ...args);
}

// GramJS dials port 80 for the main connection and 443 for exported senders (uploads,
// downloads) whatever the session says (CLIENTS.md 0.6): pin the test server's port.
class PinnedObfuscated extends ConnectionTCPObfuscated {
  constructor(opts) {
    super({ ...opts, ip: HOST, port: PORT });
  }
}

// Resolves with the first new message `pred` accepts (pushed by the server).
function waitMessage(client, pred, what, ms = 60000) {
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
  const socket = new PromisedWebSockets();
  check(socket.getWebSocketLink(HOST, PORT, false) === `ws://${HOST}:${PORT}/apiws`,
    `the URL GramJS dials: ${socket.getWebSocketLink(HOST, PORT, false)}`);

  // MemorySession: StringSession cannot store ports above 32767 (CLIENTS.md 0.7).
  const session = new MemorySession();
  session.setDC(2, HOST, PORT);
  const client = new TelegramClient(session, 1, "x", {
    connection: PinnedObfuscated,
    networkSocket: PromisedWebSockets,
    useWSS: false,
    connectionRetries: 3,
    baseLogger: new Logger(LogLevel.ERROR),
    autoReconnect: false,
  });
  await client.connect();
  check(client._sender._connection.socket instanceof PromisedWebSockets, "connected over WebSocket");
  await client.start({
    phoneNumber: async () => "+1 555 0701",
    phoneCode: async () => "12345",
    firstAndLastNames: async () => ["Gram", "A"],
    password: async () => {
      throw new Error("no 2FA here");
    },
    onError: async (e) => {
      throw e;
    },
  });
  const me = await client.getMe();
  check(me.phone === "15550701", `phone ${me.phone}`);
  await client.invoke(new Api.account.UpdateUsername({ username: "gram_a" }));
  log("signed up over WebSocket", me.id.toString());

  // Chat with Telethon (on TCP) through pushed updates both ways.
  const teleId = (await waitFile(path.join(WORK, "tele.ready"), 120000)).trim();
  const answer = waitMessage(client, (m) => m.message === "hi gramjs from telethon", "Telethon's answer");
  await client.sendMessage("tele_g", { message: "hi telethon from gramjs" });
  const got = await answer;
  check(got.senderId.toString() === teleId, `answer from ${got.senderId} (Telethon is ${teleId})`);
  await client.sendMessage("tele_g", { message: "bye telethon" });
  const history = await client.getMessages("tele_g", { limit: 3 });
  check(history.map((m) => m.message).join("|") === "bye telethon|hi gramjs from telethon|hi telethon from gramjs",
    `history ${history.map((m) => m.message)}`);
  log("chatted with Telethon");

  // A file both ways over WebSocket: 1.5 MiB up (in 512 KiB parts) and down again.
  const data = crypto.randomBytes(1536 * 1024);
  const sent = await client.sendFile("me", {
    file: new CustomFile("ws.bin", data.length, "", data),
    forceDocument: true,
  });
  const back = await client.downloadMedia(sent, {});
  check(Buffer.isBuffer(back) && back.equals(data), `downloaded ${back && back.length} bytes, same as sent`);
  log("file round trip", data.length);

  await client.disconnect();
  console.log("gramjs ws ok");
  process.exit(0);
}

main().catch((e) => {
  console.error("FAILED", e);
  process.exit(1);
});
