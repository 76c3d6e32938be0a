package io.gradstream.core.optim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LionTest {

    @Test
    void branchFreeSignEqualsMathSignumBitForBit() {
        float[] special = {
            0f,
            -0f,
            Float.MIN_VALUE,
            -Float.MIN_VALUE,
            Float.MIN_NORMAL,
            1e-30f,
            -1e-30f,
            1f,
            -1f,
            Float.MAX_VALUE,
            -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            Float.NaN
        };
        for (float c : special) {
            assertThat(Float.floatToIntBits(Lion.sign(c)))
                    .as("sign(%s)", c)
                    .isEqualTo(Float.floatToIntBits(Math.signum(c)));
        }
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < 1_000_000; i++) {
            float c = Float.intBitsToFloat(rnd.nextInt());
            assertThat(Float.floatToIntBits(Lion.sign(c))).isEqualTo(Float.floatToIntBits(Math.signum(c)));
        }
    }
}
