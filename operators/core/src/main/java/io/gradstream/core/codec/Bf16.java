package io.gradstream.core.codec;

/**
 * float32 &lt;-&gt; bfloat16 conversion: round to nearest even on the dropped low 16 bits, no flush of subnormals,
 * NaN special-cased so that it stays NaN.
 */
public final class Bf16 {

    private Bf16() {}

    /**
     * Rounds {@code f} to bfloat16. Non-NaN: {@code (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16}, so values that
     * round past the largest finite bfloat16 carry into the exponent and become infinity. NaN:
     * {@code (bits >>> 16) | 0x0040} (sign kept, quiet bit forced; without it a low-payload NaN would round to
     * infinity).
     */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** Converts bfloat16 bits to float32 exactly ({@code bits << 16}). */
    public static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}
