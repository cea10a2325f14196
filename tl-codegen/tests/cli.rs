//! The `tl` command on Telegram's real schemas.

use std::process::Command;

fn telegram(name: &str) -> String {
    format!(
        "{}/../tl-schema/schemas/telegram/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn tl(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tl"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_prints_counts_and_layer() {
    let (ok, stdout, stderr) = tl(&["check", &telegram("api-layer229.tl")]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("constructors: 1658"), "{stdout}");
    assert!(stdout.contains("functions: 813"), "{stdout}");
    assert!(stdout.contains("layer: 229"), "{stdout}");
    assert!(
        stderr.is_empty(),
        "every id of layer 229 is the CRC of its line: {stderr}"
    );
    // mtproto.tl has a few real ids that are not the CRC of their line: warnings only.
    let (ok, _, stderr) = tl(&["check", &telegram("mtproto.tl")]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("warning: line") && stderr.contains("`ipPortSecret`"),
        "{stderr}"
    );
}

#[test]
fn check_fails_on_a_broken_schema() {
    let dir = std::env::temp_dir().join(format!("tl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.tl");
    std::fs::write(&bad, "ok#00000001 = Ok;\nbroken#2 x:int = \n").unwrap();
    let (ok, _, stderr) = tl(&["check", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("line 2, column 18: expected the result type"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diff_between_layers() {
    let (ok, stdout, stderr) = tl(&[
        "diff",
        &telegram("api-layer198.tl"),
        &telegram("api-layer229.tl"),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.ends_with("added: 422, removed: 42, changed id: 141\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("~ Function messages.sendMessage "),
        "{stdout}"
    );
}

#[test]
fn subset_and_gen() {
    let dir = std::env::temp_dir().join(format!("tl-cli-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let subset = dir.join("subset.tl");
    let (ok, _, stderr) = tl(&[
        "subset",
        &telegram("api-layer229.tl"),
        "messages.sendMessage",
        "-o",
        subset.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let text = std::fs::read_to_string(&subset).unwrap();
    assert!(text.contains("messages.sendMessage#"));
    assert!(text.contains("inputPeerUser#dde8a54c"));
    assert!(!text.contains("stories.sendStory"));
    let schema = tl_schema::parse(&text).unwrap();
    assert_eq!(schema.layer, Some(229));

    let out = dir.join("api.rs");
    let (ok, stdout, stderr) = tl(&[
        "gen",
        subset.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--server",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("wrote"));
    let (_, stdout, _) = tl(&[
        "gen",
        subset.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--server",
    ]);
    assert!(stdout.starts_with("unchanged"), "{stdout}");
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("pub struct SendMessage")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn subset_skips_missing_roots_and_sets_the_layer() {
    let dir = std::env::temp_dir().join(format!("tl-cli-skip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("subset.tl");
    let (ok, _, stderr) = tl(&[
        "subset",
        "--layer",
        "198",
        "--skip-missing",
        &telegram("api-layer198.tl"),
        "channels.joinChannel",
        "no.suchMethod",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("skipped `no.suchMethod`"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("// Skipped (not in this schema): no.suchMethod"));
    assert!(text.contains("channels.joinChannel#24b524c5"));
    assert_eq!(tl_schema::parse(&text).unwrap().layer, Some(198));
    let (ok, _, _) = tl(&["subset", &telegram("api-layer198.tl"), "no.suchMethod"]);
    assert!(!ok, "without --skip-missing an unknown root fails");
}

#[test]
fn bridge_lists_what_differs_and_names_the_rules_it_needs() {
    let schemas = format!("{}/../tl-schema/schemas", env!("CARGO_MANIFEST_DIR"));
    let (primary, old) = (
        format!("{schemas}/api-229.tl"),
        format!("{schemas}/api-198.tl"),
    );
    let (ok, stdout, stderr) = tl(&["bridge", &primary, &old]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("functions (request converted): 12"),
        "{stdout}"
    );
    assert!(stdout.contains("  channels.joinChannel"), "{stdout}");
    assert!(stdout.contains("  message\n"), "{stdout}");
    // Generating needs the hand-written rules mtproto-api's build.rs registers.
    let out = std::env::temp_dir().join(format!("tl-bridge-{}.rs", std::process::id()));
    let (ok, _, stderr) = tl(&["bridge", &primary, &old, "-o", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("tl_codegen::Rule::result(\"channels.joinChannel\""),
        "{stderr}"
    );
    let (ok, stdout, _) = tl(&["bridge", &primary, &old]);
    assert!(ok && stdout.contains("does not generate yet: "), "{stdout}");
    // With mtproto-api's catalogue it generates, using the rules it needs.
    let rules = format!(
        "{}/../mtproto/api/layer-rules.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let (ok, stdout, stderr) = tl(&["bridge", &primary, &old, "--rules", &rules]);
    assert!(
        ok && stdout.contains("generates with the rules offered"),
        "{stdout}{stderr}"
    );
    let args = [
        "bridge",
        &primary,
        &old,
        "--rules",
        &rules,
        "-o",
        out.to_str().unwrap(),
    ];
    let (ok, _, stderr) = tl(&args);
    assert!(ok, "{stderr}");
    let code = std::fs::read_to_string(&out).expect("the bridge was written");
    assert!(code.contains("crate::layer_rules::join_channel_updates"));
    let _ = std::fs::remove_file(&out);
    // A catalogue with a bad line is refused, naming the line.
    let bad = std::env::temp_dir().join(format!("tl-rules-{}.txt", std::process::id()));
    std::fs::write(&bad, "# fine\nsideways a.b crate::f\n").unwrap();
    let (ok, _, stderr) = tl(&["bridge", &primary, &old, "--rules", bad.to_str().unwrap()]);
    assert!(!ok && stderr.contains("rule catalogue line 2"), "{stderr}");
    let _ = std::fs::remove_file(&bad);
}
