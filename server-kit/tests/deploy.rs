//! The files of `deploy/` stay valid: the server starts from the one-node config file, and
//! every key of both files, the commented-out examples included, is a flag of the server.

mod common;

use common::{ServerProcess, free_port, scratch_dir};
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

fn deploy_file(name: &str) -> String {
    format!("{}/deploy/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The long flags the server's `--help` lists.
fn server_flags() -> Vec<String> {
    let help = Command::new(BINARY)
        .arg("--help")
        .output()
        .expect("server-kit --help");
    let text = String::from_utf8_lossy(&help.stdout);
    text.split_whitespace()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|flag| {
            flag.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_owned()
        })
        .filter(|flag| !flag.is_empty())
        .collect()
}

#[test]
fn the_server_starts_from_the_one_node_config() {
    let dir = scratch_dir("deploy-node");
    // The file's fixed metrics port is moved to a free one (the command line wins).
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = ServerProcess::start_with(
        BINARY,
        free_port(),
        &dir.join("data"),
        &["--config", &deploy_file("node.toml"), "--metrics", &metrics],
    );
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_key_of_the_config_files_is_a_server_flag() {
    let flags = server_flags();
    assert!(
        flags.iter().any(|f| f == "store"),
        "flags from --help: {flags:?}"
    );
    for name in ["node.toml", "cluster-node.toml"] {
        let text = std::fs::read_to_string(deploy_file(name)).expect("read the config file");
        let parsed =
            server_kit::config_file::flags_from_toml(&text, |key| flags.iter().any(|f| f == key));
        let parsed = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed.len() >= 5, "{name}: {parsed:?}");
        // The commented-out examples (`# key = value`) are flags too, with values they take.
        let mut examples = 0;
        for line in text.lines() {
            let Some(example) = line.strip_prefix("# ") else {
                continue;
            };
            let Some((key, _)) = example.split_once(" = ") else {
                continue;
            };
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                continue;
            }
            server_kit::config_file::flags_from_toml(example, |key| flags.iter().any(|f| f == key))
                .unwrap_or_else(|e| panic!("{name}: {example}: {e}"));
            examples += 1;
        }
        assert!(examples >= 2, "{name}: {examples} examples");
    }
}
