package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Fp16Test {

    @Test
    void everyHalfRoundTripsThroughFloat() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Fp16.toFloat((short) h);
            if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0) {
                assertThat(f).as(hex((short) h)).isNaN();
            } else {
                assertThat(hex(Fp16.fromFloat(f))).isEqualTo(hex((short) h));
            }
        }
    }

    @Test
    void namedEdgeCases() {
        assertThat(hex(Fp16.fromFloat(65504f))).isEqualTo("7bff");
        assertThat(hex(Fp16.fromFloat(Math.nextDown(65520f)))).isEqualTo("7bff");
        assertThat(hex(Fp16.fromFloat(65520f))).isEqualTo("7c00");
        assertThat(hex(Fp16.fromFloat(-65520f))).isEqualTo("fc00");
        assertThat(hex(Fp16.fromFloat(0x1p-25f))).isEqualTo("0000");
        assertThat(hex(Fp16.fromFloat(-0x1p-25f))).isEqualTo("8000");
        assertThat(hex(Fp16.fromFloat(Math.nextUp(0x1p-25f)))).isEqualTo("0001");
        assertThat(hex(Fp16.fromFloat(3 * 0x1p-25f))).isEqualTo("0002");
        assertThat(hex(Fp16.fromFloat(Math.nextDown(0x1p-14f)))).isEqualTo("0400");
        assertThat(hex(Fp16.fromFloat(1 + 0x1p-11f))).isEqualTo("3c00");
        assertThat(hex(Fp16.fromFloat(1 + 3 * 0x1p-11f))).isEqualTo("3c02");
        assertThat(hex(Fp16.fromFloat(Float.MIN_VALUE))).isEqualTo("0000");
        assertThat(hex(Fp16.fromFloat(Float.intBitsToFloat(0xFF800001)))).startsWith("fe");
    }

    /** Independent of the bit tricks: nearest-even against both neighbours, on log-uniform and raw-bit inputs. */
    @Test
    void roundsToNearestEvenOnRandomInputs() {
        Random random = new Random(42);
        List<String> violations = new ArrayList<>();
        for (int n = 0; n < 1_000_000 && violations.size() < 10; n++) {
            float x = n % 2 == 0
                    ? (float) Math.scalb(1 + random.nextDouble(), random.nextInt(46) - 28)
                            * (random.nextBoolean() ? 1 : -1)
                    : Float.intBitsToFloat(random.nextInt());
            if (Float.isNaN(x)) {
                if (!Float.isNaN(Fp16.toFloat(Fp16.fromFloat(x)))) {
                    violations.add(x + " lost NaN");
                }
                continue;
            }
            String violation = RoundingCheck.violation(x, Fp16.fromFloat(x), Fp16Test::magnitude, 0x7C00);
            if (violation != null) {
                violations.add(violation);
            }
        }
        assertThat(violations).isEmpty();
    }

    /** 65536 stands in for the infinity pattern, the value from which rounding goes to infinity. */
    private static double magnitude(int halfMagnitudeBits) {
        return halfMagnitudeBits == 0x7C00 ? 65536.0 : Fp16.toFloat((short) halfMagnitudeBits);
    }

    private static String hex(short bits) {
        return String.format("%04x", bits & 0xFFFF);
    }
}
