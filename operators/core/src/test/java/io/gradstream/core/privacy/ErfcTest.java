package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * erfc against high-precision values (mpmath, 30 digits) across the series/continued-fraction switch and far tail; exp
 * of a log near -100 costs a few ulps, hence 1e-14 on erfc itself.
 */
class ErfcTest {

    private static double rel(double a, double e) {
        return Math.abs(a - e) / Math.abs(e);
    }

    @Test
    void erfcMatchesHighPrecisionValues() {
        double[][] cases = {
            // x, erfc(x)
            {-3.0, 1.9999779095030014},
            {-0.5, 1.5204998778130465},
            {0.0, 1.0},
            {0.3, 0.67137324054087258},
            {0.999, 0.15771472979350306},
            {1.0, 0.15729920705028513},
            {1.5, 0.033894853524689274},
            {3.0, 2.2090496998585441e-05},
            {10.0, 2.0884875837625448e-45},
        };
        for (double[] c : cases) {
            assertThat(rel(Erfc.erfc(c[0]), c[1])).as("erfc(%s)", c[0]).isLessThan(1e-14);
        }
    }

    @Test
    void logErfcStaysAccurateWhereErfcUnderflows() {
        // log erfc(30) = -903.9741171...; erfc itself is below the smallest double.
        assertThat(Erfc.erfc(30)).isZero();
        assertThat(rel(Erfc.logErfc(30), -903.97411711064388)).isLessThan(1e-15);
        assertThat(rel(Erfc.logErfc(5), -27.200889545537434)).isLessThan(1e-15);
        assertThat(Erfc.logErfc(Double.POSITIVE_INFINITY)).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(Erfc.logErfc(Double.NEGATIVE_INFINITY)).isEqualTo(Math.log(2));
        assertThat(Erfc.logErfc(Double.NaN)).isNaN();
    }
}
