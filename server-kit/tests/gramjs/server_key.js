// GramJS has no PEM loader: the server's RSA key (DATA_DIR/rsa-public.pem) goes into its key
// map (CLIENTS.md, RSA row). Shared by e2e.js and ws_chat.js.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const bigInt = require("big-integer");
const RSA = require("telegram/crypto/RSA");

// TL `bytes` serialization, for the key fingerprint.
function tlBytes(buf) {
  const head = buf.length < 254
    ? Buffer.from([buf.length])
    : Buffer.from([254, buf.length & 0xff, (buf.length >> 8) & 0xff, (buf.length >> 16) & 0xff]);
  const body = Buffer.concat([head, buf]);
  return Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

function trustServerKey(dataDir) {
  const pem = fs.readFileSync(path.join(dataDir, "rsa-public.pem"), "utf8");
  const type = pem.includes("BEGIN RSA PUBLIC KEY") ? "pkcs1" : "spki";
  const jwk = crypto.createPublicKey({ key: pem, format: "pem", type }).export({ format: "jwk" });
  const n = Buffer.from(jwk.n, "base64url");
  const e = Buffer.from(jwk.e, "base64url");
  const sha = crypto.createHash("sha1").update(Buffer.concat([tlBytes(n), tlBytes(e)])).digest();
  const fingerprint = sha.subarray(12, 20).readBigInt64LE(0);
  RSA._serverKeys.set(fingerprint.toString(), {
    n: bigInt(n.toString("hex"), 16),
    e: bigInt(e.toString("hex"), 16).toJSNumber(),
  });
}

module.exports = { trustServerKey };
