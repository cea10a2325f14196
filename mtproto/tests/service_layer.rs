//! The generated service-layer types carry the ids of `tests/vectors/protocol_constants.json`
//! and decode the packets of the docs handshake sample.

use mtproto::tl::{enums, functions, types};
use tl_runtime::{Deserialize, Identifiable, Serialize};

fn load(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn constructor_ids_match_the_protocol_constants() {
    let v = load("protocol_constants.json");
    let text = v.to_string().to_ascii_lowercase();
    for (name, id) in [
        ("msgs_ack", types::MsgsAck::CONSTRUCTOR_ID),
        ("bad_server_salt", types::BadServerSalt::CONSTRUCTOR_ID),
        (
            "new_session_created",
            types::NewSessionCreated::CONSTRUCTOR_ID,
        ),
        ("pong", types::Pong::CONSTRUCTOR_ID),
        (
            "ping_delay_disconnect",
            functions::PingDelayDisconnect::CONSTRUCTOR_ID,
        ),
        ("req_pq_multi", functions::ReqPqMulti::CONSTRUCTOR_ID),
    ] {
        assert!(
            text.contains(&format!("{id:08x}")),
            "{name} {id:08x} not in protocol_constants.json"
        );
    }
}

#[test]
fn docs_sample_packets_decode() {
    let v = load("samples_auth_key.json");
    // Unencrypted packets: auth_key_id 0 (8), msg_id (8), length (4), body.
    let req = hex(v["step1_req_pq_multi_packet"].as_str().unwrap());
    let body = &req[20..];
    let call = functions::ReqPqMulti::from_bytes(body.to_vec()).unwrap();
    assert_eq!(call.nonce.to_vec(), hex(v["nonce"].as_str().unwrap()));
    assert_eq!(call.to_bytes(), body);

    let res = hex(v["step2_resPQ_packet"].as_str().unwrap());
    let enums::ResPQ::ResPQ(res_pq) = enums::ResPQ::from_bytes(res[20..].to_vec()).unwrap();
    assert_eq!(
        res_pq.server_nonce.to_vec(),
        hex(v["server_nonce"].as_str().unwrap())
    );
    assert_eq!(
        &res_pq.pq[..],
        &hex(v["pq_tl_string"].as_str().unwrap())[1..9]
    );
    assert_eq!(res_pq.server_public_key_fingerprints.len(), 3);

    let inner = hex(v["step6_server_DH_inner_data"].as_str().unwrap());
    let mut reader = tl_runtime::Reader::new(inner.clone());
    let data = enums::ServerDhInnerData::deserialize(&mut reader).unwrap();
    let enums::ServerDhInnerData::ServerDhInnerData(data) = data;
    assert_eq!(data.g, 3);
    assert_eq!(data.dh_prime.len(), 256);
    assert_eq!(data.server_time, v["server_time"].as_i64().unwrap() as i32);
}
