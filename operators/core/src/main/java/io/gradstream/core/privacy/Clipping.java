package io.gradstream.core.privacy;

import io.gradstream.core.numeric.FloatScan;
import java.util.Arrays;
import java.util.Objects;

/**
 * L2 clipping that bounds the sensitivity of a summed update, as in DP-SGD (Abadi et al. 2016, arXiv:1607.00133) and
 * DP-FedAvg's per-user clipping (McMahan et al. 2018, arXiv:1710.06963), split over shards that each see one slice of
 * a contribution. Norms are accumulated in double so that the bound does not depend on float summation order.
 */
public final class Clipping {
    /**
     * Relative slack of {@link #withinBound}: a worker that clips each example to C_s in float and sums them in float
     * can overshoot numExamples C_s by rounding alone, about 2^-24 per clip and up to k 2^-24 for a worst-case
     * recursive float sum of k examples (some 6e-8 sqrt(k) in practice). 1e-5 covers the worst case up to about 160
     * examples and the typical case up to about 2.8e4; an accepted sum can then exceed the bound by at most this
     * fraction, which is the same as running with a noise multiplier smaller by a factor 1 + 1e-5.
     */
    public static final double RELATIVE_SLACK = 1e-5;
    /** Shrink factor when float rounding pushed a clipped vector above the threshold: twice the float rounding. */
    private static final double SHRINK = 1 - 0x1p-23;

    private static final int MAX_FIXUPS = 8;

    private Clipping() {}

    /**
     * Scales {@code g} in place by {@code min(1, threshold / ||g||)} and returns the L2 norm before clipping. If the
     * rounding of the scaled elements to float leaves the norm (computed in double) above the threshold, the vector is
     * shrunk again by about one float ulp until it is not, so the bound holds for the floats actually summed.
     */
    public static double clipInPlace(float[] g, double threshold) {
        Objects.requireNonNull(g, "g must not be null");
        checkClip("threshold", threshold);
        double norm = norm(g);
        if (!Double.isFinite(norm)) {
            throw new IllegalArgumentException("g must have finite elements to be clipped, got L2 norm " + norm
                    + " (first non-finite element at index " + FloatScan.firstNonFinite(g) + ")");
        }
        if (norm <= threshold) {
            return norm;
        }
        double current = norm;
        double scale = threshold / norm;
        for (int attempt = 0; attempt < MAX_FIXUPS; attempt++) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (g[i] * scale);
            }
            current = norm(g);
            if (current <= threshold) {
                return norm;
            }
            scale = threshold / current * SHRINK;
        }
        // Only reachable with thresholds near the float subnormal range, where rounding dominates; the zero vector is
        // the one contribution that is certainly within the bound.
        Arrays.fill(g, 0f);
        return norm;
    }

    /**
     * Per-shard thresholds for a contribution of total clip {@code totalClip} split over shards of the given sizes:
     * C_s = C sqrt(n_s / N), so that sum C_s^2 = C^2. Clipping each shard's slice to C_s then bounds the whole
     * contribution by sqrt(sum ||g_s||^2) &lt;= sqrt(sum C_s^2) = C without any shard seeing the other slices; the
     * square-root rule gives every coordinate the same share of the budget. Rounding is corrected downwards so that
     * sqrt(sum C_s^2) computed in double never exceeds C.
     */
    public static double[] shardThresholds(double totalClip, long[] shardSizes) {
        checkClip("totalClip", totalClip);
        Objects.requireNonNull(shardSizes, "shardSizes must not be null");
        if (shardSizes.length == 0) {
            throw new IllegalArgumentException("shardSizes must not be empty");
        }
        long total = 0;
        for (int s = 0; s < shardSizes.length; s++) {
            if (shardSizes[s] <= 0) {
                throw new IllegalArgumentException("shardSizes[" + s + "] must be > 0, got " + shardSizes[s]);
            }
            try {
                total = Math.addExact(total, shardSizes[s]);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shardSizes must sum to at most " + Long.MAX_VALUE, e);
            }
        }
        double[] c = new double[shardSizes.length];
        for (int s = 0; s < c.length; s++) {
            c[s] = totalClip * Math.sqrt((double) shardSizes[s] / total);
        }
        for (int attempt = 0; attempt < MAX_FIXUPS && rootSumSquares(c) > totalClip; attempt++) {
            for (int s = 0; s < c.length; s++) {
                c[s] *= 1 - 0x1p-52;
            }
        }
        return c;
    }

    /**
     * For the {@code example} unit, where workers clip each example to C_s and send the sum: whether {@code ||sum||
     * <= numExamples * shardThreshold * (1 + }{@link #RELATIVE_SLACK}{@code )}. Non-finite sums are never within the
     * bound. The check only catches workers that did not clip; it is not what bounds the sensitivity of one example.
     */
    public static boolean withinBound(float[] sum, long numExamples, double shardThreshold) {
        Objects.requireNonNull(sum, "sum must not be null");
        if (numExamples < 0) {
            throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
        }
        checkClip("shardThreshold", shardThreshold);
        double bound = numExamples * shardThreshold * (1 + RELATIVE_SLACK);
        // NaN compares false, so a sum with a NaN element is rejected.
        return norm(sum) <= bound;
    }

    /** The L2 norm with the squares summed in double (exact products of floats, so only the sum rounds). */
    public static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    private static double rootSumSquares(double[] c) {
        double s = 0;
        for (double x : c) {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    static void checkClip(String name, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and > 0, got " + value);
        }
    }
}
