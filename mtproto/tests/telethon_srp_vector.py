#!/usr/bin/env python3
"""Makes the fixed SRP vector of mtproto/src/srp.rs (test `telethon_vector`) with Telethon 1.45.0.

Telethon's own `telethon.password.compute_check` and `compute_digest` compute the client side
(A, M1) and the verifier v; the client's secret `a` is fixed by replacing `os.urandom` for the
one call Telethon makes. The server's B is the SRP formula, B = (k*v + g^b) mod p with
k = H(p | g), written out here because Telethon has no server side. Run it with python3 and
paste the printed constants into the test; it needs `pip install telethon==1.45.0`.
"""

import hashlib

import telethon
from telethon import password as pw
from telethon.tl import types

assert telethon.__version__ == "1.45.0", telethon.__version__

P = bytes.fromhex(
    "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d2"
    "2530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc97465129693284"
    "54f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a69581"
    "1051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d"
    "169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850c"
    "e929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b"
)
G = 3
PASSWORD = "correct horse battery staple"
SALT1 = bytes(range(1, 9)) + bytes(range(100, 132))  # 8 server bytes + 32 client bytes
SALT2 = bytes(range(200, 216))
A_SECRET = hashlib.sha512(b"client a").digest() * 4  # 256 bytes
B_SECRET = hashlib.sha512(b"server b").digest() * 4

algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
    salt1=SALT1, salt2=SALT2, g=G, p=P
)
p = int.from_bytes(P, "big")
x = pw.compute_hash(algo, PASSWORD)
v = pw.compute_digest(algo, PASSWORD)
k = int.from_bytes(pw.sha256(P, G.to_bytes(256, "big")), "big")
B = (k * int.from_bytes(v, "big") + pow(G, int.from_bytes(B_SECRET, "big"), p)) % p
srp_b = B.to_bytes(256, "big")

pw.os.urandom = lambda n: A_SECRET[:n]
request = types.account.Password(
    new_algo=types.PasswordKdfAlgoUnknown(),
    new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
    secure_random=b"",
    has_password=True,
    current_algo=algo,
    srp_B=srp_b,
    srp_id=1,
)
check = pw.compute_check(request, PASSWORD)
for name, value in [
    ("x", x),
    ("v", v),
    ("srp_b", srp_b),
    ("a_public", check.A),
    ("m1", check.M1),
]:
    print(f"{name} = {value.hex()}")
