//! Generates the whole layer-229 API plus the MTProto service layer from the published schemas
//! in `tl-schema/schemas/telegram`.

fn main() {
    let telegram =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tl-schema/schemas/telegram");
    tl_codegen::Config::new()
        .schema(telegram.join("api-layer229.tl"))
        .schema(telegram.join("mtproto.tl"))
        .derive_arbitrary(tl_codegen::Gate::feature("arbitrary"))
        .derive_serde(tl_codegen::Gate::feature("serde"))
        .server_mode(true)
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
