"""The ``gradstream-signature`` header of an authorised worker's records (``io.gradstream.core.auth.RecordSignature``):
HMAC-SHA256(key, "gradstream-gradient-v1" || uint32_be(len(record key)) || record key || record value)."""

import hashlib
import hmac
import os
import struct

__all__ = ["HEADER", "sign", "key_from_text", "read_key"]

HEADER = "gradstream-signature"
_DOMAIN = b"gradstream-gradient-v1"
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 1024
# What Java's Character.isWhitespace calls whitespace among single bytes: the job trims exactly these.
_WHITESPACE = bytes([9, 10, 11, 12, 13, 28, 29, 30, 31, 32])


def key_from_text(text):
    """The key as the job reads it from a key file or variable: the bytes without trailing whitespace, 16 to 1024
    of them."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    key = bytes(text).rstrip(_WHITESPACE)
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(f"a worker key must have {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, got {len(key)} "
                         "(make one with: openssl rand -hex 32 > worker.key)")
    return key


def read_key(path):
    """The key in the file ``path`` (what the model's worker list names as the worker's keyFile)."""
    size = os.path.getsize(path)
    if size > 4 * MAX_KEY_BYTES:
        raise ValueError(f"worker key file {path} has {size} bytes; a key has at most {MAX_KEY_BYTES}")
    with open(path, "rb") as f:
        return key_from_text(f.read())


def sign(key, record_key, value):
    """The 32-byte signature of a record (``key`` as returned by :func:`key_from_text`)."""
    record_key = record_key or b""
    value = value or b""
    message = _DOMAIN + struct.pack(">I", len(record_key)) + record_key + value
    return hmac.new(key, message, hashlib.sha256).digest()
