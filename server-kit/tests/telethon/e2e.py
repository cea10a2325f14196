"""The end-to-end layer of secret chats (core.telegram.org/api/end-to-end), written out in
Python on Telethon's primitives, for the tests that play a secret chat peer on Telethon's raw
API (secret.py, two_nodes.py): the secret layer's constructors this layer needs, MTProto 2.0
end-to-end encryption (and 1.0 decryption), fingerprints, and one side's seq_no counters.
Imports nothing that reads the command line."""
import hashlib, os, struct
from telethon.crypto import AES
from telethon.extensions import BinaryReader
from telethon import functions
from telethon.tl import types
from telethon.tl.tlobject import TLObject


def check(cond, what):
    if not cond:
        raise AssertionError(what)


TELEGRAM_PRIME = int(
    "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d2"
    "2530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454"
    "f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051"
    "907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6b"
    "c465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f"
    "0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b", 16)
LAYER = 73

# ---------------------------------------------------------------------------------------------
# The end-to-end layer (core.telegram.org/api/end-to-end), written out here.


def tl_bytes(data):
    return TLObject.serialize_bytes(data)


def decrypted_message(random_id, text, media=None):
    """decryptedMessage#91cc4674 (layer 73)."""
    flags = (1 << 9) if media else 0
    return (struct.pack("<IIqi", 0x91cc4674, flags, random_id, 0) + tl_bytes(text.encode())
            + (media or b""))


def notify_layer(random_id):
    """decryptedMessageService#73164160 with decryptedMessageActionNotifyLayer#f3048883."""
    return struct.pack("<IqIi", 0x73164160, random_id, 0xf3048883, LAYER)


def media_document(size, key, iv, name, mime):
    """decryptedMessageMediaDocument#7afe8ae2 with one documentAttributeFilename."""
    return (struct.pack("<I", 0x7afe8ae2) + tl_bytes(b"") + struct.pack("<ii", 0, 0)
            + tl_bytes(mime.encode()) + struct.pack("<i", size) + tl_bytes(key) + tl_bytes(iv)
            + struct.pack("<IiI", 0x1cb5c415, 1, 0x15590068) + tl_bytes(name.encode())
            + tl_bytes(b""))


def message_layer(inner, in_seq, out_seq):
    """decryptedMessageLayer#1be31789."""
    return (struct.pack("<I", 0x1be31789) + tl_bytes(os.urandom(15))
            + struct.pack("<iii", LAYER, in_seq, out_seq) + inner)


def parse_layer(data):
    """The fields of a decryptedMessageLayer and the message in it, as a dict."""
    r = BinaryReader(data)
    check(r.read_int(signed=False) == 0x1be31789, "a decryptedMessageLayer")
    r.tgread_bytes()
    out = {"layer": r.read_int(), "in_seq": r.read_int(), "out_seq": r.read_int()}
    kind = r.read_int(signed=False)
    if kind == 0x91cc4674:
        flags = r.read_int(signed=False)
        out.update(random_id=r.read_long(), ttl=r.read_int(), text=r.tgread_string())
        if flags & (1 << 9):
            check(r.read_int(signed=False) == 0x7afe8ae2, "decryptedMessageMediaDocument")
            r.tgread_bytes()
            r.read_int(), r.read_int()
            media = {"mime": r.tgread_string(), "size": r.read_int(),
                     "key": r.tgread_bytes(), "iv": r.tgread_bytes()}
            check(r.read_int(signed=False) == 0x1cb5c415, "an attribute vector")
            for _ in range(r.read_int()):
                check(r.read_int(signed=False) == 0x15590068, "documentAttributeFilename")
                media["name"] = r.tgread_string()
            r.tgread_string()
            out["media"] = media
    elif kind in (0x73164160, 0xaa48327d):
        out["random_id"] = r.read_long()
        if kind == 0xaa48327d:  # decryptedMessageService8 carries random_bytes
            r.tgread_bytes()
        check(r.read_int(signed=False) == 0xf3048883, "decryptedMessageActionNotifyLayer")
        out["notify_layer"] = r.read_int()
    else:
        raise AssertionError(f"unexpected decrypted message {kind:#x}")
    return out


def fingerprint(key):
    return struct.unpack("<q", hashlib.sha1(key).digest()[-8:])[0]


def check_dh_value(value, what):
    margin = 1 << (2048 - 64)
    check(margin <= value <= TELEGRAM_PRIME - margin, f"{what} outside the safe range")


def kdf(key, msg_key, x):
    a = hashlib.sha256(msg_key + key[x:x + 36]).digest()
    b = hashlib.sha256(key[40 + x:40 + x + 36] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


def encrypt(key, x, data):
    """MTProto 2.0 end-to-end: fingerprint, msg_key, AES-256-IGE of length+data+padding."""
    payload = struct.pack("<I", len(data)) + data
    padding = 12 + (-(len(payload) + 12)) % 16
    plain = payload + os.urandom(padding)
    msg_key = hashlib.sha256(key[88 + x:88 + x + 32] + plain).digest()[8:24]
    aes_key, aes_iv = kdf(key, msg_key, x)
    return struct.pack("<q", fingerprint(key)) + msg_key + AES.encrypt_ige(plain, aes_key, aes_iv)


def decrypt(key, x, blob):
    check(struct.unpack("<q", blob[:8])[0] == fingerprint(key), "the key fingerprint")
    msg_key = blob[8:24]
    aes_key, aes_iv = kdf(key, msg_key, x)
    plain = AES.decrypt_ige(blob[24:], aes_key, aes_iv)
    check(hashlib.sha256(key[88 + x:88 + x + 32] + plain).digest()[8:24] == msg_key,
          "msg_key matches the plaintext")
    length = struct.unpack("<I", plain[:4])[0]
    check(12 <= len(plain) - 4 - length <= 1024, f"padding of {len(plain) - 4 - length} bytes")
    return plain[4:4 + length]


def decrypt_v1(key, blob):
    """MTProto 1.0 end-to-end (sha1 msg_key, the old key derivation with x = 0)."""
    check(struct.unpack("<q", blob[:8])[0] == fingerprint(key), "the key fingerprint")
    msg_key = blob[8:24]
    a = hashlib.sha1(msg_key + key[0:32]).digest()
    b = hashlib.sha1(key[32:48] + msg_key + key[48:64]).digest()
    c = hashlib.sha1(key[64:96] + msg_key).digest()
    d = hashlib.sha1(msg_key + key[96:128]).digest()
    aes_key = a[0:8] + b[8:20] + c[4:16]
    aes_iv = a[8:20] + b[0:8] + c[16:20] + d[0:8]
    plain = AES.decrypt_ige(blob[24:], aes_key, aes_iv)
    length = struct.unpack("<I", plain[:4])[0]
    check(length <= len(plain) - 4, "the length")
    check(hashlib.sha1(plain[:4 + length]).digest()[-16:] == msg_key, "MTProto 1.0 msg_key")
    return plain[4:4 + length]


def file_fingerprint(key, iv):
    digest = hashlib.md5(key + iv).digest()
    return struct.unpack("<i", bytes(a ^ b for a, b in zip(digest[:4], digest[4:8])))[0]


class Side:
    """One end of the secret chat: its key, which x it sends with, and its seq_no counters
    (the creator sends odd out_seq_no, the other side even: core.telegram.org/api/end-to-end/seq_no)."""

    def __init__(self, saved):
        self.key = bytes.fromhex(saved["key"])
        self.creator = saved["creator"]
        self.sent = saved["sent"]
        self.received = saved["received"]
        self.chat = types.InputEncryptedChat(saved["chat_id"], saved["access_hash"])

    def saved(self):
        return {"key": self.key.hex(), "creator": self.creator, "sent": self.sent,
                "received": self.received, "chat_id": self.chat.chat_id,
                "access_hash": self.chat.access_hash}

    def seal(self, inner):
        me, them = (1, 0) if self.creator else (0, 1)
        layer = message_layer(inner, 2 * self.received + them, 2 * self.sent + me)
        self.sent += 1
        return encrypt(self.key, 0 if self.creator else 8, layer)

    def open(self, blob, mtproto1=False):
        """Decrypts and parses a message of the other side; with `mtproto1`, one the peer may
        have encrypted with MTProto 1.0 (what telethon-secret-chat does until it learns the
        layer) is accepted too."""
        try:
            data = decrypt(self.key, 8 if self.creator else 0, blob)
        except AssertionError:
            if not mtproto1:
                raise
            data = decrypt_v1(self.key, blob)
        msg = parse_layer(data)
        them = 0 if self.creator else 1
        check(msg["out_seq"] == 2 * self.received + them,
              f"out_seq_no {msg['out_seq']}, expected {2 * self.received + them}")
        self.received += 1
        return msg


async def dh_config(c):
    dh = await c(functions.messages.GetDhConfigRequest(version=0, random_length=256))
    check(isinstance(dh, types.messages.DhConfig), f"getDhConfig: {dh}")
    check(int.from_bytes(dh.p, "big") == TELEGRAM_PRIME and dh.g == 3, "Telegram's prime, g = 3")
    check(len(dh.random) == 256 and dh.version > 0, f"random {len(dh.random)} version {dh.version}")
    same = await c(functions.messages.GetDhConfigRequest(version=dh.version, random_length=64))
    check(isinstance(same, types.messages.DhConfigNotModified) and len(same.random) == 64,
          f"a current version: {same}")
    check(same.random != dh.random[:64], "fresh random bytes")
    return dh


def secret_exponent(dh):
    """A private DH exponent mixing our randomness with the server's."""
    mine = os.urandom(256)
    return int.from_bytes(bytes(x ^ y for x, y in zip(mine, dh.random)), "big")


async def send_text(c, side, text):
    random_id = int.from_bytes(os.urandom(8), "little", signed=True)
    data = side.seal(decrypted_message(random_id, text))
    sent = await c(functions.messages.SendEncryptedRequest(
        peer=side.chat, random_id=random_id, data=data))
    check(isinstance(sent, types.messages.SentEncryptedMessage), f"sendEncrypted: {sent}")
    return random_id, sent.date
