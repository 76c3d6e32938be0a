package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Bf16Test {

    @Test
    void everyBfloat16RoundTripsThroughFloat() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Bf16.toFloat((short) b);
            if (Float.isNaN(f)) {
                assertThat(Bf16.toFloat(Bf16.fromFloat(f))).isNaN();
            } else {
                assertThat(hex(Bf16.fromFloat(f))).isEqualTo(hex((short) b));
            }
        }
    }

    @Test
    void nanNeverBecomesInfinity() {
        // The plain rounding formula would carry these NaNs into the exponent (Inf) or wrap them to -0.0.
        assertThat(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7F800001))))
                .isNaN();
        assertThat(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7FFFFFFF))))
                .isNaN();
        assertThat(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0xFFFFFFFF))))
                .isNaN();
        assertThat(hex(Bf16.fromFloat(Float.MAX_VALUE))).isEqualTo("7f80");
        assertThat(hex(Bf16.fromFloat(-Float.MAX_VALUE))).isEqualTo("ff80");
    }

    /** Independent of the formula: nearest-even against both neighbours on raw-bit inputs. */
    @Test
    void roundsToNearestEvenOnRandomInputs() {
        Random random = new Random(7);
        List<String> violations = new ArrayList<>();
        for (int n = 0; n < 1_000_000 && violations.size() < 10; n++) {
            float x = Float.intBitsToFloat(random.nextInt());
            if (!Float.isNaN(x)) {
                String violation = RoundingCheck.violation(x, Bf16.fromFloat(x), Bf16Test::magnitude, 0x7F80);
                if (violation != null) {
                    violations.add(violation);
                }
            }
        }
        assertThat(violations).isEmpty();
    }

    /** 2^128 stands in for the infinity pattern, the value from which rounding goes to infinity. */
    private static double magnitude(int bits) {
        return bits == 0x7F80 ? 0x1p128 : Bf16.toFloat((short) bits);
    }

    private static String hex(short bits) {
        return String.format("%04x", bits & 0xFFFF);
    }
}
