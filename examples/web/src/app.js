// The web chat page: GramJS (npm telegram, bundled for browsers by build.mjs) over MTProto
// over WebSocket to the reference server that serves this page (`server-kit --web DIR`).
//
// The server tells the page where to connect (/config.json: DC id, WebSocket host and port)
// and which RSA key to trust (/server-key.pem), so one build serves any server. The session
// (DC and auth key) is kept in localStorage, per server address.
import { Api, TelegramClient } from "telegram";
import { MemorySession } from "telegram/sessions";
import { ConnectionTCPObfuscated } from "telegram/network";
import { PromisedWebSockets } from "telegram/extensions";
import { Logger, LogLevel } from "telegram/extensions/Logger";
import { NewMessage, Raw } from "telegram/events";
import { CustomFile } from "telegram/client/uploads";
import { AuthKey } from "telegram/crypto/AuthKey";
import { strippedPhotoToJpg } from "telegram/Utils";
import * as RSA from "telegram/crypto/RSA";
import bigInt from "big-integer";
import { readPkcs1 } from "./pem.js";

const API_ID = 1;
const API_HASH = "web-chat";
const PAGE = 30;
const TYPING_SHOWN_MS = 6000;
const TYPING_SENT_EVERY_MS = 4000;

const $ = (id) => document.getElementById(id);

// ---- Connection ---------------------------------------------------------------------

/// Puts the server's RSA key (PKCS#1 PEM) into GramJS's key map, by its fingerprint.
async function trustServerKey(pem) {
  const { n, e } = readPkcs1(pem);
  const tlBytes = (b) => {
    const head = b.length < 254 ? [b.length] : [254, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff];
    const body = [...head, ...b];
    while (body.length % 4) body.push(0);
    return body;
  };
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-1", new Uint8Array([...tlBytes(n), ...tlBytes(e)])));
  const fingerprint = new DataView(sha.buffer).getBigInt64(12, true);
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  RSA._serverKeys.set(fingerprint.toString(), { n: bigInt(hex(n), 16), e: bigInt(hex(e), 16).toJSNumber() });
}

let client;
let config;
let sessionKey;

/// Connects to the server the page came from; resumes the stored session if there is one.
async function connect() {
  config = await (await fetch("config.json")).json();
  await trustServerKey(await (await fetch("server-key.pem")).text());
  const host = config.ws_host || location.hostname;
  const port = config.ws_port;
  // GramJS dials port 80 (or 443) whatever the session says, for the main connection and
  // for file transfers alike: pin every connection to the server's WebSocket address.
  class Pinned extends ConnectionTCPObfuscated {
    constructor(opts) {
      super({ ...opts, ip: host, port });
    }
  }
  sessionKey = `mtkit-session:${host}:${port}`;
  const session = new MemorySession();
  session.setDC(config.dc_id, host, port);
  const saved = localStorage.getItem(sessionKey);
  if (saved) {
    const key = new AuthKey();
    await key.setKey(Buffer.from(saved, "hex"));
    session.setAuthKey(key);
  }
  client = new TelegramClient(session, API_ID, API_HASH, {
    connection: Pinned,
    networkSocket: PromisedWebSockets,
    useWSS: false,
    connectionRetries: 5,
    baseLogger: new Logger(LogLevel.WARN),
    deviceModel: "Web",
    systemVersion: navigator.platform || "browser",
    appVersion: "web-chat 1.0",
  });
  await client.connect();
  return saved ? client.checkAuthorization() : false;
}

function saveSession() {
  localStorage.setItem(sessionKey, Buffer.from(client.session.getAuthKey().getKey()).toString("hex"));
}

// ---- Sign in ------------------------------------------------------------------------

/// Shows one step of the login form and resolves with its value when submitted.
function ask(step, title, hint) {
  $("login-title").textContent = title;
  $("login-hint").textContent = hint;
  for (const el of document.querySelectorAll("#login-form .step")) {
    el.classList.toggle("hidden", el.dataset.step !== step);
  }
  const input = document.querySelector(`#login-form [data-step="${step}"] input`);
  $("login-next").disabled = false;
  input.focus();
  return new Promise((resolve) => {
    $("login-form").onsubmit = (ev) => {
      ev.preventDefault();
      $("login-error").textContent = "";
      $("login-next").disabled = true;
      const values = [...document.querySelectorAll(`#login-form [data-step="${step}"] input`)].map((i) => i.value.trim());
      resolve(values.length === 1 ? values[0] : values);
    };
  });
}

async function signIn() {
  $("login").classList.remove("hidden");
  let phone = "";
  await client.start({
    phoneNumber: async () => (phone = await ask("phone", "Sign in", "Your phone number, with the country code.")),
    phoneCode: () => ask("code", phone, "We have sent you a code."),
    firstAndLastNames: () => ask("name", "Your name", "A new number: enter your name to sign up."),
    password: (hint) => ask("password", "Password", `Two-step verification is on${hint ? ` (hint: ${hint})` : ""}.`),
    onError: async (err) => {
      $("login-error").textContent = describe(err);
      $("login-next").disabled = false;
      return false;
    },
  });
  saveSession();
  $("login").classList.add("hidden");
}

function describe(err) {
  const known = {
    PHONE_CODE_INVALID: "Invalid code, try again.",
    PHONE_CODE_EXPIRED: "The code expired.",
    PHONE_NUMBER_INVALID: "Invalid phone number.",
    PASSWORD_HASH_INVALID: "Wrong password.",
    FIRSTNAME_INVALID: "Please enter your first name.",
  };
  return known[err.errorMessage] || err.errorMessage || err.message || String(err);
}

// ---- State --------------------------------------------------------------------------

let me;
/** @type {Map<string, {entity: any, title: string, last: any, unread: number, date: number}>} */
const dialogs = new Map();
const typing = new Map(); // peer id -> until (ms)
let open = null; // { id, entity, oldest, loading, done }
let lastTypingSent = 0;

const idOf = (x) => x.toString();

function titleOf(entity) {
  if (!entity) return "Unknown";
  if (me && entity.id && idOf(entity.id) === idOf(me.id)) return "Saved Messages";
  if (entity.title) return entity.title;
  return [entity.firstName, entity.lastName].filter(Boolean).join(" ") || entity.username || "Deleted account";
}

function avatar(el, id, title, online) {
  const hue = Number(bigInt(idOf(id)).mod(360));
  el.style.background = `linear-gradient(hsl(${hue} 70% 66%), hsl(${hue} 60% 52%))`;
  el.textContent = title.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  el.classList.toggle("online", !!online);
}

function isOnline(entity) {
  const status = entity && entity.status;
  return status instanceof Api.UserStatusOnline && status.expires * 1000 > Date.now();
}

function statusText(entity) {
  if (!entity || !(entity instanceof Api.User)) return "";
  if (me && idOf(entity.id) === idOf(me.id)) return "";
  if (entity.bot) return "bot";
  const status = entity.status;
  if (isOnline(entity)) return "online";
  if (status instanceof Api.UserStatusOffline) return `last seen ${when(status.wasOnline)}`;
  if (status instanceof Api.UserStatusRecently) return "last seen recently";
  if (status instanceof Api.UserStatusLastWeek) return "last seen within a week";
  if (status instanceof Api.UserStatusLastMonth) return "last seen within a month";
  return "last seen a long time ago";
}

function when(unix) {
  const d = new Date(unix * 1000);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === today.toDateString() ? `at ${time}` : `${d.toLocaleDateString()} at ${time}`;
}

function shortTime(unix) {
  const d = new Date(unix * 1000);
  return d.toDateString() === new Date().toDateString()
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString([], { month: "short", day: "numeric" });
}

function previewOf(message) {
  if (!message) return "";
  if (message.photo) return message.message ? `Photo, ${message.message}` : "Photo";
  if (message.media && !message.message) return "Attachment";
  return message.message || "";
}

function isTyping(id) {
  return (typing.get(id) || 0) > Date.now();
}

// ---- Dialog list --------------------------------------------------------------------

async function loadDialogs() {
  const list = await client.getDialogs({ limit: 100 });
  for (const d of list) {
    dialogs.set(idOf(d.id), { entity: d.entity, title: titleOf(d.entity), last: d.message, unread: d.unreadCount, date: d.date });
  }
  renderDialogs();
}

function renderDialogs() {
  const ul = $("dialogs");
  ul.textContent = "";
  const sorted = [...dialogs.entries()].sort((a, b) => b[1].date - a[1].date);
  $("no-dialogs").classList.toggle("hidden", sorted.length > 0);
  for (const [id, d] of sorted) {
    const li = document.createElement("li");
    li.className = "dialog" + (open && open.id === id ? " active" : "");
    li.dataset.peer = id;
    const av = document.createElement("div");
    av.className = "avatar";
    avatar(av, id, d.title, isOnline(d.entity));
    const body = document.createElement("div");
    body.className = "body";
    const top = document.createElement("div");
    top.className = "top";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = d.title;
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = d.date ? shortTime(d.date) : "";
    top.append(title, time);
    const bottom = document.createElement("div");
    bottom.className = "bottom";
    const preview = document.createElement("span");
    preview.className = "preview";
    if (isTyping(id)) {
      preview.classList.add("typing");
      preview.textContent = "typing\u2026";
    } else {
      const mine = d.last && d.last.out && d.title !== "Saved Messages" ? "You: " : "";
      preview.textContent = mine + previewOf(d.last);
    }
    bottom.append(preview);
    if (d.unread > 0) {
      const badge = document.createElement("span");
      badge.className = "badge unread";
      badge.textContent = String(d.unread);
      bottom.append(badge);
    }
    body.append(top, bottom);
    li.append(av, body);
    li.onclick = () => openChat(id, d.entity);
    ul.append(li);
  }
}

/// Notes `message` as the chat's last one (adding the chat if it is new).
async function noteMessage(message, countUnread) {
  const id = idOf(message.chatId);
  let d = dialogs.get(id);
  if (!d) {
    const entity = await message.getChat();
    d = { entity, title: titleOf(entity), last: null, unread: 0, date: 0 };
    dialogs.set(id, d);
  }
  d.last = message;
  d.date = message.date;
  if (countUnread) d.unread += 1;
  renderDialogs();
}

// ---- The open chat ------------------------------------------------------------------

async function openChat(id, entity) {
  if (open && open.id === id) return;
  open = { id, entity, oldest: 0, loading: false, done: false, lastDay: null, firstDay: null };
  document.querySelector(".app").classList.add("chat-open");
  for (const el of ["chat-head", "messages", "composer"]) $(el).classList.remove("hidden");
  $("no-chat").classList.add("hidden");
  $("messages").textContent = "";
  renderHead();
  renderDialogs();
  await loadOlder();
  const d = dialogs.get(id);
  if (d && d.unread > 0) {
    d.unread = 0;
    renderDialogs();
    client.markAsRead(entity).catch((e) => console.warn("markAsRead", e));
  }
  $("text").focus();
}

function closeChat() {
  open = null;
  document.querySelector(".app").classList.remove("chat-open");
  for (const el of ["chat-head", "messages", "composer"]) $(el).classList.add("hidden");
  $("no-chat").classList.remove("hidden");
  renderDialogs();
}

function renderHead() {
  if (!open) return;
  const title = titleOf(open.entity);
  $("chat-name").textContent = title;
  avatar($("chat-avatar"), open.id, title, isOnline(open.entity));
  const sub = $("chat-status");
  const typingNow = isTyping(open.id);
  const status = statusText(open.entity);
  sub.textContent = typingNow ? "typing\u2026" : status;
  sub.classList.toggle("typing", typingNow);
  sub.classList.toggle("online", !typingNow && status === "online");
}

/// Loads the page of history before the oldest message shown (the newest page at first).
async function loadOlder() {
  const chat = open;
  if (!chat || chat.loading || chat.done) return;
  chat.loading = true;
  try {
    const page = await client.getMessages(chat.entity, { limit: PAGE, offsetId: chat.oldest });
    if (open !== chat) return;
    if (page.length < PAGE) chat.done = true;
    const box = $("messages");
    const before = box.scrollHeight - box.scrollTop;
    const first = chat.oldest === 0;
    // Oldest first, each put at the top: the page arrives newest first.
    for (const m of page) {
      box.prepend(renderMessage(m));
      chat.oldest = m.id;
    }
    fixDays();
    if (first) box.scrollTop = box.scrollHeight;
    else box.scrollTop = box.scrollHeight - before;
    // A short first page on a tall screen: keep loading until it scrolls.
    if (!chat.done && box.scrollHeight <= box.clientHeight) {
      chat.loading = false;
      return loadOlder();
    }
  } finally {
    chat.loading = false;
  }
}

/// Day separators between messages of different days.
function fixDays() {
  const box = $("messages");
  for (const el of box.querySelectorAll(".day")) el.remove();
  let last = null;
  for (const el of [...box.querySelectorAll(".msg")]) {
    const day = new Date(Number(el.dataset.date) * 1000).toDateString();
    if (day !== last) {
      const sep = document.createElement("div");
      sep.className = "day";
      sep.textContent = day === new Date().toDateString() ? "Today" : new Date(Number(el.dataset.date) * 1000).toLocaleDateString([], { month: "long", day: "numeric" });
      el.before(sep);
      last = day;
    }
  }
}

function renderMessage(m) {
  const el = document.createElement("div");
  el.className = "msg " + (m.out ? "out" : "in");
  el.dataset.id = String(m.id);
  el.dataset.date = String(m.date);
  if (m.photo) {
    el.classList.add("photo");
    el.append(renderPhoto(m));
  }
  if (m.message || !m.photo) {
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.message || (m.media ? "Unsupported attachment" : "");
    el.append(text);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = new Date(m.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + (m.out ? " \u2713" : "");
  el.append(meta);
  return el;
}

const photoCache = new Map(); // photo id -> object URL

/// A photo's thumbnail: its stripped preview at once, then the 320 px size ("m", or the
/// nearest the server made) downloaded over the same WebSocket.
function renderPhoto(m) {
  const photo = m.photo;
  const img = document.createElement("img");
  img.alt = "Photo";
  const key = idOf(photo.id);
  const stripped = photo.sizes.find((s) => s instanceof Api.PhotoStrippedSize);
  if (photoCache.has(key)) {
    img.className = "loaded";
    img.src = photoCache.get(key);
    return img;
  }
  if (stripped) img.src = URL.createObjectURL(new Blob([strippedPhotoToJpg(stripped.bytes)], { type: "image/jpeg" }));
  else img.className = "placeholder";
  const sizes = photo.sizes.filter((s) => s instanceof Api.PhotoSize || s instanceof Api.PhotoSizeProgressive);
  const thumb = sizes.find((s) => s.type === "m") || sizes[sizes.length - 1];
  client
    .downloadMedia(m, { thumb })
    .then((bytes) => {
      const url = URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }));
      photoCache.set(key, url);
      img.classList.remove("placeholder");
      img.classList.add("loaded");
      img.src = url;
    })
    .catch((e) => console.warn("photo download", e));
  return img;
}

function appendMessage(m) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  if (box.querySelector(`.msg[data-id="${m.id}"]`)) return;
  box.append(renderMessage(m));
  fixDays();
  if (atBottom || m.out) box.scrollTop = box.scrollHeight;
}

// ---- Sending ------------------------------------------------------------------------

async function sendText() {
  const input = $("text");
  const text = input.value.trim();
  if (!text || !open) return;
  input.value = "";
  autosize();
  lastTypingSent = 0;
  const chat = open;
  const sent = await client.sendMessage(chat.entity, { message: text });
  if (open === chat) appendMessage(sent);
  await noteMessage(sent, false);
}

async function sendPhoto(file) {
  if (!file || !open) return;
  const chat = open;
  const bytes = Buffer.from(await file.arrayBuffer());
  const name = /\.(png|jpe?g)$/i.test(file.name) ? file.name : `${file.name}.jpg`;
  const sent = await client.sendFile(chat.entity, { file: new CustomFile(name, bytes.length, "", bytes) });
  if (open === chat) appendMessage(sent);
  await noteMessage(sent, false);
}

function sendTyping() {
  if (!open || Date.now() - lastTypingSent < TYPING_SENT_EVERY_MS) return;
  lastTypingSent = Date.now();
  client
    .invoke(new Api.messages.SetTyping({ peer: open.entity, action: new Api.SendMessageTypingAction() }))
    .catch((e) => console.warn("setTyping", e));
}

function autosize() {
  const t = $("text");
  t.style.height = "auto";
  t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
}

async function startChat(query) {
  const q = query.trim();
  if (!q) return;
  try {
    const entity = await client.getEntity(q.startsWith("+") ? q : q.replace(/^@?/, "@"));
    const id = idOf(entity.id);
    if (!dialogs.has(id)) dialogs.set(id, { entity, title: titleOf(entity), last: null, unread: 0, date: Math.floor(Date.now() / 1000) });
    $("new-chat-input").value = "";
    await openChat(id, entity);
  } catch (e) {
    $("new-chat-input").value = "";
    $("new-chat-input").placeholder = `Not found: ${q}`;
  }
}

// ---- Live updates -------------------------------------------------------------------

function onNewMessage(ev) {
  const m = ev.message;
  const id = idOf(m.chatId);
  typing.delete(id);
  const here = open && open.id === id;
  if (here) {
    appendMessage(m);
    renderHead();
    if (!m.out && document.visibilityState === "visible") client.markAsRead(open.entity).catch(() => {});
  }
  noteMessage(m, !m.out && !here).catch((e) => console.warn(e));
}

function onRaw(update) {
  if (update instanceof Api.UpdateUserTyping) {
    const id = idOf(update.userId);
    if (update.action instanceof Api.SendMessageCancelAction) typing.delete(id);
    else typing.set(id, Date.now() + TYPING_SHOWN_MS);
    setTimeout(() => {
      renderDialogs();
      renderHead();
    }, TYPING_SHOWN_MS + 50);
  } else if (update instanceof Api.UpdateUserStatus) {
    const id = idOf(update.userId);
    const d = dialogs.get(id);
    if (d && d.entity) d.entity.status = update.status;
    if (open && open.id === id) open.entity.status = update.status;
  } else {
    return;
  }
  renderDialogs();
  renderHead();
}

function showConnection(text) {
  const bar = $("status-bar");
  bar.textContent = text || "";
  bar.classList.toggle("hidden", !text);
}

// ---- Start --------------------------------------------------------------------------

async function main() {
  showConnection("Connecting\u2026");
  const authorized = await connect();
  showConnection("");
  if (!authorized) await signIn();
  me = await client.getMe();
  avatar($("me-avatar"), me.id, titleOf({ ...me, id: 0 }), false);
  $("me-avatar").title = `${titleOf({ ...me, id: 0 })} (+${me.phone})`;
  $("app").classList.remove("hidden");
  document.body.dataset.me = idOf(me.id);
  client.addEventHandler(onNewMessage, new NewMessage({}));
  client.addEventHandler(onRaw, new Raw({}));
  await loadDialogs();

  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < 80) loadOlder();
  });
  $("composer").onsubmit = (ev) => {
    ev.preventDefault();
    sendText().catch((e) => alert(describe(e)));
  };
  $("text").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      sendText().catch((e) => alert(describe(e)));
    }
  });
  $("text").addEventListener("input", () => {
    autosize();
    sendTyping();
  });
  $("photo-input").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    ev.target.value = "";
    sendPhoto(file).catch((e) => alert(describe(e)));
  });
  $("new-chat").onsubmit = (ev) => {
    ev.preventDefault();
    startChat($("new-chat-input").value);
  };
  $("close-chat").onclick = closeChat;
  $("logout").onclick = async () => {
    localStorage.removeItem(sessionKey);
    await client.invoke(new Api.auth.LogOut()).catch(() => {});
    location.reload();
  };
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && open) closeChat();
  });
  // Statuses age: "online" ends at its expiry without an update.
  setInterval(() => {
    renderHead();
  }, 30000);
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  console.error(e);
  showConnection(`Cannot reach the server: ${describe(e)}`);
});
