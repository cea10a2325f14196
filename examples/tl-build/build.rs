//! Generates `$OUT_DIR/chat.rs` from `schema/chat.tl`, the way a user's crate would.

fn main() {
    tl_codegen::Config::new()
        .schema("schema/chat.tl")
        .derive_serde(tl_codegen::Gate::feature("serde"))
        .out_file("chat.rs")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
