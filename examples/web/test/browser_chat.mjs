// The browser side of the web page's end-to-end test (server-kit/tests/web.rs): Debian's
// Chromium, headless, driven by puppeteer-core, uses the page the server serves with --web
// while a Telethon user (test/telethon_peer.py) answers. Usage:
// node browser_chat.mjs PAGE_URL WORK_DIR PHOTO_PNG
//
// CHROMIUM names the browser (default /usr/bin/chromium, Debian's package `chromium`). The
// browser user signs up with phone and code (and a name), opens a chat with @tele_w, sends
// text (Telethon sees it typing), sees Telethon typing, gets text and a photo live (the photo
// shown inline), sends a photo, sees two unread messages in the dialog list, opens the chat
// again and scrolls back through older pages to the first message, and after a reload is
// still signed in. Screenshots:
// WORK_DIR/dialogs.png and WORK_DIR/chat.png. Every check throws; the last line printed is
// "browser ok".
import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [URL, WORK, PHOTO] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 60000;

function log(...args) {
  console.log(new Date().toISOString().slice(11, 23), ...args);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function waitFile(name, ms) {
  const file = path.join(WORK, name);
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return fs.readFileSync(file, "utf8");
}

function touch(name) {
  fs.writeFileSync(path.join(WORK, name), "");
}

/// Waits until `fn(arg)` is true in the page; `what` names it in the error.
async function until(page, what, fn, arg, ms = WAIT) {
  try {
    await page.waitForFunction(fn, { timeout: ms, polling: 100 }, arg);
  } catch (e) {
    const shot = path.join(WORK, "failed.png");
    await page.screenshot({ path: shot }).catch(() => {});
    const shown = await page
      .$$eval(".msg", (ms) => ms.map((m) => `${m.className}: ${m.textContent}`).join("\n"))
      .catch((e) => String(e));
    throw new Error(`timed out waiting for ${what} (screenshot ${shot}): ${e.message}\nmessages shown:\n${shown}`);
  }
}

/// Whether a message with `text` is shown among those `sel` selects (run in the page).
const messageShown = ([sel, text]) =>
  [...document.querySelectorAll(sel)].some((m) => m.querySelector(".text")?.textContent === text);

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 720 });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") log("page console:", m.text());
    });
    page.on("dialog", async (d) => {
      errors.push(`alert: ${d.message()}`);
      await d.dismiss();
    });
    const served = await page.goto(URL, { waitUntil: "load" });
    check(served.ok(), `GET ${URL}: ${served.status()}`);

    // Sign up: phone, code, name.
    await page.waitForSelector("#phone", { visible: true, timeout: WAIT });
    await page.type("#phone", "+1 555 0801");
    await page.click("#login-next");
    await page.waitForSelector("#code", { visible: true, timeout: WAIT });
    await page.type("#code", "12345");
    await page.click("#login-next");
    await page.waitForSelector("#first-name", { visible: true, timeout: WAIT });
    await page.type("#first-name", "Wendy");
    await page.type("#last-name", "Web");
    await page.click("#login-next");
    await until(page, "the chat app after sign-up", () => document.body.dataset.ready === "1");
    log("signed up in the browser");

    // A chat with Telethon's user, by username.
    const teleId = (await waitFile("tele.ready", WAIT)).trim();
    await page.type("#new-chat-input", "@tele_w");
    await page.keyboard.press("Enter");
    await until(page, "the chat with Tele W", () => document.getElementById("chat-name").textContent === "Tele W");
    await page.type("#text", "hi telethon from the browser", { delay: 15 });
    await page.keyboard.press("Enter");
    await until(page, "our message in the chat", messageShown, [".msg.out", "hi telethon from the browser"]);
    log("sent text");

    // Telethon's 40 older messages arrive live, then its typing shows in the header.
    await until(page, "Telethon's 40 messages", messageShown, [".msg.in", "older 40"]);
    await until(page, "typing… in the chat header", () => document.getElementById("chat-status").textContent === "typing\u2026");
    touch("typing.seen");
    log("typing shown");
    await until(page, "Telethon's answer", messageShown, [".msg.in", "hi browser from telethon"]);
    await until(page, "Telethon's photo shown inline", () =>
      [...document.querySelectorAll(".msg.in.photo img.loaded")].some((i) => i.complete && i.naturalWidth > 0));
    const size = await page.$eval(".msg.in.photo img.loaded", (i) => [i.naturalWidth, i.naturalHeight]);
    log("photo shown inline", size);
    await until(page, "online in the chat header", () => document.getElementById("chat-status").textContent === "online");

    // A photo from the browser.
    const input = await page.$("#photo-input");
    await input.uploadFile(PHOTO);
    await until(page, "our photo in the chat", () =>
      [...document.querySelectorAll(".msg.out.photo img.loaded")].some((i) => i.complete && i.naturalWidth > 0));
    log("sent a photo");

    // The chat closed, two more messages: the dialog list shows them unread.
    await page.click("#close-chat");
    touch("chat.closed");
    const row = `#dialogs .dialog[data-peer="${teleId}"]`;
    await until(page, "two unread messages in the dialog list", (sel) => {
      const li = document.querySelector(sel);
      return li && li.querySelector(".badge")?.textContent === "2" && li.querySelector(".preview").textContent === "and another";
    }, row);
    const dialogsShot = path.join(WORK, "dialogs.png");
    await page.screenshot({ path: dialogsShot });
    log("dialog list with unread count; screenshot", dialogsShot);

    // Opened again: history from the newest page, read, and older pages on scrolling back.
    await page.click(row);
    await until(page, "the reopened chat's last message", messageShown, [".msg.in", "and another"]);
    await until(page, "the unread badge gone", (sel) => !document.querySelector(`${sel} .badge`), row);
    await until(page, "the reopened chat's photos", () =>
      document.querySelectorAll(".msg.photo img.loaded").length === 2);
    const first = await page.$$eval(".msg", (ms) => ms.length);
    check(first < 46, `a first page, not the whole history: ${first} messages`);
    const chatShot = path.join(WORK, "chat.png");
    await page.screenshot({ path: chatShot });
    log("open chat; screenshot", chatShot);
    for (let i = 0; i < 20; i++) {
      const done = await page.evaluate(() => {
        const box = document.getElementById("messages");
        box.scrollTop = 0;
        box.dispatchEvent(new Event("scroll"));
        return [...document.querySelectorAll(".msg .text")].some((t) => t.textContent === "hi telethon from the browser");
      });
      if (done) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    await until(page, "the first message after scrolling back", messageShown, [".msg.out", "hi telethon from the browser"]);
    const all = await page.$$eval(".msg", (ms) => ms.length);
    check(all === 46, `the whole history after scrolling back: ${all} messages, want 46`);
    log("scrolled back through", all, "messages");

    // Reloaded: the session from localStorage, no sign-in again, the same dialog list.
    await page.reload({ waitUntil: "load" });
    await until(page, "the app after a reload", () => document.body.dataset.ready === "1");
    check(await page.$eval("#login", (l) => l.classList.contains("hidden")), "no sign-in after a reload");
    await until(page, "the dialog after a reload", (sel) =>
      document.querySelector(sel)?.querySelector(".preview").textContent === "and another", row);
    log("session kept across a reload");
    check(errors.length === 0, `page errors: ${errors.join("; ")}`);
    touch("done");
  } finally {
    await browser.close();
  }
  console.log("browser ok");
}

main().catch((e) => {
  console.error("FAILED", e);
  process.exit(1);
});
