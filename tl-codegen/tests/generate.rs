//! What the generator emits for small schemas, and how it fails on bad ones. (That the output
//! compiles and round-trips is proven by `tl-fullschema` and `examples/tl-build`.)

use tl_codegen::{Config, Error, Gate};

const SCHEMA: &str = "
boolFalse#bc799737 = Bool;
boolTrue#997275b5 = Bool;
vector#1cb5c415 {t:Type} # [ t ] = Vector t;
peerUser#59511722 user_id:long = Peer;
peerChat#36c6019a chat_id:long = Peer;
stats#00000001 flags:# hidden:flags.0?true views:flags.1?int forwards:flags.1?int note:flags.2?string = Stats;
unused#00000002 = Unused;
item#00000003 id:int = Item;
bag#00000004 items:vector<item> all:Vector<%Item> = Bag;
---functions---
getStats#00000005 peer:Peer = Stats;
invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;
getIds#00000006 = Vector<long>;
";

fn generate(config: &Config) -> String {
    config.generate_from_str(SCHEMA).unwrap()
}

/// The code without white space, to look for expressions whatever their line breaks.
fn squash(code: &str) -> String {
    code.split_whitespace().collect()
}

#[test]
fn structs_enums_functions_and_return_types() {
    let code = generate(&Config::new());
    assert!(code.contains("pub struct PeerUser"));
    assert!(code.contains("pub enum Peer {"));
    assert!(code.contains("User(super::types::PeerUser)"));
    assert!(code.contains("type Return = super::enums::Stats;"));
    assert!(code.contains("type Return = ::std::vec::Vec<i64>;"));
    // Generic functions forward the answer type of what they wrap.
    assert!(code.contains("pub struct InvokeWithLayer<X>"));
    assert!(code.contains("type Return = X::Return;"));
    // Bool and Vector are Rust types, not generated items.
    assert!(!code.contains("pub struct BoolTrue"));
    assert!(code.contains("0x59511722_u32 => \"peerUser\""));
    // Every item carries its TL line.
    assert!(code.contains("/// TL: `peerUser#59511722 user_id:long = Peer;`"));
}

#[test]
fn flags_are_computed_and_shared_bits_written_together() {
    let code = generate(&Config::new());
    assert!(code.contains("pub hidden: bool"));
    assert!(code.contains("pub views: ::std::option::Option<i32>"));
    assert!(
        squash(&code).contains("ifself.views.is_some()&&self.forwards.is_some(){2u32}"),
        "{code}"
    );
    assert!(!code.contains("pub flags"), "the flags word is not a field");
}

#[test]
fn bare_vectors_and_bare_items() {
    let code = squash(&generate(&Config::new()));
    // `vector<item>`: no vector id, bare items; `Vector<%Item>`: vector id, bare items.
    assert!(code.contains("::tl_runtime::write_vector(&self.items,true,__out,|__x,__out|::tl_runtime::SerializeBare::serialize_bare(__x,__out)"), "{code}");
    assert!(
        code.contains("::tl_runtime::write_vector(&self.all,false,"),
        "{code}"
    );
    assert!(
        code.contains("::tl_runtime::read_vector(__reader,true,"),
        "{code}"
    );
    assert!(
        code.contains("::tl_runtime::read_vector(__reader,false,"),
        "{code}"
    );
}

#[test]
fn subsets_keep_what_the_roots_need() {
    let code = generate(Config::new().emit(["getStats"]));
    assert!(code.contains("pub struct GetStats"));
    assert!(
        code.contains("pub struct PeerChat"),
        "all constructors of a needed type"
    );
    assert!(!code.contains("Unused"));
    assert!(!code.contains("InvokeWithLayer"));
}

#[test]
fn options_server_serde_arbitrary() {
    let plain = generate(&Config::new());
    assert!(!plain.contains("Deserialize for GetStats"));
    let code = generate(
        Config::new()
            .server_mode(true)
            .derive_serde(Gate::feature("serde"))
            .derive_arbitrary(Gate::feature("fuzz")),
    );
    assert!(code.contains("impl ::tl_runtime::Deserialize for GetStats"));
    assert!(
        squash(&code)
            .contains("#[cfg_attr(feature=\"serde\",derive(::tl_runtime::serde::Serialize"),
        "{code}"
    );
    assert!(code.contains("#[cfg(feature = \"fuzz\")]"));
    assert!(code.contains("pub fn visit_all"));
}

#[test]
fn bad_schemas_are_typed_errors() {
    let err = Config::new()
        .generate_from_str("a#1 x:Missing = A;")
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref d) if d[0].to_string().contains("Missing")),
        "{err}"
    );
    let err = Config::new().generate_from_str("a#1 x = A;").unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    let err = Config::new()
        .emit(["nope"])
        .generate_from_str(SCHEMA)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`nope` names no definition, type or namespace of the schema"
    );
    let err = Config::new()
        .generate_from_str("fooBar#1 = A;\nfoo_bar#2 = A;")
        .unwrap_err();
    assert!(matches!(err, Error::NameClash { .. }), "{err}");
}

#[test]
fn output_is_only_rewritten_when_it_changes() {
    let dir = std::env::temp_dir().join(format!("tl-codegen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("s.tl");
    std::fs::write(&schema, "a#00000001 = A;").unwrap();
    let out = dir.join("out.rs");
    let mut config = Config::new();
    config.schema(&schema).out_file(&out);
    config.generate().unwrap();
    let first = std::fs::metadata(&out).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    config.generate().unwrap();
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), first);
    std::fs::write(&schema, "a#00000001 x:int = A;").unwrap();
    config.generate().unwrap();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("pub x: i32")
    );
    let missing = Config::new()
        .schema(dir.join("nope.tl"))
        .generate()
        .unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn accept_adds_a_decode_arm_and_refuses_mismatched_fields() {
    let schema = "
inputPeerUser#dde8a54c user_id:long access_hash:long = InputPeer;
inputPeerChat#35a95cb9 chat_id:long = InputPeer;
inputUser#f21158c6 user_id:long access_hash:long = InputUser;
inputUserSelf#f7c1b13f = InputUser;
";
    let code = Config::new()
        .accept("inputPeerUser", "inputUser")
        .generate_from_str(schema)
        .unwrap();
    let squashed = squash(&code);
    assert!(
        squashed.contains(
            "0xdde8a54c_u32=>{<super::types::InputUseras::tl_runtime::DeserializeBare>::deserialize_bare_as(__reader,Self::InputUser,)"
        ),
        "no decode arm for inputPeerUser in InputUser:\n{code}"
    );
    // Encoding is not touched: inputUser is written with its own id.
    assert!(squashed.contains("0xf21158c6_u32.to_le_bytes()"), "{code}");
    let without = squash(&Config::new().generate_from_str(schema).unwrap());
    assert_eq!(
        without.matches("0xdde8a54c_u32").count() + 1,
        squashed.matches("0xdde8a54c_u32").count()
    );
    for (from, into) in [
        ("inputPeerChat", "inputUser"),
        ("inputPeerUser", "inputPeerUser"),
        ("nothing", "inputUser"),
    ] {
        match Config::new().accept(from, into).generate_from_str(schema) {
            Err(Error::BadAccept { .. }) => {}
            other => panic!("accept {from} as {into}: {other:?}"),
        }
    }
}
