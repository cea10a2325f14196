#!/usr/bin/env python3
"""Telethon 1.45.0's own MTProto 2.0 code, for the cross-check in telethon_crypto.rs.

Nothing here re-implements MTProto: packets are made and opened by
telethon.network.mtprotostate.MTProtoState, exactly as a Telethon client does.

Modes (integers are signed 64-bit decimals, byte strings are hex):

  encrypt <auth_key_hex> <salt> <session_id> <body_hex>
      Wraps the body as a content-related client message (write_data_as_message, which gzips
      bodies over 512 bytes if that makes them smaller) and encrypts it (encrypt_message_data,
      x = 0). Prints three lines: the packet, the msg_id and the seq_no Telethon used.

  decrypt <auth_key_hex> <session_id> <packet_hex> [<packet_hex> ...]
      Opens server packets (decrypt_message_data, x = 8) in order with one state whose
      session id is <session_id> (time offset 0, so the msg_id must be close to now). Prints one
      JSON line per packet: {"ok": true, "type", "constructor_id", "msg_id", "seq_no",
      "object"} when Telethon decoded it, {"ok": false, "ignored": true, "warnings"} when it
      dropped it (too old/new, duplicate), {"ok": false, "error", "message"} when it refused it.

Exit status: 0 when the mode ran, 2 on bad arguments, 3 when Telethon 1.45.0 is missing.
"""

import io
import json
import logging
import sys

REQUIRED = "1.45.0"
INSTALL = "pip install telethon==" + REQUIRED

try:
    import telethon
    from telethon.crypto import AuthKey
    from telethon.network.mtprotostate import MTProtoState
except ImportError as e:
    print(f"Telethon is not importable ({e}); run `{INSTALL}`", file=sys.stderr)
    sys.exit(3)
if telethon.__version__ != REQUIRED:
    print(f"Telethon {telethon.__version__} is installed, {REQUIRED} is needed; run `{INSTALL}`",
          file=sys.stderr)
    sys.exit(3)

LOGGER_NAME = "telethon.network.mtprotostate"


class _Recorder(logging.Handler):
    """Keeps the warnings MTProtoState logs when it ignores a message."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def _state(auth_key_hex, recorder=None):
    key = bytes.fromhex(auth_key_hex)
    if len(key) != 256:
        raise ValueError(f"the auth key has {len(key)} bytes, not 256")
    logger = logging.getLogger(LOGGER_NAME)
    logger.propagate = False
    if recorder is not None:
        logger.addHandler(recorder)
    return MTProtoState(AuthKey(key), {LOGGER_NAME: logger})


def encrypt(auth_key_hex, salt, session_id, body_hex):
    state = _state(auth_key_hex)
    state.salt = int(salt)
    state.id = int(session_id)
    buffer = io.BytesIO()
    msg_id = state.write_data_as_message(buffer, bytes.fromhex(body_hex), content_related=True)
    data = buffer.getvalue()
    seq_no = int.from_bytes(data[8:12], "little", signed=True)
    packet = state.encrypt_message_data(data)
    print(packet.hex())
    print(msg_id)
    print(seq_no)


def _jsonable(value):
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


def decrypt(auth_key_hex, session_id, packets):
    recorder = _Recorder()
    state = _state(auth_key_hex, recorder)
    state.id = int(session_id)
    state.time_offset = 0
    for packet_hex in packets:
        recorder.records.clear()
        try:
            message = state.decrypt_message_data(bytes.fromhex(packet_hex))
        except Exception as e:  # what Telethon raises is the answer, whatever it is
            out = {"ok": False, "error": type(e).__name__, "message": str(e)}
        else:
            if message is None:
                out = {"ok": False, "ignored": True, "warnings": recorder.records[:]}
            else:
                obj = message.obj
                out = {
                    "ok": True,
                    "type": type(obj).__name__,
                    "constructor_id": obj.CONSTRUCTOR_ID,
                    "msg_id": message.msg_id,
                    "seq_no": message.seq_no,
                    "object": obj.to_dict(),
                }
        print(json.dumps(out, default=_jsonable), flush=True)


def main(argv):
    if len(argv) == 5 and argv[0] == "encrypt":
        encrypt(*argv[1:])
    elif len(argv) >= 4 and argv[0] == "decrypt":
        decrypt(argv[1], argv[2], argv[3:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ValueError as e:
        print(f"bad argument: {e}", file=sys.stderr)
        sys.exit(2)
