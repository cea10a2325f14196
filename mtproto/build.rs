//! Generates the service-layer types (handshake, service messages) from the project's own
//! `tl-schema/schemas/mtproto.tl`, decodable on both sides (server mode).

fn main() {
    tl_codegen::Config::new()
        .schema("../tl-schema/schemas/mtproto.tl")
        .server_mode(true)
        .out_file("mtproto_tl.rs")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
