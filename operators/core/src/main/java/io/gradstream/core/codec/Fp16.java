package io.gradstream.core.codec;

/**
 * IEEE 754 binary32 &lt;-&gt; binary16 conversion by integer bit manipulation (Java 17 has no
 * {@code Float.floatToFloat16}), bit-exact with numpy/torch for every non-NaN input.
 */
public final class Fp16 {

    /** Smallest binary32 magnitude (65520, the midpoint between 65504 and 2^16) that rounds to infinity. */
    private static final int OVERFLOW_THRESHOLD_BITS = 0x477FF000;
    /** binary32 bits of 2^-14, the smallest normal binary16 magnitude. */
    private static final int MIN_NORMAL_BITS = 0x38800000;
    /** binary32 bits of 2^-25, half the smallest subnormal binary16; magnitudes up to it (a tie) round to zero. */
    private static final int HALF_MIN_SUBNORMAL_BITS = 0x33000000;

    private Fp16() {}

    /**
     * Rounds {@code f} to the nearest binary16 (ties to even) with gradual underflow; magnitudes &gt;= 65520 give a
     * signed infinity. NaN gives a quiet NaN with the same sign (payload not normative).
     */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            // Keep the top 10 payload bits and force the quiet bit, so a NaN can never turn into infinity.
            return (short) (abs == 0x7F800000 ? sign | 0x7C00 : sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
        }
        if (abs >= OVERFLOW_THRESHOLD_BITS) {
            return (short) (sign | 0x7C00);
        }
        if (abs >= MIN_NORMAL_BITS) {
            // Re-bias the exponent (127 -> 15, i.e. subtract 112 << 23), then round the 13 dropped mantissa bits to
            // nearest even; a mantissa carry correctly increments the exponent.
            int rebiased = abs - (112 << 23);
            return (short) (sign | ((rebiased + 0x0FFF + ((rebiased >>> 13) & 1)) >>> 13));
        }
        if (abs <= HALF_MIN_SUBNORMAL_BITS) {
            // Includes float32 subnormals and the exact tie 2^-25, which rounds to the even neighbour 0.
            return (short) sign;
        }
        // Subnormal binary16 result: value = m * 2^(e-150) and the result counts units of 2^-24, so shift the full
        // 24-bit significand right by 126 - e (between 14 and 24) and round half to even. A round-up to 0x400 is
        // exactly the smallest normal, which is the correct encoding.
        int exponent = abs >>> 23;
        int significand = (abs & 0x7FFFFF) | 0x800000;
        int shift = 126 - exponent;
        int result = significand >>> shift;
        int remainder = significand & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (remainder > half || (remainder == half && (result & 1) != 0)) {
            result++;
        }
        return (short) (sign | result);
    }

    /** Converts binary16 bits to the float32 of exactly the same value (NaN stays NaN). */
    public static float toFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24 is exact in float32 (at most 10 significant bits).
            float magnitude = mantissa * 0x1p-24f;
            return sign != 0 ? -magnitude : magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
