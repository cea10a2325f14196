//! A layer that does not exist yet is served by adding its schema file and nothing else.
//!
//! The test copies this crate and the code generator into a scratch workspace, writes a
//! made-up `api-231.tl` there (layer 229's schema with a new optional field in `message`, so
//! `message` gets a new constructor id), builds the copy and runs a check inside it: layer 231
//! is served exactly, a layer-229 message reaches a layer-231 client with 231's constructor
//! id and the new field absent, and a layer-231 request that did not change passes through.
//! No source file of the copy is touched; only the schema file is new.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this crate is `mtproto/api`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies `from` into `to`, directories recursively, leaving out `target` folders.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let (path, name) = (entry.path(), entry.file_name());
        if name == "target" {
            continue;
        }
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// Layer 229's schema as layer 231, with `future_note:flags2.31?string` added to `message`
/// and the constructor id that the new line hashes to. Returns the schema and the new id.
fn schema_231(api_229: &str) -> (String, u32) {
    let mut new_id = None;
    let mut out = String::with_capacity(api_229.len() + 64);
    for line in api_229.lines() {
        let line = if line.trim() == "// LAYER 229" {
            "// LAYER 231".to_owned()
        } else if line.starts_with("message#") {
            let changed =
                line.replacen(" = Message;", " future_note:flags2.31?string = Message;", 1);
            let parsed = tl_schema::parse(&changed).expect("the changed message line parses");
            let def = parsed.definitions.first().expect("one definition");
            let id = tl_schema::compute_id(def);
            new_id = Some(id);
            let (_, rest) = changed.split_once(' ').expect("message#id fields");
            format!("message#{id:08x} {rest}")
        } else {
            line.to_owned()
        };
        out.push_str(&line);
        out.push('\n');
    }
    (
        format!("// A made-up future layer (test only).\n\n{out}"),
        new_id.expect("api-229.tl has a message line"),
    )
}

/// What runs inside the scratch copy, as one of its integration tests.
const CHECK: &str = r#"
use mtproto_api::{enums, functions, layers, types};
use tl_runtime::{Identifiable, Serialize};

#[test]
fn layer_231_is_served_from_its_schema_file() {
    assert!(layers::SERVED.contains(&231), "{:?}", layers::SERVED);
    let served = layers::served(231);
    assert!(served.exact && served.layer == 231);
    let message: enums::Message =
        types::Message::new(5, types::PeerUser { user_id: 42 }.into(), 1_700_000_000, "hi".into()).into();
    let bytes = message.to_bytes();
    let old = served
        .downgrade_boxed("Message", &bytes)
        .expect("downgrade")
        .expect("message changed in 231");
    let id = u32::from_le_bytes(old[..4].try_into().unwrap());
    assert_eq!(id, NEW_ID, "the 231 constructor id");
    assert_ne!(id, types::Message::CONSTRUCTOR_ID);
    // One flags2 word more than 229's bytes? No: the new field is optional and absent, so the
    // 231 encoding is 229's with the new id.
    assert_eq!(&old[4..], &bytes[4..]);
    let request = functions::messages::GetHistory {
        peer: types::InputPeerSelf {}.into(),
        offset_id: 0, offset_date: 0, add_offset: 0, limit: 10, max_id: 0, min_id: 0, hash: 0,
    };
    assert_eq!(served.upgrade_call(&request.to_bytes()).expect("upgrade"), None);
}
"#;

#[test]
fn a_new_layer_is_its_schema_file_and_nothing_else() {
    let root = workspace();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("future-layer");
    let _ = std::fs::remove_dir_all(scratch.join("src"));
    let src = scratch.join("src");
    for dir in [
        "tl-schema",
        "tl-codegen/src",
        "tl-codegen/runtime",
        "mtproto/api",
    ] {
        copy_tree(&root.join(dir), &src.join(dir));
    }
    for file in ["Cargo.lock", "tl-codegen/Cargo.toml"] {
        std::fs::copy(root.join(file), src.join(file)).expect(file);
    }
    // The workspace manifest with this crate as its only member.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let (head, rest) = manifest.split_once("members = [").expect("members");
    let (_, after) = rest
        .split_once("[workspace.package]")
        .expect("[workspace.package]");
    std::fs::write(
        src.join("Cargo.toml"),
        format!("{head}members = [\"mtproto/api\"]\n\n[workspace.package]{after}"),
    )
    .expect("scratch Cargo.toml");

    let api_229 = std::fs::read_to_string(root.join("tl-schema/schemas/api-229.tl")).expect("229");
    let (schema, new_id) = schema_231(&api_229);
    std::fs::write(src.join("tl-schema/schemas/api-231.tl"), schema).expect("api-231.tl");
    std::fs::write(
        src.join("mtproto/api/tests/future_check.rs"),
        format!("const NEW_ID: u32 = {new_id:#x};\n{CHECK}"),
    )
    .expect("check");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["test", "-p", "mtproto-api", "--test", "future_check"])
        .current_dir(&src)
        // Its own target dir (the outer build's is locked while this test runs).
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "the copy with api-231.tl did not build or its check failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("test layer_231_is_served_from_its_schema_file ... ok"),
        "the check did not run"
    );
}
