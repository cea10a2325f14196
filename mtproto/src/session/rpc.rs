//! `rpc_result#f35c6d01 req_msg_id:long result:Object`: the answer to a call.

/// The constructor id of `rpc_result`.
pub const RPC_RESULT_ID: u32 = 0xf35c_6d01;

/// An answer and the call it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcResult<'a> {
    /// The msg_id of the call.
    pub req_msg_id: i64,
    /// The answer: a TL object of the call's return type, `rpc_error` or `gzip_packed`.
    pub result: &'a [u8],
}

/// Reads an `rpc_result`; `None` if the body is not one.
pub fn read_rpc_result(body: &[u8]) -> Option<RpcResult<'_>> {
    if body.len() < 12 || body[..4] != RPC_RESULT_ID.to_le_bytes() {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&body[4..12]);
    Some(RpcResult {
        req_msg_id: i64::from_le_bytes(id),
        result: &body[12..],
    })
}

/// Writes an `rpc_result` answering `req_msg_id` with `result`.
pub fn write_rpc_result(req_msg_id: i64, result: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + result.len());
    out.extend_from_slice(&RPC_RESULT_ID.to_le_bytes());
    out.extend_from_slice(&req_msg_id.to_le_bytes());
    out.extend_from_slice(result);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let body = write_rpc_result(-7, &[1, 2, 3, 4]);
        assert_eq!(
            read_rpc_result(&body),
            Some(RpcResult {
                req_msg_id: -7,
                result: &[1, 2, 3, 4]
            })
        );
        assert_eq!(read_rpc_result(&body[..11]), None);
        assert_eq!(read_rpc_result(&[0; 16]), None);
    }
}
