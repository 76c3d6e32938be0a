/*
 * float32 <-> binary16 / bfloat16 by integer bit manipulation, the same operations as the core's Fp16 and Bf16 (no
 * float arithmetic at all, so the result is bit-identical on every device, flush-to-zero or not). Floats travel as
 * their uint bits.
 */

kernel void fp16_encode(global const uint* src, global ushort* dst, const int n) {
    const int i = (int) get_global_id(0);
    if (i >= n) return;
    const uint bits = src[i];
    const uint sign = (bits >> 16) & 0x8000u;
    const uint a = bits & 0x7FFFFFFFu;
    uint r;
    if (a >= 0x7F800000u) {
        /* Infinity stays infinity; a NaN keeps its top payload bits with the quiet bit forced. */
        r = a == 0x7F800000u ? (sign | 0x7C00u) : (sign | 0x7E00u | ((a >> 13) & 0x3FFu));
    } else if (a >= 0x477FF000u) {
        r = sign | 0x7C00u;
    } else if (a >= 0x38800000u) {
        const uint rebiased = a - (112u << 23);
        r = sign | ((rebiased + 0x0FFFu + ((rebiased >> 13) & 1u)) >> 13);
    } else if (a <= 0x33000000u) {
        r = sign;
    } else {
        const int shift = 126 - (int) (a >> 23);
        const uint significand = (a & 0x7FFFFFu) | 0x800000u;
        uint result = significand >> shift;
        const uint remainder = significand & ((1u << shift) - 1u);
        const uint halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (result & 1u) != 0u)) {
            result++;
        }
        r = sign | result;
    }
    dst[i] = (ushort) r;
}

kernel void fp16_decode(global const ushort* src, global uint* dst, const int n) {
    const int i = (int) get_global_id(0);
    if (i >= n) return;
    const uint h = src[i];
    const uint sign = (h & 0x8000u) << 16;
    const uint exponent = (h >> 10) & 0x1Fu;
    const uint mantissa = h & 0x3FFu;
    uint out;
    if (exponent == 0x1Fu) {
        out = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent == 0u) {
        /* mantissa * 2^-24 is a normal float (or zero): normalise the mantissa by integer shifts. */
        if (mantissa == 0u) {
            out = sign;
        } else {
            const int lead = 31 - (int) clz(mantissa);     /* 0..9 */
            const uint frac = (mantissa << (23 - lead)) & 0x7FFFFFu;
            out = sign | ((uint) (lead - 24 + 127) << 23) | frac;
        }
    } else {
        out = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    }
    dst[i] = out;
}

kernel void bf16_encode(global const uint* src, global ushort* dst, const int n) {
    const int i = (int) get_global_id(0);
    if (i >= n) return;
    const uint bits = src[i];
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
        dst[i] = (ushort) ((bits >> 16) | 0x0040u);
    } else {
        dst[i] = (ushort) ((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }
}

kernel void bf16_decode(global const ushort* src, global uint* dst, const int n) {
    const int i = (int) get_global_id(0);
    if (i >= n) return;
    dst[i] = ((uint) src[i]) << 16;
}
