//! Generates the whole layer-229 API plus the MTProto service layer from `../shared/schema`.

fn main() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schema");
    tl_codegen::Config::new()
        .schema(shared.join("api-layer229.tl"))
        .schema(shared.join("mtproto.tl"))
        .derive_arbitrary(tl_codegen::Gate::feature("arbitrary"))
        .derive_serde(tl_codegen::Gate::feature("serde"))
        .server_mode(true)
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
