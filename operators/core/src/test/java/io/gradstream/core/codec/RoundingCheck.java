package io.gradstream.core.codec;

import java.util.function.IntToDoubleFunction;

/**
 * Independent check of a float32 -&gt; 16-bit rounding: the chosen magnitude must be at least as close to |x| as both
 * neighbours (differences computed in double, where they are exact), a tie must pick the even pattern, and the sign
 * must be kept. The infinity pattern stands for the next power of two (the value it rounds from).
 */
final class RoundingCheck {

    private RoundingCheck() {}

    /** Returns null when {@code result} is correct for {@code x}, else a description of the violation. */
    static String violation(float x, short result, IntToDoubleFunction magnitudeOf, int infinityBits) {
        int sign = Float.floatToRawIntBits(x) >>> 31;
        if (((result >>> 15) & 1) != sign) {
            return x + " -> " + hex(result) + ": sign lost";
        }
        int m = result & 0x7FFF;
        if (m > infinityBits) {
            return x + " -> " + hex(result) + ": NaN for a non-NaN input";
        }
        double ax = Math.abs((double) x);
        double d = Math.abs(ax - magnitudeOf.applyAsDouble(m));
        for (int neighbour : new int[] {m - 1, m + 1}) {
            if (neighbour < 0 || neighbour > infinityBits) {
                continue;
            }
            double dn = Math.abs(ax - magnitudeOf.applyAsDouble(neighbour));
            if (d > dn || (d == dn && (m & 1) != 0)) {
                return x + " -> " + hex(result) + ": neighbour " + hex((short) neighbour)
                        + " is nearer or the even tie";
            }
        }
        return null;
    }

    static String hex(short bits) {
        return String.format("%04x", bits & 0xFFFF);
    }
}
