"""The codecs give the bytes of the job's codecs (vectors checked against io.gradstream.core.codec by tools'
PythonClientContractTest), and error feedback carries what they drop."""

import json
import os

import numpy as np
import pytest

from gradstream import codecs

with open(os.path.join(os.path.dirname(__file__), "vectors", "codecs.json")) as f:
    VECTORS = json.load(f)


def floats(hexes):
    return np.array([int(h, 16) for h in hexes], dtype=np.uint32).view(np.float32)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"{v['encoding']}-{len(v['input'])}-k{v['k']}")
def test_encodes_and_decodes_the_vectors(v):
    x = floats(v["input"])
    assert codecs.encode(v["encoding"], x, v["k"]).hex() == v["bytes"]
    assert len(bytes.fromhex(v["bytes"])) == codecs.encoded_size(v["encoding"], x.size, v["k"])
    decoded = codecs.decode(v["encoding"], bytes.fromhex(v["bytes"]), x.size)
    assert [f"{b:08x}" for b in decoded.view(np.uint32)] == v["decoded"]


def test_vectors_cover_the_rounding_cases():
    fp16 = next(v for v in VECTORS if v["encoding"] == "FP16")
    data = bytes.fromhex(fp16["bytes"])
    halves = [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]
    # 65504 stays, 65519.99 rounds down to it, 65520 is infinity; 2^-25 (a tie) rounds to 0, just above it to the
    # smallest subnormal.
    assert halves[4:7] == [0x7BFF, 0x7BFF, 0x7C00] and halves[9:11] == [0x0000, 0x0001]
    bf16 = next(v for v in VECTORS if v["encoding"] == "BF16")
    data = bytes.fromhex(bf16["bytes"])
    # 1 + 2^-8 is a tie and rounds to even (1.0); 0x3F818000 is a tie and rounds up to even 0x3F82.
    assert data[28:32] == bytes.fromhex("803f823f")


def test_int8_block_ties_go_to_even_and_a_zero_block_is_zero():
    x = np.array([127, 2.5, -3.5, 0.5, -0.5], dtype=np.float32)
    data = codecs.encode("INT8_BLOCK", x)
    assert data[:4] == np.float32(1).tobytes() and list(np.frombuffer(data[4:], np.int8)) == [127, 2, -4, 0, 0]
    assert codecs.encode("INT8_BLOCK", np.zeros(3)) == bytes(7)


def test_error_feedback_keeps_what_topk_drops():
    ef = codecs.ErrorFeedback("TOPK", k=1)
    first = codecs.decode("TOPK", ef.compress([1.0, 0.75, 0.0]), 3)
    assert list(first) == [1.0, 0.0, 0.0] and list(ef.residual) == [0.0, 0.75, 0.0]
    second = codecs.decode("TOPK", ef.compress([0.0, 0.5, 0.25]), 3)
    assert list(second) == [0.0, 1.25, 0.0] and list(ef.residual) == [0.0, 0.0, 0.25]


def test_what_a_codec_cannot_carry_is_refused_with_the_index():
    ef = codecs.ErrorFeedback("FP16")
    with pytest.raises(ValueError, match="cannot carry 70000.0 at index 1"):
        ef.compress([1.0, 70000.0])
    assert ef.residual is None
    with pytest.raises(ValueError, match="must be finite, got inf at index 2"):
        codecs.encode("INT8_BLOCK", [1.0, 2.0, np.inf])
    with pytest.raises(ValueError, match="encoding must be one of"):
        codecs.encode("FP8", [1.0])
    with pytest.raises(ValueError, match="TOPK needs k >= 1"):
        codecs.encode("TOPK", [1.0], k=0)


def test_malformed_payloads_are_refused():
    with pytest.raises(ValueError, match="must have 8 bytes"):
        codecs.decode("FP32", b"\x00" * 7, 2)
    with pytest.raises(ValueError, match="not strictly ascending"):
        codecs.decode("TOPK", np.array([2, 1, 1], "<i4").tobytes() + np.zeros(2, "<f4").tobytes(), 3)
    with pytest.raises(ValueError, match="-128"):
        codecs.decode("INT8_BLOCK", np.float32(1).tobytes() + b"\x80", 1)
