//! Generates the layer-229 API types from the project's own subset schema, decodable and
//! encodable in both directions (clients send functions and read results; the server reads
//! functions and writes results), and a bridge for every other layer the server serves.
//!
//! The served layers are discovered: every `tl-schema/schemas/api-<N>.tl` but the primary
//! `api-229.tl` gets a bridge (`layer_<N>.rs`, the module `layer<N>`) and an entry in the
//! registry (`layers_registry.rs`, included by `src/layers.rs`). A new layer is its schema
//! file and nothing else, as long as the rule catalogue below covers what its bridge needs;
//! when it does not, the build fails naming the rule to write (in `src/layer_rules.rs`, then
//! offered here). Rules are offered, not imposed: a bridge uses one only where it needs it.
//! Peers are also accepted where the schema asks for a user or a channel (`Config::accept`),
//! as Telegram does.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tl_codegen::{Bridge, Direction, Rule};

/// Where the schemas are, relative to this crate.
const SCHEMAS: &str = "../../tl-schema/schemas";
/// The layer the API is generated for; every other `api-<N>.tl` is bridged to it.
const PRIMARY: u32 = 229;

/// The hand-written rules (`src/layer_rules.rs`), offered to every bridge: values a field of
/// one layer needs that the other layer does not have under the same name, what cannot be
/// carried at all, and results whose type changed its name.
fn rule_catalogue() -> Vec<Rule> {
    let r = |name: &str| format!("crate::layer_rules::{name}");
    let down = |def: &str, field: &str, f: &str| Rule::field(Direction::Down, def, field, &r(f));
    let up = |def: &str, field: &str, f: &str| Rule::field(Direction::Up, def, field, &r(f));
    let keyboards = "inline keyboards are not carried between layer 229 and the client's";
    vec![
        Rule::result("channels.joinChannel", &r("join_channel_updates")),
        down("messageActionGiftPremium", "months", "gift_premium_months"),
        down("messageActionGiftCode", "months", "gift_code_months"),
        down(
            "messageActionSetChatTheme",
            "emoticon",
            "chat_theme_emoticon",
        ),
        down(
            "updatePaidReactionPrivacy",
            "private",
            "paid_reaction_private",
        ),
        down(
            "starGiftAttributeModel",
            "rarity_permille",
            "model_rarity_permille",
        ),
        down(
            "starGiftAttributePattern",
            "rarity_permille",
            "pattern_rarity_permille",
        ),
        down(
            "starGiftAttributeBackdrop",
            "rarity_permille",
            "backdrop_rarity_permille",
        ),
        down(
            "botVerification",
            "description",
            "bot_verification_description",
        ),
        up("keyboardButton", "type", "keyboard_button_type"),
        up("poll", "hash", "poll_hash"),
        Rule::refuse(Direction::Up, "replyInlineMarkup", keyboards),
        Rule::refuse(Direction::Down, "replyInlineMarkup", keyboards),
        Rule::refuse(
            Direction::Down,
            "messages.chatInviteJoinResultWebView",
            "layer 229 has no web view result for a join that needs one",
        ),
    ]
}

/// A served layer: its number (from the file name, checked against its `// LAYER` line), its
/// schema file, and the first paragraph of the file's leading comment (for the module's doc).
struct Served {
    layer: u32,
    path: PathBuf,
    about: String,
}

/// Every `api-<N>.tl` in [`SCHEMAS`] but the primary, by layer.
fn served_layers() -> Vec<Served> {
    let mut served = Vec::new();
    let entries = std::fs::read_dir(SCHEMAS).unwrap_or_else(|e| panic!("{SCHEMAS}: {e}"));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{SCHEMAS}: {e}")).path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(layer) = name
            .strip_prefix("api-")
            .and_then(|n| n.strip_suffix(".tl"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if layer == PRIMARY {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let declared = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("// LAYER "))
            .filter_map(|n| n.trim().parse::<u32>().ok())
            .next_back();
        assert_eq!(
            declared,
            Some(layer),
            "{}: the file name says layer {layer}, its `// LAYER` line says {declared:?}",
            path.display()
        );
        let about = text
            .lines()
            .map_while(|l| l.strip_prefix("//"))
            .map(str::trim)
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        served.push(Served { layer, path, about });
    }
    served.sort_by_key(|s| s.layer);
    served
}

/// `layer_modules.rs` (the `layer<N>` modules, included at the crate root) and
/// `layers_registry.rs` (`SERVED` and the bridges' entry points, included by `layers`).
fn registry(served: &[Served]) -> (String, String) {
    let mut modules = String::from("// @generated by build.rs: one module per served layer.\n");
    let mut table = String::from("// @generated by build.rs: the served layers.\n");
    let mut layers: Vec<u32> = served.iter().map(|s| s.layer).collect();
    layers.push(PRIMARY);
    layers.sort_unstable();
    let list = layers.iter().map(u32::to_string).collect::<Vec<_>>();
    writeln!(
        table,
        "/// Every layer the server serves, ascending: the primary layer ({PRIMARY}) and each \
         layer with a schema file `tl-schema/schemas/api-<N>.tl`.\n\
         pub const SERVED: &[i32] = &[{}];",
        list.join(", ")
    )
    .unwrap();
    table.push_str("\n/// The bridges, ascending by layer.\nconst BRIDGES: &[Bridge] = &[\n");
    for s in served {
        let n = s.layer;
        let file = s.path.file_name().unwrap().to_string_lossy();
        let doc = format!(
            "{}\n\nBridged to layer {PRIMARY}, generated from `tl-schema/schemas/{file}`: Rust \
             types for the layer-{n} definitions whose shape differs from {PRIMARY} (and those \
             that contain them; the rest are {PRIMARY}'s own types), conversions both ways \
             (`tl_runtime::Convert`), and byte-level entry points for a server: `upgrade_call` \
             (a layer-{n} request into the {PRIMARY} one), `downgrade_result` (a {PRIMARY} \
             result into what the layer-{n} function returns), `downgrade_boxed` (a {PRIMARY} \
             value such as `Updates` into layer {n}). [`crate::layers`] picks the bridge for an \
             announced layer.",
            s.about
        );
        writeln!(
            modules,
            "#[doc = {doc:?}]\n#[allow(clippy::large_enum_variant, missing_docs)]\npub mod layer{n} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/layer_{n}.rs\"));\n}}"
        )
        .unwrap();
        writeln!(
            table,
            "    Bridge {{ layer: {n}, upgrade_call: crate::layer{n}::upgrade_call, downgrade_result: crate::layer{n}::downgrade_result, downgrade_boxed: crate::layer{n}::downgrade_boxed }},"
        )
        .unwrap();
    }
    table.push_str("];\n");
    (modules, table)
}

fn write_out(name: &str, text: &str) {
    let dir = std::env::var_os("OUT_DIR").expect("OUT_DIR");
    tl_codegen::write_if_changed(&Path::new(&dir).join(name), text)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn main() {
    // A directory: cargo reruns the script when a schema file is added, changed or removed.
    println!("cargo:rerun-if-changed={SCHEMAS}");
    let served = served_layers();
    let (modules, table) = registry(&served);
    write_out("layer_modules.rs", &modules);
    write_out("layers_registry.rs", &table);

    let mut config = tl_codegen::Config::new();
    config
        .schema(format!("{SCHEMAS}/api-{PRIMARY}.tl"))
        .derive_arbitrary(tl_codegen::Gate::feature("arbitrary"))
        .derive_serde(tl_codegen::Gate::feature("serde"))
        .server_mode(true)
        // Telegram decodes a peer where the schema asks for a user or a channel, and clients
        // rely on it (kurigram sends inputPeerChannel to about 35 channel methods, several
        // clients inputPeerUser inside users.getUsers): the same fields, read as the other.
        .accept("inputPeerEmpty", "inputUserEmpty")
        .accept("inputPeerSelf", "inputUserSelf")
        .accept("inputPeerUser", "inputUser")
        .accept("inputPeerUserFromMessage", "inputUserFromMessage")
        .accept("inputPeerEmpty", "inputChannelEmpty")
        .accept("inputPeerChannel", "inputChannel")
        .accept("inputPeerChannelFromMessage", "inputChannelFromMessage")
        .out_file(format!("api_{PRIMARY}.rs"));
    for s in &served {
        let bridge = rule_catalogue().into_iter().fold(
            Bridge::new(&s.path).out_file(format!("layer_{}.rs", s.layer)),
            Bridge::offer,
        );
        config.layer_bridge(bridge);
    }
    // A made-up layer, converted both ways: only the unit tests include it.
    config.layer_bridge(
        Bridge::new("tests/data/api-sample-200.tl")
            .out_file("layer_sample.rs")
            .both_ways(true),
    );
    config.generate().unwrap_or_else(|e| panic!("{e}"));
}
