//! Generates the layer-229 API types from the project's own subset schema, decodable and
//! encodable in both directions (clients send functions and read results; the server reads
//! functions and writes results), and the layer-198 bridge (GramJS): the 198 definitions that
//! differ from 229, with conversions both ways. The few hand-written rules it needs are in
//! `src/layer_rules.rs`. Peers are also accepted where the schema asks for a user or a
//! channel (`Config::accept`), as Telegram does.

use tl_codegen::{Bridge, Direction, Rule};

fn main() {
    let rules = "crate::layer_rules::";
    let layer198 = Bridge::new("../../tl-schema/schemas/api-198.tl")
        .out_file("layer_198.rs")
        .rule(Rule::result(
            "channels.joinChannel",
            &format!("{rules}join_channel_updates"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "messageActionGiftPremium",
            "months",
            &format!("{rules}gift_premium_months"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "messageActionGiftCode",
            "months",
            &format!("{rules}gift_code_months"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "messageActionSetChatTheme",
            "emoticon",
            &format!("{rules}chat_theme_emoticon"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "updatePaidReactionPrivacy",
            "private",
            &format!("{rules}paid_reaction_private"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "starGiftAttributeModel",
            "rarity_permille",
            &format!("{rules}model_rarity_permille"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "starGiftAttributePattern",
            "rarity_permille",
            &format!("{rules}pattern_rarity_permille"),
        ))
        .rule(Rule::field(
            Direction::Down,
            "starGiftAttributeBackdrop",
            "rarity_permille",
            &format!("{rules}backdrop_rarity_permille"),
        ))
        .rule(Rule::field(
            Direction::Up,
            "keyboardButton",
            "type",
            &format!("{rules}keyboard_button_type"),
        ))
        .rule(Rule::field(
            Direction::Up,
            "poll",
            "hash",
            &format!("{rules}poll_hash"),
        ))
        .rule(Rule::refuse(
            Direction::Up,
            "replyInlineMarkup",
            "inline keyboards are not carried between layers 198 and 229",
        ))
        .rule(Rule::refuse(
            Direction::Down,
            "replyInlineMarkup",
            "inline keyboards are not carried between layers 198 and 229",
        ));
    tl_codegen::Config::new()
        .schema("../../tl-schema/schemas/api-229.tl")
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
        .out_file("api_229.rs")
        .layer_bridge(layer198)
        // A made-up third layer, converted both ways: only the unit tests include it (it shows
        // that another layer is another schema file and this one line).
        .layer_bridge(
            Bridge::new("tests/data/api-sample-200.tl")
                .out_file("layer_sample.rs")
                .both_ways(true),
        )
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
