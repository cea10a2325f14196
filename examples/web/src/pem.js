// Reads an RSA public key from PEM: PKCS#1 ("RSA PUBLIC KEY", what the server writes) or
// SubjectPublicKeyInfo ("PUBLIC KEY"). Returns the modulus and exponent as big-endian bytes.
// A few lines of DER, enough for these two shapes: anything else throws.

function derReader(bytes) {
  let at = 0;
  const read = (tag) => {
    if (bytes[at] !== tag) throw new Error(`RSA key: expected DER tag ${tag} at ${at}, found ${bytes[at]}`);
    at += 1;
    let len = bytes[at++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 3) throw new Error("RSA key: bad DER length");
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | bytes[at++];
    }
    if (at + len > bytes.length) throw new Error("RSA key: truncated");
    const start = at;
    return { start, end: start + len, body: bytes.subarray(start, start + len) };
  };
  return {
    enter(tag) {
      return read(tag);
    },
    take(tag) {
      const item = read(tag);
      at = item.end;
      return item.body;
    },
    seek(to) {
      at = to;
    },
  };
}

function unsigned(int) {
  let i = 0;
  while (i < int.length - 1 && int[i] === 0) i++;
  return int.subarray(i);
}

export function readPkcs1(pem) {
  const spki = pem.includes("BEGIN PUBLIC KEY");
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const r = derReader(der);
  r.enter(0x30);
  if (spki) {
    r.take(0x30); // AlgorithmIdentifier
    const bits = r.enter(0x03);
    r.seek(bits.start + 1); // the unused-bits byte
    r.enter(0x30);
  }
  const n = unsigned(r.take(0x02));
  const e = unsigned(r.take(0x02));
  return { n, e };
}
