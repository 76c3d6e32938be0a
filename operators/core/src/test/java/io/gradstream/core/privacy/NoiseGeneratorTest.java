package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The noise is N(0, std^2) by moments and a Kolmogorov-Smirnov test on 10^6 draws, and a pure function of (seed,
 * model, tensor, shard, version, element): chunking, restarts and copies of the generator change nothing.
 */
class NoiseGeneratorTest {
    private static final byte[] SEED = "test-seed-0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    private static final int N = 1_000_000;
    /** Kolmogorov-Smirnov critical value sqrt(-ln(alpha / 2) / 2) at alpha = 1e-3, times sqrt(n) for large n. */
    private static final double KS_CRITICAL_1E3 = 1.9495;

    private static double[] draw(
            NoiseGenerator g, int n, long first, String model, String tensor, int shard, long version) {
        double[] out = new double[n];
        g.gaussian(out, first, 1.0, model, tensor, shard, version);
        return out;
    }

    private static double phi(double x) {
        return 0.5 * Erfc.erfc(-x / Math.sqrt(2));
    }

    @Test
    void millionDrawsAreStandardNormal() {
        double[] z = draw(new NoiseGenerator(SEED), N, 0, "m", "w", 0, 1);
        double sum = 0;
        for (double x : z) {
            sum += x;
        }
        double mean = sum / N;
        double ss = 0;
        double pairProduct = 0;
        for (int i = 0; i < N; i++) {
            ss += (z[i] - mean) * (z[i] - mean);
        }
        for (int i = 0; i < N; i += 2) {
            // The two Box-Muller outputs of one pair must be uncorrelated.
            pairProduct += z[i] * z[i + 1];
        }
        double variance = ss / (N - 1);
        // Standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance of a normal sample.
        assertThat(Math.abs(mean)).isLessThan(5 / Math.sqrt(N));
        assertThat(Math.abs(variance - 1)).isLessThan(5 * Math.sqrt(2.0 / N));
        assertThat(Math.abs(pairProduct / (N / 2))).isLessThan(5 / Math.sqrt(N / 2.0));

        double[] sorted = z.clone();
        Arrays.sort(sorted);
        double d = 0;
        for (int i = 0; i < N; i++) {
            double f = phi(sorted[i]);
            d = Math.max(d, Math.max((i + 1.0) / N - f, f - (double) i / N));
        }
        assertThat(d).isLessThan(KS_CRITICAL_1E3 / Math.sqrt(N));
    }

    @Test
    void addGaussianScalesByStdAndRoundsOnceToFloat() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        int n = 200_000;
        double std = 3.5;
        float[] target = new float[n];
        Arrays.fill(target, 1.25f);
        g.addGaussian(target, std, "m", "w", 2, 7);
        double[] noise = new double[n];
        g.gaussian(noise, 0, std, "m", "w", 2, 7);
        double sum = 0;
        double ss = 0;
        for (int i = 0; i < n; i++) {
            assertThat(target[i]).isEqualTo((float) (1.25f + noise[i]));
            sum += target[i] - 1.25;
            ss += (target[i] - 1.25) * (target[i] - 1.25);
        }
        double variance = ss / n;
        assertThat(Math.abs(sum / n)).isLessThan(5 * std / Math.sqrt(n));
        assertThat(Math.abs(variance / (std * std) - 1)).isLessThan(5 * Math.sqrt(2.0 / n));
    }

    @Test
    void sameInputsGiveIdenticalFloats() {
        float[] a = new float[3000];
        float[] b = new float[3000];
        new NoiseGenerator(SEED).addGaussian(a, 0.7, "model", "layer.weight", 3, 42);
        new NoiseGenerator(SEED).addGaussian(b, 0.7, "model", "layer.weight", 3, 42);
        assertThat(b).isEqualTo(a);
        assertThat(a).contains(a[0]).doesNotContain(Float.NaN);
        assertThat(a[0]).isNotZero();
    }

    @Test
    void rangesDrawnInPiecesEqualTheWholeRange() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        int n = 1500;
        double[] whole = draw(g, n, 0, "m", "t", 1, 9);
        // Odd, block-unaligned and chunk-straddling split points.
        for (int k : new int[] {0, 1, 7, 8, 9, 511, 512, 513, 1023, 1499, 1500}) {
            double[] head = draw(g, k, 0, "m", "t", 1, 9);
            double[] tail = draw(g, n - k, k, "m", "t", 1, 9);
            assertThat(head).as("k = %d", k).isEqualTo(Arrays.copyOfRange(whole, 0, k));
            assertThat(tail).as("k = %d", k).isEqualTo(Arrays.copyOfRange(whole, k, n));
        }
        // Many small uneven pieces, as a shard sliced into messages would be.
        int[] cuts = {0, 3, 4, 100, 101, 700, 1201, 1500};
        for (int c = 0; c + 1 < cuts.length; c++) {
            float[] piece = new float[cuts[c + 1] - cuts[c]];
            g.addGaussian(piece, cuts[c], 1.0, "m", "t", 1, 9);
            for (int j = 0; j < piece.length; j++) {
                assertThat(piece[j]).isEqualTo((float) whole[cuts[c] + j]);
            }
        }
    }

    @Test
    void everyIdentityComponentChangesTheNoise() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        double[] base = draw(g, 64, 0, "m", "t", 0, 5);
        double[][] variants = {
            draw(g, 64, 0, "m", "t", 1, 5),
            draw(g, 64, 0, "m", "t", 0, 6),
            draw(g, 64, 0, "m", "u", 0, 5),
            draw(g, 64, 0, "n", "t", 0, 5),
            draw(new NoiseGenerator("another-seed-0123456789".getBytes(StandardCharsets.UTF_8)), 64, 0, "m", "t", 0, 5),
            draw(g, 64, 64, "m", "t", 0, 5),
        };
        for (double[] v : variants) {
            int equal = 0;
            for (int i = 0; i < base.length; i++) {
                equal += v[i] == base[i] ? 1 : 0;
            }
            assertThat(equal).isZero();
        }
        // Length-prefixed encoding: moving a character between model and tensor is a different stream.
        assertThat(draw(g, 16, 0, "ab", "c", 0, 5)).isNotEqualTo(draw(g, 16, 0, "a", "bc", 0, 5));
    }

    @Test
    void aGeneratorRebuiltFromTheSeedBytesReplaysTheSameNoise() {
        byte[] seed = SEED.clone();
        NoiseGenerator original = new NoiseGenerator(seed);
        // The generator keeps its own copy: the caller may wipe its buffer.
        Arrays.fill(seed, (byte) 0);
        NoiseGenerator restored = new NoiseGenerator(SEED.clone());
        float[] a = new float[777];
        float[] b = new float[777];
        original.addGaussian(a, 1.5, "m", "t", 4, 1000);
        restored.addGaussian(b, 1.5, "m", "t", 4, 1000);
        assertThat(b).isEqualTo(a);
    }

    @Test
    void elementsNearTheEndOfTheCounterRangeAreAddressable() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        long last = NoiseGenerator.MAX_ELEMENTS - 5;
        double[] tail = draw(g, 5, last, "m", "t", 0, 0);
        assertThat(draw(g, 2, last + 3, "m", "t", 0, 0)).isEqualTo(Arrays.copyOfRange(tail, 3, 5));
        assertThatThrownBy(() -> draw(g, 6, last, "m", "t", 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("element range [" + last + ", " + last + " + 6)");
    }

    @Test
    void theSeedNeverAppearsInToStringOrMessages() {
        String marker = "RECOGNISABLE-SECRET-SEED-4242";
        byte[] seed = marker.getBytes(StandardCharsets.UTF_8);
        NoiseGenerator g = new NoiseGenerator(seed);
        String[] forbidden = {marker, HexFormat.of().formatHex(seed), Arrays.toString(seed), "RECOGNISABLE"};
        String text = g + " " + new GaussianMechanism(g, 1.1);
        for (String f : forbidden) {
            assertThat(text).doesNotContain(f);
        }
        byte[] shortSeed = "RECOGNISABLE".getBytes(StandardCharsets.UTF_8);
        Throwable tooShort = org.assertj.core.api.Assertions.catchThrowable(() -> new NoiseGenerator(shortSeed));
        assertThat(tooShort)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("secretSeed must be at least 16 bytes, got 12 bytes");
        Throwable badStd = org.assertj.core.api.Assertions.catchThrowable(
                () -> g.addGaussian(new float[1], Double.NaN, "m", "t", 0, 0));
        for (String f : forbidden) {
            assertThat(tooShort.getMessage()).doesNotContain(f);
            assertThat(badStd.getMessage()).doesNotContain(f);
        }
    }

    @Test
    void invalidArgumentsAreNamedInTheMessage() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        assertThatThrownBy(() -> new NoiseGenerator(null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("secretSeed must not be null");
        assertThatThrownBy(() -> g.addGaussian(new float[1], -1, "m", "t", 0, 0))
                .hasMessage("std must be finite and >= 0, got -1.0");
        assertThatThrownBy(() -> g.addGaussian(new float[1], Double.POSITIVE_INFINITY, "m", "t", 0, 0))
                .hasMessage("std must be finite and >= 0, got Infinity");
        assertThatThrownBy(() -> g.addGaussian(new float[1], 1, "m", "t", -1, 0))
                .hasMessage("shard must be >= 0, got -1");
        assertThatThrownBy(() -> g.addGaussian(new float[1], 1, "m", "t", 0, -3))
                .hasMessage("version must be >= 0, got -3");
        assertThatThrownBy(() -> g.addGaussian(new float[1], -2, 1, "m", "t", 0, 0))
                .hasMessageContaining("element range [-2, -2 + 1)");
        assertThatThrownBy(() -> g.addGaussian(new float[1], 1, null, "t", 0, 0))
                .hasMessage("model must not be null");
        assertThatThrownBy(() -> g.addGaussian(new float[1], 1, "m", null, 0, 0))
                .hasMessage("tensor must not be null");
        assertThatThrownBy(() -> g.addGaussianAndDivide(new float[1], 0, 1, 0, "m", "t", 0, 0))
                .hasMessage("divisor must be finite and > 0, got 0.0");
    }

    @Test
    void zeroStdAndEmptyTargetsAreNoOps() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        float[] t = {1f, -2f, 3f};
        g.addGaussian(t, 0, "m", "t", 0, 0);
        assertThat(t).containsExactly(1f, -2f, 3f);
        g.addGaussian(new float[0], 1, "m", "t", 0, 0);
    }
}
