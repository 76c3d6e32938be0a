package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Clipping bounds each contribution by C over all shards, so one contribution moves the pre-noise sum by at most C. */
class ClippingTest {
    /** Slack for the test's own double arithmetic (sums and differences of up to a few thousand terms). */
    private static final double DOUBLE_SLACK = 1e-12;

    @Test
    void clipScalesToTheThresholdAndReturnsThePreClipNorm() {
        float[] g = {3f, 4f};
        assertThat(Clipping.clipInPlace(g, 1.0)).isEqualTo(5.0);
        assertThat(g[0]).isCloseTo(0.6f, within(1e-7f));
        assertThat(g[1]).isCloseTo(0.8f, within(1e-7f));
        assertThat(Clipping.norm(g)).isLessThanOrEqualTo(1.0);
    }

    @Test
    void vectorsWithinTheThresholdAreUnchanged() {
        float[] g = {0.3f, -0.4f, 0f};
        assertThat(Clipping.clipInPlace(g, 0.5 + 1e-7)).isCloseTo(0.5, within(1e-7));
        assertThat(g).containsExactly(0.3f, -0.4f, 0f);
        assertThat(Clipping.clipInPlace(new float[0], 1.0)).isZero();
    }

    @Test
    void clippedFloatsNeverExceedTheThreshold() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 2000; trial++) {
            float[] g = new float[1 + rnd.nextInt(200)];
            double scale = Math.exp(rnd.nextGaussian() * 5);
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (rnd.nextGaussian() * scale);
            }
            float[] before = g.clone();
            double threshold = Math.exp(rnd.nextGaussian() * 3);
            double norm = Clipping.clipInPlace(g, threshold);
            assertThat(norm).isEqualTo(Clipping.norm(before));
            assertThat(Clipping.norm(g)).isLessThanOrEqualTo(threshold);
            if (norm > threshold) {
                // Direction kept, length the threshold to float precision.
                assertThat(Clipping.norm(g)).isCloseTo(threshold, within(threshold * 1e-6));
                for (int i = 0; i < g.length; i++) {
                    assertThat((double) g[i]).isCloseTo(before[i] * threshold / norm, within(threshold * 1e-6));
                }
            }
        }
    }

    @Test
    void shardThresholdsGrowWithTheRootOfShardSizeAndSquareSumToTheTotal() {
        double[] c = Clipping.shardThresholds(2.0, new long[] {100, 400, 500});
        assertThat(c[0]).isCloseTo(2.0 * Math.sqrt(0.1), within(1e-15));
        assertThat(c[1]).isCloseTo(2.0 * Math.sqrt(0.4), within(1e-15));
        assertThat(c[1] / c[0]).isCloseTo(2.0, within(1e-14));
        Random rnd = new Random(3);
        for (int trial = 0; trial < 1000; trial++) {
            long[] sizes = new long[1 + rnd.nextInt(64)];
            for (int s = 0; s < sizes.length; s++) {
                sizes[s] = 1 + (long) (rnd.nextDouble() * 1e9);
            }
            double total = Math.exp(rnd.nextGaussian() * 4);
            double ss = 0;
            for (double x : Clipping.shardThresholds(total, sizes)) {
                ss += x * x;
            }
            assertThat(Math.sqrt(ss)).isLessThanOrEqualTo(total).isCloseTo(total, within(total * 1e-14));
        }
        assertThat(Clipping.shardThresholds(0.7, new long[] {5})).containsExactly(0.7);
    }

    @Test
    void oneClippedContributionMovesTheShardedSumByAtMostC() {
        Random rnd = new Random(2024);
        for (int trial = 0; trial < 300; trial++) {
            int shards = 1 + rnd.nextInt(8);
            long[] sizes = new long[shards];
            for (int s = 0; s < shards; s++) {
                sizes[s] = 1 + rnd.nextInt(300);
            }
            double clip = 0.05 + rnd.nextDouble() * 10;
            double[] thresholds = Clipping.shardThresholds(clip, sizes);
            int contributions = 1 + rnd.nextInt(6);
            int removed = rnd.nextInt(contributions);
            double[][] with = new double[shards][];
            double[][] without = new double[shards][];
            for (int s = 0; s < shards; s++) {
                with[s] = new double[(int) sizes[s]];
                without[s] = new double[(int) sizes[s]];
            }
            for (int k = 0; k < contributions; k++) {
                // Wildly different scales: some slices are clipped, some are not.
                double scale = Math.exp(rnd.nextGaussian() * 3);
                double squares = 0;
                for (int s = 0; s < shards; s++) {
                    float[] slice = new float[(int) sizes[s]];
                    for (int i = 0; i < slice.length; i++) {
                        slice[i] = (float) (rnd.nextGaussian() * scale * (1 + s));
                    }
                    Clipping.clipInPlace(slice, thresholds[s]);
                    double n = Clipping.norm(slice);
                    squares += n * n;
                    for (int i = 0; i < slice.length; i++) {
                        with[s][i] += slice[i];
                        if (k != removed) {
                            without[s][i] += slice[i];
                        }
                    }
                }
                assertThat(Math.sqrt(squares)).isLessThanOrEqualTo(clip * (1 + DOUBLE_SLACK));
            }
            double diff = 0;
            for (int s = 0; s < shards; s++) {
                for (int i = 0; i < with[s].length; i++) {
                    double d = with[s][i] - without[s][i];
                    diff += d * d;
                }
            }
            assertThat(Math.sqrt(diff)).as("trial %d", trial).isLessThanOrEqualTo(clip * (1 + DOUBLE_SLACK));
        }
    }

    @Test
    void exampleSumsAreCheckedAgainstNumExamplesTimesTheThreshold() {
        float[] sum = {6f, 8f};
        assertThat(Clipping.withinBound(sum, 5, 2.0)).isTrue();
        assertThat(Clipping.withinBound(sum, 4, 2.5)).isTrue();
        // Within the documented float-rounding slack ...
        assertThat(Clipping.withinBound(sum, 5, 2.0 / (1 + 0.5 * Clipping.RELATIVE_SLACK)))
                .isTrue();
        // ... but not beyond it.
        assertThat(Clipping.withinBound(sum, 5, 2.0 / (1 + 2 * Clipping.RELATIVE_SLACK)))
                .isFalse();
        assertThat(Clipping.withinBound(sum, 4, 2.0)).isFalse();
        assertThat(Clipping.withinBound(new float[] {0f, 0f}, 0, 1.0)).isTrue();
        assertThat(Clipping.withinBound(new float[] {1e-3f}, 0, 1.0)).isFalse();
        assertThat(Clipping.withinBound(new float[] {Float.NaN}, 10, 1.0)).isFalse();
        assertThat(Clipping.withinBound(new float[] {Float.POSITIVE_INFINITY}, 10, 1.0))
                .isFalse();
    }

    @Test
    void invalidArgumentsAreNamedInTheMessage() {
        assertThatThrownBy(() -> Clipping.clipInPlace(new float[1], 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threshold must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> Clipping.clipInPlace(new float[1], -1))
                .hasMessage("threshold must be finite and > 0, got -1.0");
        assertThatThrownBy(() -> Clipping.clipInPlace(new float[1], Double.NaN))
                .hasMessage("threshold must be finite and > 0, got NaN");
        assertThatThrownBy(() -> Clipping.clipInPlace(new float[1], Double.POSITIVE_INFINITY))
                .hasMessage("threshold must be finite and > 0, got Infinity");
        assertThatThrownBy(() -> Clipping.clipInPlace(new float[] {1f, Float.NaN}, 1))
                .hasMessage("g must have finite elements to be clipped, got L2 norm NaN (first non-finite element at "
                        + "index 1)");
        assertThatThrownBy(() -> Clipping.shardThresholds(Double.NaN, new long[] {1}))
                .hasMessage("totalClip must be finite and > 0, got NaN");
        assertThatThrownBy(() -> Clipping.shardThresholds(1, new long[0])).hasMessage("shardSizes must not be empty");
        assertThatThrownBy(() -> Clipping.shardThresholds(1, new long[] {3, 0}))
                .hasMessage("shardSizes[1] must be > 0, got 0");
        assertThatThrownBy(() -> Clipping.shardThresholds(1, new long[] {Long.MAX_VALUE, 1}))
                .hasMessage("shardSizes must sum to at most " + Long.MAX_VALUE);
        assertThatThrownBy(() -> Clipping.withinBound(new float[1], -1, 1))
                .hasMessage("numExamples must be >= 0, got -1");
        assertThatThrownBy(() -> Clipping.withinBound(new float[1], 1, -0.5))
                .hasMessage("shardThreshold must be finite and > 0, got -0.5");
    }
}
