package io.gradstream.core.privacy.prv;

import io.gradstream.core.privacy.Erfc;

/**
 * The privacy random variable of one step of the Poisson-subsampled Gaussian mechanism (Gopi, Lee, Wutschitz 2021,
 * arXiv:2106.02848, Prop. B.4): with z = log((e^t + q - 1)/q) and s = sigma, its CDF is F(t) = 1 - q erfc((2 z s^2 -
 * 1)/(2 sqrt2 s))/2 - (1 - q) erfc((2 z s^2 + 1)/(2 sqrt2 s))/2 above log(1 - q), zero below. Both F and 1 - F are
 * formed as sums of positive erfc terms, so neither tail loses digits to cancellation.
 */
final class SubsampledGaussianPrv {
    private static final double SQRT2 = Math.sqrt(2);

    final double sampleRate;
    final double noiseMultiplier;
    /** log(1 - q): the variable never falls below it. */
    private final double floor;

    SubsampledGaussianPrv(double sampleRate, double noiseMultiplier) {
        if (!(sampleRate > 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("sampleRate must be in (0, 1], got " + sampleRate);
        }
        if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
            throw new IllegalArgumentException("noiseMultiplier must be finite and > 0, got " + noiseMultiplier);
        }
        this.sampleRate = sampleRate;
        this.noiseMultiplier = noiseMultiplier;
        this.floor = Math.log1p(-sampleRate);
    }

    /** F(t) and 1 - F(t), each to full relative accuracy. */
    record Tails(double cdf, double survival) {}

    Tails tails(double t) {
        if (!(t > floor)) {
            return new Tails(0, 1);
        }
        double q = sampleRate;
        double s = noiseMultiplier;
        // log((e^t + q - 1)/q) through expm1/log1p: exact near t = 0, where most of the mass of a small q lies.
        double z = Math.log1p(Math.expm1(t) / q);
        double scale = 2 * SQRT2 * s;
        double a = (2 * z * s * s - 1) / scale;
        double b = (2 * z * s * s + 1) / scale;
        double erfcA = Erfc.erfc(Math.abs(a));
        double erfcB = Erfc.erfc(Math.abs(b));
        // erfc(-x) = 2 - erfc(x): the upper and lower tails from one evaluation each.
        double upA = a >= 0 ? erfcA : 2 - erfcA;
        double upB = b >= 0 ? erfcB : 2 - erfcB;
        double downA = a >= 0 ? 2 - erfcA : erfcA;
        double downB = b >= 0 ? 2 - erfcB : erfcB;
        return new Tails(q * downA / 2 + (1 - q) * downB / 2, q * upA / 2 + (1 - q) * upB / 2);
    }

    double cdf(double t) {
        return tails(t).cdf();
    }

    /**
     * The variable conditioned on [tMin, tMax]: its CDF is (F(t) - F(tMin)) / (F(tMax) - F(tMin)) inside, 0 below and
     * 1 from tMax up.
     */
    Truncated truncate(double tMin, double tMax) {
        return new Truncated(tMin, tMax);
    }

    /** {@link #truncate}'s result: bin masses on a grid and the mean. */
    final class Truncated {
        final double tMin;
        final double tMax;
        private final Tails atMin;
        private final Tails atMax;
        private final double mass;

        private Truncated(double tMin, double tMax) {
            if (!(tMin < tMax)) {
                throw new IllegalArgumentException("truncation needs tMin < tMax, got " + tMin + ", " + tMax);
            }
            this.tMin = tMin;
            this.tMax = tMax;
            this.atMin = tails(tMin);
            this.atMax = tails(tMax);
            this.mass = atMax.cdf() - atMin.cdf();
            if (!(mass > 0)) {
                throw new ArithmeticException("no probability mass in [" + tMin + ", " + tMax + "]");
            }
        }

        /** mass * F_trunc(t) and mass * (1 - F_trunc(t)), each without cancellation in its own tail. */
        private double[] scaledTails(double t) {
            if (t < tMin) {
                return new double[] {0, mass};
            }
            if (t >= tMax) {
                return new double[] {mass, 0};
            }
            Tails x = tails(t);
            return new double[] {x.cdf() - atMin.cdf(), x.survival() - atMax.survival()};
        }

        /**
         * The probability of each cell [t_i - dt/2, t_i + dt/2) of the grid. A cell's mass is the difference of the
         * CDF where that is below one half and of the survival function above, so a far-tail cell keeps its digits.
         */
        double[] discretise(Domain domain) {
            int n = domain.size();
            double half = domain.dt() / 2;
            double[] ts = domain.points();
            double[] pmf = new double[n];
            double[] left = scaledTails(ts[0] - half);
            for (int i = 0; i < n; i++) {
                double[] right = scaledTails(ts[i] + half);
                double fromBelow = right[0] - left[0];
                double fromAbove = left[1] - right[1];
                pmf[i] = (left[0] < left[1] ? fromBelow : fromAbove) / mass;
                left = right;
            }
            return pmf;
        }

        /** The truncated CDF: (F(t) - F(tMin)) / mass inside [tMin, tMax), 0 below, 1 from tMax up. */
        double cdf(double t) {
            if (t < tMin) {
                return 0;
            }
            if (t >= tMax) {
                return 1;
            }
            return (tails(t).cdf() - atMin.cdf()) / mass;
        }

        /**
         * E[T | tMin &lt;= T &lt;= tMax] by parts, cell by cell: the sum of r F(r) - l F(l) - integral_l^r F over
         * cells split at 0 and at ten log-spaced points on either side, from 1e-5 to the power of ten within the
         * domain's end. Each integral is the {@link Quadrature} Opacus' scipy.quad computes, so that the discrete
         * variable is shifted exactly as far as Opacus shifts it.
         */
        double mean() {
            double[] points = meanBreakpoints();
            double mean = 0;
            for (int i = 0; i + 1 < points.length; i++) {
                double l = points[i];
                double r = points[i + 1];
                double integral = Quadrature.integrate(this::cdf, l, r).area();
                mean += r * cdf(r) - l * cdf(l) - integral;
            }
            return mean;
        }

        /** tMin, -10^a .. -1e-5 (ten points), 0, 1e-5 .. 10^b (ten points), tMax; a, b: log10 of the ends, truncated. */
        double[] meanBreakpoints() {
            int lower = (int) Math.log10(Math.abs(tMin));
            int upper = (int) Math.log10(tMax);
            double[] out = new double[23];
            out[0] = tMin;
            double[] down = logSpaced(lower, -5);
            double[] up = logSpaced(-5, upper);
            for (int i = 0; i < 10; i++) {
                out[1 + i] = -down[i];
                out[12 + i] = up[i];
            }
            out[11] = 0;
            out[22] = tMax;
            return out;
        }

        /** 10^x for ten exponents x evenly spaced from {@code from} to {@code to}, both included (numpy.logspace). */
        private static double[] logSpaced(double from, double to) {
            double step = (to - from) / 9;
            double[] out = new double[10];
            for (int i = 0; i < 10; i++) {
                out[i] = Math.pow(10, i == 9 ? to : i * step + from);
            }
            return out;
        }
    }
}
