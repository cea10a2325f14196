//! The real Telegram schemas in `schemas/telegram` parse, validate and diff as expected.

use tl_schema::{Category, Severity, diff, parse, validate};

fn read(name: &str) -> String {
    let path = format!("{}/schemas/telegram/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn layer_229_parses_and_validates() {
    let schema = parse(&read("api-layer229.tl")).unwrap();
    assert_eq!(schema.layer, Some(229));
    let types = schema
        .definitions
        .iter()
        .filter(|d| d.category == Category::Type)
        .count();
    let functions = schema.definitions.len() - types;
    assert!(
        types > 1500 && functions > 700,
        "{types} types, {functions} functions"
    );
    let errors: Vec<_> = validate(&schema)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let send = schema
        .definitions
        .iter()
        .find(|d| d.full_name() == "messages.sendMessage")
        .unwrap();
    assert_eq!(send.category, Category::Function);
    assert!(send.explicit_id);
}

#[test]
fn layer_198_and_mtproto_parse() {
    let old = parse(&read("api-layer198.tl")).unwrap();
    assert_eq!(old.layer, None, "the 198 copy has its LAYER line stripped");
    let errors: Vec<_> = validate(&old)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let mt = parse(&read("mtproto.tl")).unwrap();
    let names: Vec<_> = mt.definitions.iter().map(|d| d.full_name()).collect();
    for expected in [
        "resPQ",
        "req_DH_params",
        "msgs_ack",
        "ping_delay_disconnect",
        "tlsBlockScope",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing");
    }
    let errors: Vec<_> = validate(&mt)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn computed_ids_match_nearly_every_explicit_id() {
    for file in ["api-layer229.tl", "api-layer198.tl", "mtproto.tl"] {
        let schema = parse(&read(file)).unwrap();
        let mismatched: Vec<String> = validate(&schema)
            .into_iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| d.to_string())
            .collect();
        // Telegram's own schemas carry a handful of ids that are not the CRC of their line.
        assert!(mismatched.len() <= 6, "{file}: {mismatched:#?}");
    }
}

#[test]
fn diff_198_to_229_by_name() {
    let old = parse(&read("api-layer198.tl")).unwrap();
    let new = parse(&read("api-layer229.tl")).unwrap();
    let d = diff(&old, &new);
    assert_eq!(d.changed_id.len(), 141);
    assert_eq!(d.added.len(), 422);
    assert_eq!(d.removed.len(), 42);
    assert!(
        d.changed_id
            .iter()
            .any(|c| c.name == "messages.sendMessage")
    );
}

#[test]
fn canonical_text_round_trips() {
    for file in ["api-layer229.tl", "mtproto.tl"] {
        let schema = parse(&read(file)).unwrap();
        let again = parse(&schema.to_tl()).unwrap();
        assert_eq!(schema.definitions.len(), again.definitions.len());
        let mut originals = schema.definitions.clone();
        originals.sort_by_key(|d| d.category);
        for (a, b) in originals.iter().zip(&again.definitions) {
            assert_eq!(
                (a.full_name(), a.id, &a.params, &a.ty),
                (b.full_name(), b.id, &b.params, &b.ty)
            );
        }
    }
}
