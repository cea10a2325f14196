//! `--web DIR`: the server binary serving a web client, and the chat page of `examples/web/`
//! in a real browser.
//!
//! - The static file server: files with their MIME types, `/` as `index.html`, the server's
//!   RSA key at `/server-key.pem`, `/config.json` with the DC id and the WebSocket address,
//!   404 for missing files and for every way out of DIR (`..`, encoded `..`, symbolic links,
//!   hidden files), 405 for other methods.
//! - The chat page (GramJS bundled for browsers by `examples/web/build.mjs`) in Debian's
//!   Chromium, headless, driven by puppeteer-core (`examples/web/test/browser_chat.mjs`):
//!   the browser user signs up with phone and code, chats both ways with a Telethon user on
//!   TCP (`examples/web/test/telethon_peer.py`) over MTProto over WebSocket, sees the photo
//!   Telethon sends inline, sends one, sees "typing…" and "online", the unread count in the
//!   dialog list, and scrolls back through older pages. Screenshots of the dialog list and
//!   of the open chat go to the test's scratch directory (the paths are printed).
//!
//! The browser test needs Chromium (`apt-get install -y chromium`), Node.js with
//! `npm ci --prefix examples/web` and Telethon (`.ci/test.sh --setup-only` makes the last
//! two); without them it fails, naming what to install.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");
const SETUP: &str = "run `.ci/test.sh --setup-only` from the workspace root";
/// Where Debian's package `chromium` puts the browser (CHROMIUM overrides it).
const CHROMIUM: &str = "/usr/bin/chromium";

/// One HTTP/1.1 request written by hand (so that paths reach the server as they are, with
/// no client normalizing `..`); the status code, the headers (lower-case) and the body.
fn http(port: u16, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to {path}: {answer:?}"));
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, answer[split + 4..].to_vec())
}

#[test]
fn web_serves_the_page_the_key_and_the_config_and_nothing_else() {
    let (port, ws_port, web_port) = (free_port(), free_port(), free_port());
    let data = scratch_dir("web-files");
    let site = data.with_extension("site");
    let root = site.join("page");
    std::fs::create_dir_all(root.join("img")).unwrap();
    std::fs::write(root.join("index.html"), "<!doctype html><p>chat</p>").unwrap();
    std::fs::write(root.join("app.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("style.css"), "p{}").unwrap();
    std::fs::write(root.join("img/icon.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    std::fs::write(root.join(".env"), "secret").unwrap();
    std::fs::write(site.join("private.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(site.join("private.txt"), root.join("out.txt")).unwrap();
    let _server = ServerProcess::start_with(
        BINARY,
        port,
        &data,
        &[
            "--ws",
            &format!("127.0.0.1:{ws_port}"),
            "--web",
            root.to_str().unwrap(),
            "--web-listen",
            &format!("127.0.0.1:{web_port}"),
        ],
    );

    for (path, mime, body) in [
        (
            "/",
            "text/html; charset=utf-8",
            &b"<!doctype html><p>chat</p>"[..],
        ),
        (
            "/index.html",
            "text/html; charset=utf-8",
            b"<!doctype html><p>chat</p>",
        ),
        (
            "/app.js",
            "text/javascript; charset=utf-8",
            b"console.log(1)",
        ),
        ("/style.css?v=2", "text/css; charset=utf-8", b"p{}"),
        ("/img/icon.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("/img/%69con.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ] {
        let (status, head, got) = http(web_port, "GET", path);
        assert_eq!(status, 200, "{path}: {head}");
        assert!(
            head.contains(&format!("content-type: {mime}")),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert_eq!(got, body, "{path}");
    }
    let (status, head, got) = http(web_port, "HEAD", "/app.js");
    assert_eq!((status, got.len()), (200, 0), "{head}");
    assert!(head.contains("content-length: 14"), "{head}");

    // The key clients must trust, byte for byte the server's, and where to connect.
    let (status, _, key) = http(web_port, "GET", "/server-key.pem");
    assert_eq!(status, 200);
    assert_eq!(key, std::fs::read(data.join("rsa-public.pem")).unwrap());
    let (status, head, config) = http(web_port, "GET", "/config.json");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(
        String::from_utf8(config).unwrap(),
        format!("{{\"dc_id\":2,\"ws_host\":\"127.0.0.1\",\"ws_port\":{ws_port}}}\n")
    );

    for path in [
        "/missing.js",
        "/../private.txt",
        "/img/../../private.txt",
        "/%2e%2e/private.txt",
        "/%2E%2E%2Fprivate.txt",
        "/..%2f..%2f",
        "/out.txt",
        "/.env",
        "/app.js%00.html",
        "/%ff",
        "/rsa-private.pem",
    ] {
        let (status, head, got) = http(web_port, "GET", path);
        assert_eq!(status, 404, "{path}: {head}");
        assert!(!String::from_utf8_lossy(&got).contains("secret"), "{path}");
    }
    let (status, head, _) = http(web_port, "POST", "/");
    assert_eq!(status, 405, "{head}");
    assert!(head.contains("allow: get, head"), "{head}");
}

#[test]
fn web_refuses_a_directory_without_a_page() {
    let data = scratch_dir("web-empty");
    let empty = data.with_extension("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(BINARY)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data")
        .arg(&data)
        .arg("--web")
        .arg(&empty)
        .args(["--web-listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("no index.html"), "{log}");
}

/// Builds the page with esbuild into `out` (`examples/web/build.mjs`).
fn build_page(web: &Path, out: &Path) {
    assert!(
        web.join("node_modules/telegram/package.json").exists()
            && web
                .join("node_modules/puppeteer-core/package.json")
                .exists(),
        "the web page's npm packages are not installed: {SETUP} (npm ci --prefix examples/web)"
    );
    let built = Command::new("node")
        .arg(web.join("build.mjs"))
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {SETUP}"));
    assert!(
        built.status.success(),
        "building the page: {}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
}

/// Two pictures for the photos: a PNG each way.
fn test_photos(dir: &Path) -> (PathBuf, PathBuf) {
    let from_telethon = dir.join("telethon.png");
    image::RgbImage::from_fn(800, 500, |x, y| {
        image::Rgb([(40 + y / 5) as u8, (110 + x / 8) as u8, 220])
    })
    .save(&from_telethon)
    .unwrap();
    let from_browser = dir.join("browser.png");
    image::RgbImage::from_fn(600, 450, |x, y| {
        image::Rgb([235, (70 + (x + y) / 8) as u8, (60 + y / 4) as u8])
    })
    .save(&from_browser)
    .unwrap();
    (from_telethon, from_browser)
}

#[test]
fn browser_chats_with_telethon_through_the_web_page() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: install Debian's package with `apt-get install -y chromium` \
         (or name the browser in CHROMIUM)"
    );
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web");
    let data = scratch_dir("web-browser");
    let work = data.with_extension("work");
    std::fs::create_dir_all(&work).unwrap();
    let page = work.join("page");
    build_page(&web, &page);
    let (telethon_photo, browser_photo) = test_photos(&work);

    let (port, web_port) = (free_port(), free_port());
    // The page's WebSocket goes to the main port (it serves TCP and WebSocket both).
    let _server = ServerProcess::start_with(
        BINARY,
        port,
        &data,
        &[
            "--web",
            page.to_str().unwrap(),
            "--web-listen",
            &format!("127.0.0.1:{web_port}"),
        ],
    );
    let spawn = |program: &str, args: &[&std::ffi::OsStr], out: &str| {
        let file = std::fs::File::create(work.join(out)).unwrap();
        Command::new(program)
            .args(args)
            .current_dir(&web)
            .env("CHROMIUM", &chromium)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {SETUP}"))
    };
    let port_arg = port.to_string();
    let tele = spawn(
        "python3",
        &[
            web.join("test/telethon_peer.py").as_os_str(),
            port_arg.as_ref(),
            data.as_os_str(),
            work.as_os_str(),
            telethon_photo.as_os_str(),
        ],
        "telethon.out",
    );
    let url = format!("http://127.0.0.1:{web_port}/");
    let browser = spawn(
        "node",
        &[
            web.join("test/browser_chat.mjs").as_os_str(),
            url.as_ref(),
            work.as_os_str(),
            browser_photo.as_os_str(),
        ],
        "browser.out",
    );
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut results = Vec::new();
    for (name, mut child, out, done) in [
        ("browser", browser, "browser.out", "browser ok"),
        ("Telethon", tele, "telethon.out", "telethon ok"),
    ] {
        let ok = loop {
            match child.try_wait().unwrap() {
                Some(status) => break status.success(),
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
            }
        };
        let text = std::fs::read_to_string(work.join(out)).unwrap_or_default();
        results.push((name, ok && text.contains(done), text));
    }
    assert!(
        results.iter().all(|(_, ok, _)| *ok),
        "{}\nserver log: {}",
        results
            .iter()
            .map(|(name, ok, text)| format!(
                "--- {name}: {}\n{text}",
                if *ok { "ok" } else { "FAILED" }
            ))
            .collect::<String>(),
        data.with_extension("log").display()
    );
    for shot in ["dialogs.png", "chat.png"] {
        let file = work.join(shot);
        let png = std::fs::read(&file).unwrap_or_default();
        assert!(
            png.starts_with(b"\x89PNG"),
            "no screenshot {}",
            file.display()
        );
        println!("screenshot: {}", file.display());
    }
}
