package io.gradstream.core.privacy;

import java.util.Objects;

/**
 * The Gaussian mechanism of DP-SGD (Abadi et al. 2016, arXiv:1607.00133, Alg. 1) on one shard's clipped sum: add
 * N(0, (sigma C)^2) per coordinate, then divide by the expected number of contributions or examples, which is the
 * fixed-denominator estimator of McMahan et al. 2018 (arXiv:1710.06963, Sec. 2).
 *
 * <p>The noise scale is the <em>total</em> clip norm C on every shard, not the shard's threshold C_s: the shards
 * together release one vector whose L2 sensitivity is C (sum of ||delta_s||^2 &lt;= sum of C_s^2 = C^2), and the
 * Gaussian mechanism with multiplier sigma needs N(0, (sigma C)^2) on each of its coordinates. Noise sigma C_s per shard
 * would leave a contribution that sits entirely in one small shard with far less noise than accounted.
 *
 * <p>The denominator is the expected count (sample rate times population, or the nominal lot size), never the actual
 * one: with the actual count the divisor itself depends on whether one participant is present, so adding or removing
 * that participant would change the output by more than C_s / n and the accounted noise multiplier would no longer
 * hold. Noise and division are applied in double and rounded to float once.
 */
public final class GaussianMechanism {
    private final NoiseGenerator noise;
    private final double noiseMultiplier;

    /** A mechanism with noise multiplier sigma (finite, &gt; 0): noise std is sigma times the clip threshold. */
    public GaussianMechanism(NoiseGenerator noise, double noiseMultiplier) {
        this.noise = Objects.requireNonNull(noise, "noise must not be null");
        if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
            throw new IllegalArgumentException("noiseMultiplier must be finite and > 0, got " + noiseMultiplier);
        }
        this.noiseMultiplier = noiseMultiplier;
    }

    public double noiseMultiplier() {
        return noiseMultiplier;
    }

    /** The keyed generator the noise is drawn from (DP-FTRL draws its tree nodes from the same one). */
    public NoiseGenerator generator() {
        return noise;
    }

    /** The per-coordinate noise standard deviation sigma C for a contribution clip norm {@code clipNorm}. */
    public double noiseStd(double clipNorm) {
        Clipping.checkClip("clipNorm", clipNorm);
        return noiseMultiplier * clipNorm;
    }

    /**
     * Replaces {@code clippedSum} (one shard's slice, from element 0, of the sum of contributions whose whole norm is
     * at most {@code clipNorm}) by {@code (clippedSum + N(0, (sigma C)^2)) / expectedCount}, with the noise of (model,
     * tensor, shard, version).
     */
    public void privatize(
            float[] clippedSum,
            double clipNorm,
            double expectedCount,
            String model,
            String tensor,
            int shard,
            long version) {
        privatize(clippedSum, 0, clipNorm, expectedCount, model, tensor, shard, version);
    }

    /** As {@link #privatize(float[], double, double, String, String, int, long)} for the slice from firstElement. */
    public void privatize(
            float[] clippedSum,
            long firstElement,
            double clipNorm,
            double expectedCount,
            String model,
            String tensor,
            int shard,
            long version) {
        double std = noiseStd(clipNorm);
        if (!(expectedCount > 0) || Double.isInfinite(expectedCount)) {
            throw new IllegalArgumentException("expectedCount must be finite and > 0, got " + expectedCount);
        }
        noise.addGaussianAndDivide(clippedSum, firstElement, std, expectedCount, model, tensor, shard, version);
    }

    @Override
    public String toString() {
        return "GaussianMechanism[noiseMultiplier=" + noiseMultiplier + ", " + noise + "]";
    }
}
