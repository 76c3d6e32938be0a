package io.gradstream.core.shard;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Deterministic initial parameters: a pure function of (rule, seed, model, tensor, shard), never of time or order,
 * so a restored or rescaled job and every replica initialise a shard identically. Each shard seeds its own
 * {@link SplittableRandom} (whose sequence Java specifies exactly) from the seed and a 64-bit FNV-1a hash of its key.
 */
public final class ShardInitializer {

    public enum Rule {
        ZEROS,
        NORMAL,
        UNIFORM
    }

    private ShardInitializer() {}

    /**
     * @param a NORMAL: the standard deviation; UNIFORM: the lower bound
     * @param b UNIFORM: the upper bound (exclusive); ignored otherwise
     */
    public static float[] initialValues(Rule rule, long seed, double a, double b, ShardKey key, int length) {
        float[] out = new float[length];
        switch (rule) {
            case ZEROS -> {
                return out;
            }
            case NORMAL -> {
                if (!(a >= 0) || Double.isInfinite(a)) {
                    throw new IllegalArgumentException("NORMAL init needs a finite std >= 0, got " + a);
                }
                SplittableRandom rnd = random(seed, key);
                for (int i = 0; i < length; i += 2) {
                    // Marsaglia's polar method on nextDouble(), written out rather than nextGaussian(), whose
                    // algorithm the JDK does not specify and has changed between releases.
                    double u;
                    double v;
                    double r;
                    do {
                        u = 2 * rnd.nextDouble() - 1;
                        v = 2 * rnd.nextDouble() - 1;
                        r = u * u + v * v;
                    } while (r >= 1 || r == 0);
                    double f = Math.sqrt(-2 * StrictMath.log(r) / r);
                    out[i] = (float) (a * u * f);
                    if (i + 1 < length) {
                        out[i + 1] = (float) (a * v * f);
                    }
                }
            }
            case UNIFORM -> {
                if (!(a < b) || Double.isInfinite(a) || Double.isInfinite(b)) {
                    throw new IllegalArgumentException(
                            "UNIFORM init needs finite low < high, got [" + a + ", " + b + ")");
                }
                SplittableRandom rnd = random(seed, key);
                for (int i = 0; i < length; i++) {
                    out[i] = (float) (a + (b - a) * rnd.nextDouble());
                }
            }
        }
        return out;
    }

    private static SplittableRandom random(long seed, ShardKey key) {
        long h = 0xcbf29ce484222325L;
        for (byte x : key.toString().getBytes(StandardCharsets.UTF_8)) {
            h ^= x & 0xff;
            h *= 0x100000001b3L;
        }
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ h);
    }
}
