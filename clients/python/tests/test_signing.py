"""Signatures equal the job's (RecordSignatureTest's vectors), with keys read as the job reads them."""

import pytest

from gradstream import load_signing_key, sign
from gradstream.signing import key_from_text

KEY = b"0123456789abcdef0123456789abcdef"


def test_matches_the_java_vectors():
    assert sign(KEY, b"m/w/0", bytes([1, 2, 3])).hex() == \
        "588e48ea32f4c3de65a6acbfc6a8c7eaae3c0949325f7c5b9285f565a90dfe21"
    assert sign(KEY, None, b"").hex() == "c0247d7ac37b751f5b242bc6efa86d9dea56d0ed45d00d12b903e229568ac620"


def test_keys_lose_trailing_whitespace_as_the_job_trims_them(tmp_path):
    f = tmp_path / "w0.key"
    f.write_bytes(KEY + b"\n\x1f \t")
    assert load_signing_key(f) == KEY
    assert load_signing_key(KEY.decode() + "\n") == KEY
    assert key_from_text(b"  " + KEY) == b"  " + KEY  # leading whitespace is part of the key


def test_short_and_long_keys_are_refused_with_the_length():
    with pytest.raises(ValueError, match="16 to 1024 bytes, got 15"):
        load_signing_key(b"x" * 15 + b"\n")
    with pytest.raises(ValueError, match="got 1025"):
        load_signing_key(b"x" * 1025)
