package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.privacy.NoiseGenerator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The device noise draws from the CPU generator's keystream: with fp64 each value equals the CPU's up to the
 * device's transcendental functions (1e-12 relative here; a wrong key, nonce, counter or pairing would differ by O(1)),
 * and the moments are those of N(0, std^2).
 */
class OpenClNoiseGeneratorITCase extends WithClContext {
    private static final byte[] SEED = "0123456789abcdef-test-seed".getBytes(StandardCharsets.UTF_8);

    @Test
    void sameKeystreamAsTheCpuGeneratorForAnyStartingElement() {
        NoiseGenerator cpu = new NoiseGenerator(SEED);
        OpenClNoiseGenerator device = new OpenClNoiseGenerator(ctx, SEED);
        double tolerance = ctx.device().fp64() ? 1e-12 : 1e-5;
        for (long first : new long[] {0, 3, 8, 1001}) {
            double[] want = new double[100_003];
            double[] have = new double[want.length];
            cpu.gaussian(want, first, 2.5, "model", "layer0.weight", 7, 42);
            device.gaussian(have, first, 2.5, "model", "layer0.weight", 7, 42);
            double worst = 0;
            for (int i = 0; i < want.length; i++) {
                worst = Math.max(worst, Math.abs(have[i] - want[i]) / Math.max(1, Math.abs(want[i])));
            }
            assertThat(worst)
                    .as("largest relative difference from element %d", first)
                    .isLessThan(tolerance);
        }
    }

    @Test
    void momentsAreThoseOfTheNormal() {
        OpenClNoiseGenerator device = new OpenClNoiseGenerator(ctx, SEED);
        double[] z = new double[1 << 20];
        device.gaussian(z, 0, 1.0, "m", "t", 0, 1);
        double mean = 0;
        double sq = 0;
        for (double x : z) {
            mean += x;
            sq += x * x;
        }
        mean /= z.length;
        double var = sq / z.length - mean * mean;
        // 6 standard errors: sqrt(1/n) for the mean, sqrt(2/n) for the variance.
        assertThat(Math.abs(mean)).isLessThan(6 / Math.sqrt(z.length));
        assertThat(Math.abs(var - 1)).isLessThan(6 * Math.sqrt(2.0 / z.length));
    }
}
