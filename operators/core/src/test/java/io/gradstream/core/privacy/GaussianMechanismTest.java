package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The mechanism adds N(0, (sigma C)^2), C the total clip norm, to the clipped sum and divides by the expected count, rounding once. */
class GaussianMechanismTest {
    private static final byte[] SEED = "mechanism-test-seed-0123456789".getBytes(StandardCharsets.UTF_8);

    @Test
    void noiseIsSigmaTimesTheClipNormAndTheDivisorIsTheExpectedCount() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        GaussianMechanism m = new GaussianMechanism(g, 1.3);
        float[] sum = new float[1000];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = (float) Math.sin(i) * 3;
        }
        float[] out = sum.clone();
        // Three contributions arrived but eight were expected: the divisor is eight.
        m.privatize(out, 0.4, 8.0, "m", "w", 2, 11);
        double[] noise = new double[sum.length];
        g.gaussian(noise, 0, 1.3 * 0.4, "m", "w", 2, 11);
        for (int i = 0; i < sum.length; i++) {
            assertThat(out[i]).isEqualTo((float) ((sum[i] + noise[i]) / 8.0));
        }
        assertThat(m.noiseStd(0.4)).isEqualTo(1.3 * 0.4);
    }

    @Test
    void outputVarianceIsSigmaCOverExpectedCountSquared() {
        GaussianMechanism m = new GaussianMechanism(new NoiseGenerator(SEED), 2.0);
        int n = 200_000;
        float[] out = new float[n];
        m.privatize(out, 0.5, 4.0, "m", "w", 0, 1);
        double ss = 0;
        double sum = 0;
        for (float x : out) {
            sum += x;
            ss += (double) x * x;
        }
        double std = 2.0 * 0.5 / 4.0;
        assertThat(Math.abs(sum / n)).isLessThan(5 * std / Math.sqrt(n));
        assertThat(Math.abs(ss / n / (std * std) - 1)).isLessThan(5 * Math.sqrt(2.0 / n));
    }

    @Test
    void aRestoredMechanismReplaysAVersionExactlyAndSlicesAgree() {
        float[] a = new float[600];
        float[] b = new float[600];
        new GaussianMechanism(new NoiseGenerator(SEED), 0.9).privatize(a, 1.0, 32, "m", "w", 1, 77);
        new GaussianMechanism(new NoiseGenerator(SEED.clone()), 0.9).privatize(b, 1.0, 32, "m", "w", 1, 77);
        assertThat(b).isEqualTo(a);
        float[] tail = new float[100];
        new GaussianMechanism(new NoiseGenerator(SEED), 0.9).privatize(tail, 500, 1.0, 32, "m", "w", 1, 77);
        for (int i = 0; i < tail.length; i++) {
            assertThat(tail[i]).isEqualTo(a[500 + i]);
        }
    }

    @Test
    void invalidArgumentsAreNamedInTheMessage() {
        NoiseGenerator g = new NoiseGenerator(SEED);
        assertThatThrownBy(() -> new GaussianMechanism(null, 1))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("noise must not be null");
        assertThatThrownBy(() -> new GaussianMechanism(g, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("noiseMultiplier must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> new GaussianMechanism(g, Double.NaN))
                .hasMessage("noiseMultiplier must be finite and > 0, got NaN");
        GaussianMechanism m = new GaussianMechanism(g, 1);
        assertThatThrownBy(() -> m.privatize(new float[1], 0, 4, "m", "w", 0, 0))
                .hasMessage("clipNorm must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> m.privatize(new float[1], 1, 0, "m", "w", 0, 0))
                .hasMessage("expectedCount must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> m.privatize(new float[1], 1, Double.POSITIVE_INFINITY, "m", "w", 0, 0))
                .hasMessage("expectedCount must be finite and > 0, got Infinity");
    }
}
