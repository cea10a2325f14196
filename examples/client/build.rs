//! Generates `$OUT_DIR/extra.rs` from `schema/extra.tl`: TL types of your own choosing (here
//! `help.getNearestDc`, copied from the official schema), callable with `Client::invoke`
//! like the built-in API. See `src/bin/custom-types.rs`.

fn main() {
    tl_codegen::Config::new()
        .schema("schema/extra.tl")
        .out_file("extra.rs")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
