//! Generates the layer-229 API types from the project's own subset schema, decodable and
//! encodable in both directions (clients send functions and read results; the server reads
//! functions and writes results).

fn main() {
    tl_codegen::Config::new()
        .schema("../../tl-schema/schemas/api-229.tl")
        .derive_arbitrary(tl_codegen::Gate::feature("arbitrary"))
        .derive_serde(tl_codegen::Gate::feature("serde"))
        .server_mode(true)
        .out_file("api_229.rs")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
