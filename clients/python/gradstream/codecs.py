"""Tensor payload codecs, byte for byte those of the job (``io.gradstream.core.codec``), all little-endian.

- FP32: 4 bytes per element (IEEE binary32).
- FP16: 2 bytes per element (IEEE binary16, round to nearest even, subnormals kept, >= 65520 in magnitude is inf).
- BF16: 2 bytes per element, the upper half of the float32 bits rounded to nearest even (NaN stays NaN).
- INT8_BLOCK: per block of 256 elements (the last holds the rest): the float32 scale fl32(max|x| / 127), then one
  signed byte per element, q = clamp(rint(fl32(x / scale)), -127, 127) (ties to even; 0 for an all-zero block).
- TOPK: int32 count c, then c int32 indices in ascending order, then the c float32 values; the k elements of largest
  magnitude, ties to the lower index. Decoding zero-fills the rest.
"""

import numpy as np

__all__ = ["ENCODINGS", "encode", "decode", "encoded_size", "ErrorFeedback", "INT8_BLOCK_SIZE"]

ENCODINGS = ("FP32", "FP16", "BF16", "INT8_BLOCK", "TOPK")
INT8_BLOCK_SIZE = 256


def _f32(values):
    a = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    return a


def _bf16_bits(x):
    bits = x.view(np.uint32).astype(np.uint64)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    quiet = (bits >> 16) | 0x0040
    return np.where(nan, quiet, rounded).astype(np.uint16)


def _int8_encode(x):
    n = x.size
    out = bytearray()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, n, INT8_BLOCK_SIZE):
            block = x[start:start + INT8_BLOCK_SIZE]
            if not np.all(np.isfinite(block)):
                i = start + int(np.flatnonzero(~np.isfinite(block))[0])
                raise ValueError(f"INT8_BLOCK input must be finite, got {x[i]} at index {i}")
            amax = np.max(np.abs(block)) if block.size else np.float32(0)
            scale = np.float32(amax) / np.float32(127)
            r = np.rint(block / scale)  # float32 division, then ties to even, as Math.rint
            # 0/0 (an all-zero block) is NaN and becomes 0; x/0 for a scale that underflowed is +-inf and clamps.
            q = np.where(np.isnan(r), 0, np.clip(r, -127, 127)).astype(np.int8)
            out += np.float32(scale).astype("<f4").tobytes()
            out += q.tobytes()
    return bytes(out)


def _int8_decode(data, n):
    out = np.empty(n, dtype=np.float32)
    pos = 0
    for start in range(0, n, INT8_BLOCK_SIZE):
        m = min(INT8_BLOCK_SIZE, n - start)
        scale = np.frombuffer(data, dtype="<f4", count=1, offset=pos)[0]
        if not (scale >= 0) or np.isinf(scale):
            raise ValueError(f"malformed INT8_BLOCK payload: scale of block {start // INT8_BLOCK_SIZE} is {scale}")
        q = np.frombuffer(data, dtype=np.int8, count=m, offset=pos + 4)
        if np.any(q == -128):
            raise ValueError("malformed INT8_BLOCK payload: an element is -128, outside [-127, 127]")
        out[start:start + m] = q.astype(np.float32) * scale
        pos += 4 + m
    return out


def _topk_encode(x, k):
    if k is None or int(k) < 1:
        raise ValueError(f"TOPK needs k >= 1, got k = {k}")
    if np.any(np.isnan(x)):
        raise ValueError(f"TOPK input must not be NaN, got NaN at index {int(np.flatnonzero(np.isnan(x))[0])}")
    count = min(int(k), x.size)
    # Stable sort of -|x|: largest magnitude first, equal magnitudes in ascending index order (the lower index wins).
    kept = np.sort(np.argsort(-np.abs(x), kind="stable")[:count])
    return (np.array([count], dtype="<i4").tobytes() + kept.astype("<i4").tobytes()
            + x[kept].astype("<f4").tobytes())


def _topk_decode(data, n):
    count = int(np.frombuffer(data, dtype="<i4", count=1)[0])
    if count < 0 or count > n or len(data) != 4 + 8 * count:
        raise ValueError(f"malformed TOPK payload: count {count} for {n} elements and {len(data)} bytes")
    idx = np.frombuffer(data, dtype="<i4", count=count, offset=4)
    if count and (idx[0] < 0 or idx[-1] >= n or np.any(np.diff(idx) <= 0)):
        raise ValueError("malformed TOPK payload: indices out of range or not strictly ascending")
    out = np.zeros(n, dtype=np.float32)
    out[idx] = np.frombuffer(data, dtype="<f4", count=count, offset=4 + 4 * count)
    return out


def encoded_size(encoding, n, k=None):
    """Bytes of a payload of ``n`` elements (exact for every encoding)."""
    encoding = _name(encoding)
    if encoding == "FP32":
        return 4 * n
    if encoding in ("FP16", "BF16"):
        return 2 * n
    if encoding == "INT8_BLOCK":
        return 4 * -(-n // INT8_BLOCK_SIZE) + n
    return 4 + 8 * min(int(k), n)


def encode(encoding, values, k=None):
    """The payload bytes of ``values`` (any array-like, flattened row-major, converted to float32) in ``encoding``;
    ``k`` is TOPK's number of kept elements."""
    encoding = _name(encoding)
    x = _f32(values)
    if encoding == "FP32":
        return x.astype("<f4").tobytes()
    if encoding == "FP16":
        # numpy's float32 -> float16 cast rounds to nearest even with subnormals, as the job's Fp16 does.
        with np.errstate(over="ignore"):
            return x.astype("<f2").tobytes()
    if encoding == "BF16":
        return _bf16_bits(x).astype("<u2").tobytes()
    if encoding == "INT8_BLOCK":
        return _int8_encode(x)
    return _topk_encode(x, k)


def decode(encoding, data, n):
    """The ``n`` float32 values of a payload."""
    encoding = _name(encoding)
    data = bytes(data)
    if encoding != "TOPK" and len(data) != encoded_size(encoding, n):
        raise ValueError(f"{encoding} payload of {n} elements must have {encoded_size(encoding, n)} bytes, "
                         f"got {len(data)}")
    if encoding == "FP32":
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    if encoding == "FP16":
        return np.frombuffer(data, dtype="<f2").astype(np.float32)
    if encoding == "BF16":
        return (np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    if encoding == "INT8_BLOCK":
        return _int8_decode(data, n)
    return _topk_decode(data, n)


def _name(encoding):
    name = str(encoding).upper().replace("-", "_")
    if name == "INT8":
        name = "INT8_BLOCK"
    if name not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    return name


class ErrorFeedback:
    """Error-feedback compression (Seide et al. 2014; Karimireddy et al. 2019, arXiv:1901.09847), as the job's
    ``ErrorFeedback``: what a lossy codec drops in one step is kept in a residual and added to the next gradient.
    One instance per tensor (or shard) and worker."""

    def __init__(self, encoding, k=None):
        self.encoding = _name(encoding)
        self.k = k
        self.residual = None

    def compress(self, gradient):
        """Encodes ``gradient + residual`` and keeps ``acc - decode(encoded)`` as the new residual. Input the codec
        cannot carry with a finite residual (FP16 above 65504) raises ValueError and leaves the residual as it was."""
        g = _f32(gradient)
        acc = g if self.residual is None else g + self.residual
        data = encode(self.encoding, acc, self.k)
        with np.errstate(invalid="ignore", over="ignore"):
            residual = acc - decode(self.encoding, data, acc.size)
        if not np.all(np.isfinite(residual)):
            i = int(np.flatnonzero(~np.isfinite(residual))[0])
            raise ValueError(f"{self.encoding} cannot carry {acc[i]} at index {i} (the residual would not be "
                             "finite); use BF16 or FP32")
        self.residual = residual
        return data
