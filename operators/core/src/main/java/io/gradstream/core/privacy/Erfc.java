package io.gradstream.core.privacy;

/**
 * The complementary error function and its logarithm with full relative accuracy in the far tail, which the
 * fractional-order RDP series of Mironov, Talwar and Zhang (2019, arXiv:1908.10530, Sec. 3.3) evaluates at arguments
 * whose erfc underflows a double. Below 1 erf is summed as a positive series (A&amp;S 7.1.6); from 1 up, erfc is the
 * Laplace continued fraction (A&amp;S 7.1.14) evaluated by the modified Lentz method, kept in log space.
 */
public final class Erfc {
    /** Below this the series for erf is used: 1 - erf loses under a digit there, and the fraction converges slowly. */
    private static final double SERIES_LIMIT = 1.0;

    private static final double INV_SQRT_PI = 0.5641895835477562869;
    private static final double TWO_OVER_SQRT_PI = 1.1283791670955125739;
    private static final double TINY = 1e-300;
    private static final int MAX_TERMS = 10_000;

    private Erfc() {}

    /** erfc(x) = 1 - erf(x); relative error below 1e-14 wherever the result is a normal double. */
    public static double erfc(double x) {
        if (Double.isNaN(x)) {
            return Double.NaN;
        }
        if (x < 0) {
            return 2 - erfc(-x);
        }
        if (x == Double.POSITIVE_INFINITY) {
            return 0;
        }
        if (x < SERIES_LIMIT) {
            return 1 - erfSeries(x);
        }
        return Math.exp(logErfcTail(x));
    }

    /** log(erfc(x)); finite for every finite x (about -x^2 for large x), -infinity at +infinity. */
    public static double logErfc(double x) {
        if (Double.isNaN(x)) {
            return Double.NaN;
        }
        if (x == Double.POSITIVE_INFINITY) {
            return Double.NEGATIVE_INFINITY;
        }
        if (x < SERIES_LIMIT) {
            // erfc is in (0.15, 2] here, so its logarithm loses nothing.
            return Math.log(erfc(x));
        }
        return logErfcTail(x);
    }

    /** erf(x) = 2x/sqrt(pi) e^{-x^2} sum (2x^2)^n / (2n+1)!!: all terms positive, so no cancellation. */
    private static double erfSeries(double x) {
        double twoX2 = 2 * x * x;
        double term = 1;
        double sum = 1;
        for (int n = 1; n < MAX_TERMS; n++) {
            term *= twoX2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) {
                break;
            }
        }
        return TWO_OVER_SQRT_PI * x * Math.exp(-x * x) * sum;
    }

    /**
     * log erfc(x) for x &gt;= 1 as -x^2 + log(1/(sqrt(pi) f)), f = x + (1/2)/(x + 1/(x + (3/2)/(x + ...))). The square
     * is split into its rounded value and the rounding error (fma) so that -x^2 stays exact for large x.
     */
    private static double logErfcTail(double x) {
        double f = x;
        double c = f;
        double d = 0;
        for (int n = 1; n < MAX_TERMS; n++) {
            double a = 0.5 * n;
            d = x + a * d;
            if (d == 0) {
                d = TINY;
            }
            d = 1 / d;
            c = x + a / c;
            if (c == 0) {
                c = TINY;
            }
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        double sq = x * x;
        double sqError = Math.fma(x, x, -sq);
        return -sq - sqError + Math.log(INV_SQRT_PI / f);
    }
}
