//! End to end, every client family at once against one real server binary, each in a work
//! directory of its own, with accounts and usernames of its own:
//!
//! - **GramJS** (npm `telegram@2.26.22`, layer 198; `tests/gramjs/e2e.js`): two users sign up
//!   (one signs in again on a new key), chat with pushed updates, read history and dialogs,
//!   send a 3 MiB file with parallel upload workers and download it; a broadcast channel is
//!   created, joined, read and a post pushed. A Telethon user of its own
//!   (`tests/gramjs/telethon_peer.py`, layer 229) chats with it.
//! - **kurigram** (PyPI 2.2.26, layer 229; `tests/kurigram/flow.py`): signs up and in again,
//!   chats with a Telethon user of its own, downloads a 2 MiB file on its media session, runs
//!   a channel that Telethon joins and reads.
//! - **mtcute** (npm `@mtcute/node` 0.30.3, layer 227, TCP intermediate;
//!   `tests/mtcute/flow.mjs`), **pyrotgfork** (PyPI 2.2.24.1, layer 227, obfuscated abridged;
//!   `tests/pyrotgfork/flow.py`) and **grammers** (crates.io `grammers-client` 0.11.0, layer
//!   230, TCP full; `tests/grammers/`) share one Telethon 1.45 counterpart
//!   (`tests/telethon/peer.py`, @tele_p). Each signs in, chats with Telethon through pushed
//!   updates, pages the whole of a chat into which it sent 160 messages at once with its own
//!   history iterator, sends a file that Telethon downloads and sends back and downloads
//!   both, and creates a channel that it reads and Telethon joins and reads.
//!
//! mtcute and grammers refuse to sign up, so their accounts are made first, here, with the
//! test client.
//!
//! grammers trusts only Telegram's RSA keys and ships no way to add one, and its program is
//! Rust: the test copies `tests/grammers/` (our code, with its lock file) to
//! `<target>/grammers-peer/`, fetches its dependencies, copies the registry's source of the
//! `grammers-mtproto` the lock pins next to it, patches its key table to also trust the key
//! that `GRAMMERS_TEST_RSA_KEY` names (the test passes the server's), and builds the program
//! against the copy with `[patch.crates-io]`, in a target directory that stays between runs.
//! The first build takes a minute or two; later ones, a second.
//!
//! Needs Node.js with GramJS and mtcute installed from the committed lock files
//! (`npm ci --prefix server-kit/tests/gramjs`, the same for `mtcute`), `python3` with
//! `telethon==1.45.0` and `kurigram==2.2.26`, pyrotgfork in a venv of its own (it installs the
//! `pyrogram` module, as kurigram does): `.venv-test-pyrotgfork/` at the workspace root, or the
//! interpreter named by `PYROTGFORK_PYTHON`, and crates.io reachable for the first grammers
//! build. `.ci/test.sh --setup-only` makes all of them but the last.

mod common;

use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::crypto::RsaPublicKey;
use mtproto::transport::Kind;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SETUP: &str = "run `.ci/test.sh --setup-only` from the workspace root";
const MTCUTE_PHONE: &str = "+15550911";
const GRAMMERS_PHONE: &str = "+15550931";
/// How long the client flows may take, together.
const FLOWS_LIMIT: Duration = Duration::from_secs(480);
/// How long Telethon counterparts may take to finish once the flows are done.
const PEERS_GRACE: Duration = Duration::from_secs(30);

/// Waits for `child` until `deadline` (then kills it); whether it exited successfully, and
/// what it wrote (to `out`).
fn wait(mut child: Child, deadline: Instant, out: &Path) -> (bool, String) {
    let ok = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    let mut text = std::fs::read_to_string(out).unwrap_or_default();
    if !ok && Instant::now() >= deadline {
        text.push_str("\n(killed: out of time)\n");
    }
    (ok, text)
}

/// Starts `program` with `args` in `cwd` and `env`, its stdout and stderr going to `out`.
fn spawn(
    program: &Path,
    args: &[&dyn AsRef<OsStr>],
    cwd: &Path,
    env: &[(&str, &str)],
    out: &Path,
) -> Result<Child, String> {
    let file = File::create(out).expect("output file");
    let copy = file.try_clone().expect("output file");
    let mut command = Command::new(program);
    for arg in args {
        command.arg(arg);
    }
    command
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(copy))
        .spawn()
        .map_err(|e| format!("cannot run {} ({e}): {SETUP}", program.display()))
}

/// The interpreter of pyrotgfork's venv.
fn pyrotgfork_python() -> PathBuf {
    let path = std::env::var_os("PYROTGFORK_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-test-pyrotgfork/bin/python3"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "pyrotgfork's venv is missing ({}): {SETUP}",
        path.display()
    );
    path
}

/// Makes the accounts of the clients that cannot sign up (mtcute, grammers).
fn sign_up_accounts(port: u16, data: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let addr = format!("127.0.0.1:{port}").parse().expect("address");
        let mut client = MiniClient::connect(addr, &server_key(data), Kind::Intermediate)
            .await
            .expect("connect");
        for (phone, first, last) in [(MTCUTE_PHONE, "Mt", "A"), (GRAMMERS_PHONE, "Gr", "A")] {
            client
                .sign_up(phone, first, last)
                .await
                .unwrap_or_else(|e| panic!("sign up {phone}: {e}"));
        }
    });
}

/// Copies Telethon's ready file (its user id) into each of `dirs` once it appears, each copy
/// made whole before it shows (the flows poll for it).
fn hand_out_ready_file(from: PathBuf, dirs: Vec<PathBuf>) {
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if let Ok(id) = std::fs::read(&from) {
                for dir in &dirs {
                    let tmp = dir.join("tele_p.ready.tmp");
                    if std::fs::write(&tmp, &id).is_ok() {
                        let _ = std::fs::rename(&tmp, dir.join("tele_p.ready"));
                    }
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

/// The grammers program: our sources in `tests/grammers/`, built against a copy of the
/// registry's grammers-mtproto that trusts the key named by `GRAMMERS_TEST_RSA_KEY`.
mod grammers_build {
    use super::*;

    /// Where the scratch build lives: `<target>/grammers-peer`, the workspace's target
    /// directory being `CARGO_TARGET_DIR` (relative: to the workspace root) or
    /// `<workspace>/target`.
    fn root() -> PathBuf {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
            Some(dir) => workspace.join(dir),
            None => workspace.join("target"),
        };
        target.join("grammers-peer")
    }

    /// Writes `contents` to `path` unless it holds them already (an unchanged file keeps its
    /// time, so cargo does not rebuild what depends on it).
    fn write_if_changed(path: &Path, contents: &[u8]) -> Result<(), String> {
        if std::fs::read(path).is_ok_and(|old| old == contents) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Copies the tree `from` into `to` but for `skip` (files only written when changed).
    fn copy_tree(from: &Path, to: &Path, skip: &Path) -> Result<(), String> {
        let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
            let path = entry.path();
            let target = to.join(entry.file_name());
            if path == skip {
                continue;
            } else if path.is_dir() {
                copy_tree(&path, &target, skip)?;
            } else {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                write_if_changed(&target, &bytes)?;
            }
        }
        Ok(())
    }

    /// The head of the function that maps key fingerprints to keys in grammers-mtproto's
    /// `src/authentication.rs`.
    const KEY_TABLE: &str = "fn key_for_fingerprint(fingerprint: i64) -> Option<rsa::Key> {";
    /// Its last arm: no key for any other fingerprint.
    const NO_KEY: &str = "        _ => return None\n";
    /// What the last arm becomes.
    const TEST_KEY: &str = "        _ => return server_kit_test_key(fingerprint)\n";
    /// Appended to the file: the key `GRAMMERS_TEST_RSA_KEY` names
    /// (`FINGERPRINT:N:E`, decimal), for its fingerprint only.
    const TEST_KEY_FN: &str = "
/// Added by server-kit's tests/peers.rs: the test server's key, named by the environment
/// as `FINGERPRINT:N:E` in decimal.
fn server_kit_test_key(fingerprint: i64) -> Option<rsa::Key> {
    let named = std::env::var(\"GRAMMERS_TEST_RSA_KEY\").ok()?;
    let mut parts = named.split(':');
    let expected: i64 = parts.next()?.parse().ok()?;
    if expected != fingerprint {
        return None;
    }
    rsa::Key::new(parts.next()?, parts.next()?)
}
";

    /// `authentication.rs` of grammers-mtproto with the test key trusted; an error, saying
    /// what it misses, if the file is not the shape this patch knows.
    pub fn patch_key_table(source: &str) -> Result<String, String> {
        let shape = |what: &str| {
            Err(format!(
                "grammers-mtproto's src/authentication.rs changed shape ({what}): update \
                 the patch in server-kit/tests/peers.rs"
            ))
        };
        if source.matches(KEY_TABLE).count() != 1 {
            return shape("no single `fn key_for_fingerprint`");
        }
        let start = source.find(KEY_TABLE).unwrap_or_default();
        let body_end = start
            + source[start..]
                .find("\n}\n")
                .unwrap_or(source.len() - start);
        let body = &source[start..body_end];
        if body.matches(NO_KEY).count() != 1 || !body.contains("rsa::Key::new(") {
            return shape("its match does not end in a single `_ => return None` arm");
        }
        if source.contains("server_kit_test_key") {
            return shape("it names server_kit_test_key already");
        }
        let arm = start + body.find(NO_KEY).unwrap_or_default();
        Ok(format!(
            "{}{TEST_KEY}{}{TEST_KEY_FN}",
            &source[..arm],
            &source[arm + NO_KEY.len()..]
        ))
    }

    /// The value of `GRAMMERS_TEST_RSA_KEY` for `key`.
    pub fn key_env(key: &RsaPublicKey) -> String {
        format!("{}:{}:{}", key.fingerprint(), key.n, key.e)
    }

    /// Runs cargo with `args` for the manifest in `dir`; its output on failure.
    fn cargo(dir: &Path, target: &Path, args: &[&str], log: &Path) -> Result<String, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let output = Command::new(&cargo)
            .args(args)
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", cargo.to_string_lossy()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let _ = std::fs::write(log, stderr.as_bytes());
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!("cargo {} failed:\n{stderr}", args.join(" ")))
        }
    }

    /// Builds the program; its path, or what went wrong.
    pub fn build() -> Result<PathBuf, String> {
        let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grammers");
        let root = root();
        let target = root.join("target");
        let read = |name: &str| {
            std::fs::read(ours.join(name)).map_err(|e| format!("tests/grammers/{name}: {e}"))
        };
        let (manifest, lock, main) = (
            read("Cargo.toml")?,
            read("Cargo.lock")?,
            read("src/main.rs")?,
        );

        // 1. Our crate as committed: fetch what its lock pins, find grammers-mtproto's source.
        let fetch = root.join("fetch");
        write_if_changed(&fetch.join("Cargo.toml"), &manifest)?;
        write_if_changed(&fetch.join("Cargo.lock"), &lock)?;
        write_if_changed(&fetch.join("src/main.rs"), &main)?;
        cargo(
            &fetch,
            &target,
            &["fetch", "--locked"],
            &root.join("fetch.log"),
        )?;
        let metadata = cargo(
            &fetch,
            &target,
            &["metadata", "--locked", "--offline", "--format-version", "1"],
            &root.join("metadata.log"),
        )?;
        let metadata: serde_json::Value =
            serde_json::from_str(&metadata).map_err(|e| format!("cargo metadata: {e}"))?;
        let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
        let mtproto = packages
            .iter()
            .find(|p| p["name"] == "grammers-mtproto")
            .ok_or("grammers-mtproto is not in tests/grammers/Cargo.lock's graph")?;
        let source = Path::new(mtproto["manifest_path"].as_str().unwrap_or_default())
            .parent()
            .ok_or("grammers-mtproto has no manifest path")?
            .to_path_buf();

        // 2. Its copy, with the key table patched.
        let copy = root.join("grammers-mtproto");
        let auth = "src/authentication.rs";
        copy_tree(&source, &copy, &source.join(auth))?;
        let original = std::fs::read_to_string(source.join(auth))
            .map_err(|e| format!("{}: {e}", source.join(auth).display()))?;
        write_if_changed(&copy.join(auth), patch_key_table(&original)?.as_bytes())?;

        // 3. Our crate built against the copy.
        let build = root.join("crate");
        let mut patched = manifest;
        patched.extend_from_slice(
            b"\n[patch.crates-io]\ngrammers-mtproto = { path = \"../grammers-mtproto\" }\n",
        );
        write_if_changed(&build.join("Cargo.toml"), &patched)?;
        // The committed lock: cargo adds the patch to it (so not --locked).
        write_if_changed(&build.join("Cargo.lock"), &lock)?;
        write_if_changed(&build.join("src/main.rs"), &main)?;
        cargo(
            &build,
            &target,
            &["build", "--offline"],
            &root.join("build.log"),
        )?;
        Ok(target.join("debug/grammers-peer"))
    }
}

/// One client family's part: the process (or why it did not start), its output, the line
/// that says it finished.
struct Part {
    name: &'static str,
    child: Result<Child, String>,
    out: PathBuf,
    done: &'static str,
}

impl Part {
    /// Whether it passed, and its output.
    fn finish(self, deadline: Instant) -> (&'static str, bool, String) {
        match self.child {
            Ok(child) => {
                let (ok, text) = wait(child, deadline, &self.out);
                (self.name, ok && text.contains(self.done), text)
            }
            Err(why) => (self.name, false, why),
        }
    }
}

#[test]
fn every_client_family_at_once_through_one_server() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for (dir, module) in [("gramjs", "telegram"), ("mtcute", "@mtcute/node")] {
        assert!(
            tests
                .join(dir)
                .join("node_modules")
                .join(module)
                .join("package.json")
                .exists(),
            "{dir} is not installed: {SETUP}"
        );
    }
    let pyro_python = pyrotgfork_python();
    let work = scratch_dir("peers");
    let dirs = [
        "gramjs",
        "kurigram",
        "telethon",
        "mtcute",
        "pyrotgfork",
        "grammers",
    ]
    .map(|name| work.join(name));
    for dir in &dirs {
        std::fs::create_dir_all(dir).expect("work dir");
    }
    let [gramjs, kurigram, telethon, mtcute, pyro, grammers] = &dirs;

    // Built before the server starts: a cold build takes the machine for a while.
    let built = Instant::now();
    let grammers_bin = grammers_build::build();
    let built = built.elapsed();

    let data = work.join("data");
    let port = free_port();
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_server-kit"), port, &data);
    sign_up_accounts(port, &data);
    let started = Instant::now();
    let port_arg = port.to_string();
    let python = Path::new("python3");
    let node = Path::new("node");

    hand_out_ready_file(
        telethon.join("tele_p.ready"),
        vec![mtcute.clone(), pyro.clone(), grammers.clone()],
    );
    let flows = vec![
        Part {
            name: "GramJS",
            child: spawn(
                node,
                &[&tests.join("gramjs/e2e.js"), &port_arg, &data, gramjs],
                &tests.join("gramjs"),
                &[],
                &gramjs.join("gramjs.out"),
            ),
            out: gramjs.join("gramjs.out"),
            done: "gramjs ok",
        },
        Part {
            name: "kurigram",
            child: spawn(
                python,
                &[&tests.join("kurigram/flow.py"), &port_arg, &data],
                kurigram,
                &[],
                &kurigram.join("kurigram.out"),
            ),
            out: kurigram.join("kurigram.out"),
            done: "kurigram ok",
        },
        Part {
            name: "mtcute",
            child: spawn(
                node,
                &[
                    &tests.join("mtcute/flow.mjs"),
                    &port_arg,
                    &data,
                    mtcute,
                    &MTCUTE_PHONE,
                ],
                &tests.join("mtcute"),
                &[],
                &mtcute.join("mtcute.out"),
            ),
            out: mtcute.join("mtcute.out"),
            done: "mtcute ok",
        },
        Part {
            name: "pyrotgfork",
            child: spawn(
                &pyro_python,
                &[&tests.join("pyrotgfork/flow.py"), &port_arg, &data, pyro],
                pyro,
                &[],
                &pyro.join("pyrotgfork.out"),
            ),
            out: pyro.join("pyrotgfork.out"),
            done: "pyrotgfork ok",
        },
        Part {
            name: "grammers",
            child: grammers_bin.and_then(|bin| {
                let key = grammers_build::key_env(&server_key(&data));
                spawn(
                    &bin,
                    &[&port_arg, grammers, &GRAMMERS_PHONE],
                    grammers,
                    &[("GRAMMERS_TEST_RSA_KEY", &key)],
                    &grammers.join("grammers.out"),
                )
            }),
            out: grammers.join("grammers.out"),
            done: "grammers ok",
        },
    ];
    let peers = vec![
        Part {
            name: "Telethon (GramJS's peer)",
            child: spawn(
                python,
                &[
                    &tests.join("gramjs/telethon_peer.py"),
                    &port_arg,
                    &data,
                    gramjs,
                ],
                gramjs,
                &[],
                &gramjs.join("telethon.out"),
            ),
            out: gramjs.join("telethon.out"),
            done: "telethon ok",
        },
        Part {
            name: "Telethon (@tele_p: mtcute's, pyrotgfork's and grammers' peer)",
            child: spawn(
                python,
                &[
                    &tests.join("telethon/peer.py"),
                    &port_arg,
                    &data,
                    telethon,
                    &"mtcute_a,pyro_a,grammers_a",
                ],
                telethon,
                &[],
                &telethon.join("telethon.out"),
            ),
            out: telethon.join("telethon.out"),
            done: "telethon ok",
        },
    ];

    let deadline = started + FLOWS_LIMIT;
    let mut results: Vec<_> = flows.into_iter().map(|p| p.finish(deadline)).collect();
    let flows_took = started.elapsed();
    let deadline = Instant::now() + PEERS_GRACE;
    results.extend(peers.into_iter().map(|p| p.finish(deadline)));
    drop(server);

    let report: String = results
        .iter()
        .map(|(name, ok, text)| {
            let verdict = if *ok { "passed" } else { "FAILED" };
            let hint = if text.contains("No module named 'pyrogram'") {
                format!("(kurigram is missing: {SETUP})\n")
            } else {
                String::new()
            };
            format!("--- {name}: {verdict}\n{hint}{text}\n")
        })
        .collect();
    let timing = format!(
        "grammers build {:.1} s, flows {:.1} s",
        built.as_secs_f64(),
        flows_took.as_secs_f64()
    );
    assert!(
        results.iter().all(|(_, ok, _)| *ok),
        "{report}{timing}\nserver log: {}",
        data.with_extension("log").display()
    );
    println!("{report}{timing}");
    let _ = std::fs::remove_dir_all(&work);
}

/// The key-table patch against the shape of grammers-mtproto 0.11.0's function, and its
/// refusal of anything else.
#[test]
fn grammers_key_table_patch() {
    let source = "use x;\n\
        #[allow(clippy::unreadable_literal)]\n\
        fn key_for_fingerprint(fingerprint: i64) -> Option<rsa::Key> {\n    \
            Some(match fingerprint {\n        \
                // Production\n        \
                -3414540481677951611 => rsa::Key::new(\"29\", \"65537\").unwrap(),\n\n        \
                _ => return None\n    \
            })\n\
        }\n\
        \n#[cfg(test)]\nmod tests {}\n";
    let patched = grammers_build::patch_key_table(source).expect("patched");
    assert!(patched.contains("        _ => return server_kit_test_key(fingerprint)\n    })\n}\n"));
    assert!(patched.ends_with(grammers_fn_tail()));
    assert!(!patched.contains("return None\n    })"));
    // Patched twice, or a changed function: refused.
    assert!(grammers_build::patch_key_table(&patched).is_err());
    assert!(
        grammers_build::patch_key_table(&source.replace("_ => return None", "_ => None")).is_err()
    );
    assert!(
        grammers_build::patch_key_table(&source.replace("fn key_for_fingerprint", "fn keys"))
            .is_err()
    );
    let key = RsaPublicKey::new(&[0xc5; 256], &[1, 0, 1]).expect("key");
    let env = grammers_build::key_env(&key);
    let parts: Vec<&str> = env.split(':').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], key.fingerprint().to_string());
    assert_eq!(parts[2], "65537");
    assert!(parts[1].bytes().all(|b| b.is_ascii_digit()) && parts[1].len() > 600);
}

/// The end of the function the patch appends.
fn grammers_fn_tail() -> &'static str {
    "    rsa::Key::new(parts.next()?, parts.next()?)\n}\n"
}
