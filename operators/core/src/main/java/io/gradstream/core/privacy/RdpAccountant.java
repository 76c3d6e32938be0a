package io.gradstream.core.privacy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rényi-DP accountant for DP-SGD: the RDP of the sampled Gaussian mechanism as computed by Opacus'
 * {@code RDPAccountant} (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism", arXiv:1908.10530), summed over a history of training phases and converted to (epsilon, delta) by
 * Balle et al. 2020 (arXiv:1905.09982, Thm 21) or by the classic bound of Mironov 2017 (arXiv:1702.07476, Prop 3).
 */
public final class RdpAccountant {
    /** Opacus' {@code get_noise_multiplier} gives up beyond this noise multiplier. */
    public static final double MAX_NOISE_MULTIPLIER = NoiseCalibration.MAX_NOISE_MULTIPLIER;
    /** Opacus' default {@code epsilon_tolerance} for {@link #noiseMultiplierFor}. */
    public static final double DEFAULT_EPSILON_TOLERANCE = 0.01;

    private static final double[] DEFAULT_ORDERS = defaultOrdersArray();
    /** Opacus stops the fractional-order series once both new terms are below e^-30. */
    private static final double SERIES_CUTOFF = -30;

    private static final int MAX_SERIES_TERMS = 1_000_000;

    /** How RDP is turned into an (epsilon, delta) guarantee. */
    public enum Conversion {
        /** Balle et al. 2020, Thm 21: what Opacus reports since 2021. */
        OPACUS,
        /** eps = rdp(a) - log(delta)/(a - 1): TF Privacy and Opacus before 2021, kept to reproduce old numbers. */
        CLASSIC
    }

    /** {@code steps} steps of DP-SGD with one noise multiplier and sample rate. */
    public record Phase(double noiseMultiplier, double sampleRate, long steps) {
        public Phase {
            checkNoiseMultiplier(noiseMultiplier);
            checkSampleRate(sampleRate);
            if (steps < 0) {
                throw new IllegalArgumentException("steps must be >= 0, got " + steps);
            }
        }
    }

    /** The (epsilon, delta) guarantee at the order that gives the smallest epsilon (NaN when none is finite). */
    public record PrivacySpent(double epsilon, double bestOrder) {}

    private final double[] orders;
    private final List<Phase> history = new ArrayList<>();

    /** An accountant over Opacus' default orders. */
    public RdpAccountant() {
        this(DEFAULT_ORDERS);
    }

    /** An accountant over the given RDP orders (each finite and &gt; 1). */
    public RdpAccountant(double[] orders) {
        this.orders = checkOrders(orders);
    }

    /** Opacus' {@code DEFAULT_ALPHAS}: 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63. */
    public static double[] defaultOrders() {
        return DEFAULT_ORDERS.clone();
    }

    private static double[] defaultOrdersArray() {
        double[] a = new double[99 + 52];
        for (int x = 1; x <= 99; x++) {
            // Same expression as Opacus (1 + x / 10.0) so the orders are the same doubles.
            a[x - 1] = 1 + x / 10.0;
        }
        for (int k = 12; k <= 63; k++) {
            a[99 + k - 12] = k;
        }
        return a;
    }

    /** Records {@code steps} more steps; phases with different noise or sampling compose by adding RDP curves. */
    public RdpAccountant step(double noiseMultiplier, double sampleRate, long steps) {
        history.add(new Phase(noiseMultiplier, sampleRate, steps));
        return this;
    }

    public List<Phase> history() {
        return List.copyOf(history);
    }

    public double[] orders() {
        return orders.clone();
    }

    /** The RDP of the whole history at every order (zeros for an empty history). */
    public double[] rdp() {
        double[] total = new double[orders.length];
        for (Phase p : history) {
            double[] curve = rdp(p.sampleRate(), p.noiseMultiplier(), p.steps(), orders);
            for (int i = 0; i < total.length; i++) {
                total[i] += curve[i];
            }
        }
        return total;
    }

    /** Epsilon spent so far at {@code delta} with the Opacus conversion; (0, 0) for an empty history like Opacus. */
    public PrivacySpent privacySpent(double delta) {
        return privacySpent(delta, Conversion.OPACUS);
    }

    public PrivacySpent privacySpent(double delta, Conversion conversion) {
        checkDelta(delta);
        if (history.isEmpty()) {
            return new PrivacySpent(0, 0);
        }
        return epsilon(orders, rdp(), delta, conversion);
    }

    /** The RDP of {@code steps} steps of the sampled Gaussian mechanism at each order. */
    public static double[] rdp(double sampleRate, double noiseMultiplier, long steps, double[] orders) {
        checkSampleRate(sampleRate);
        checkNoiseMultiplier(noiseMultiplier);
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        checkOrders(orders);
        double[] out = new double[orders.length];
        for (int i = 0; i < orders.length; i++) {
            out[i] = rdpOneStep(sampleRate, noiseMultiplier, orders[i]) * steps;
        }
        return out;
    }

    /** The RDP at order {@code alpha} of one step with sampling rate q and noise multiplier sigma. */
    public static double rdp(double q, double sigma, double alpha) {
        checkSampleRate(q);
        checkNoiseMultiplier(sigma);
        checkOrders(new double[] {alpha});
        return rdpOneStep(q, sigma, alpha);
    }

    private static double rdpOneStep(double q, double sigma, double alpha) {
        if (q == 0) {
            return 0;
        }
        if (sigma == 0) {
            return Double.POSITIVE_INFINITY;
        }
        if (q == 1) {
            return alpha / (2 * (sigma * sigma));
        }
        double logA = alpha == Math.rint(alpha)
                ? logAIntegerOrder(q, sigma, (int) alpha)
                : logAFractionalOrder(q, sigma, alpha);
        return logA / (alpha - 1);
    }

    /** log A_alpha for integer alpha: the binomial expansion of E[(1 - q + q e^{(2z-1)/(2 sigma^2)})^alpha]. */
    private static double logAIntegerOrder(double q, double sigma, int alpha) {
        double logA = Double.NEGATIVE_INFINITY;
        double logQ = Math.log(q);
        double log1mQ = Math.log(1 - q);
        double twoSigma2 = 2 * (sigma * sigma);
        for (int i = 0; i <= alpha; i++) {
            double logCoef = Math.log(binomialInteger(alpha, i)) + i * logQ + (alpha - i) * log1mQ;
            double s = logCoef + ((double) i * i - i) / twoSigma2;
            logA = logAdd(logA, s);
        }
        return logA;
    }

    /**
     * log A_alpha for fractional alpha: the series split at z0 where the two Gaussians' weighted densities cross, each
     * half an erfc tail; terms alternate in sign past alpha, and the loop ends as Opacus' does (both terms &lt; e^-30).
     */
    private static double logAFractionalOrder(double q, double sigma, double alpha) {
        double logA0 = Double.NEGATIVE_INFINITY;
        double logA1 = Double.NEGATIVE_INFINITY;
        double logQ = Math.log(q);
        double log1mQ = Math.log(1 - q);
        double sigma2 = sigma * sigma;
        double twoSigma2 = 2 * sigma2;
        double sqrt2Sigma = Math.sqrt(2) * sigma;
        double logHalf = Math.log(0.5);
        double z0 = sigma2 * Math.log(1 / q - 1) + 0.5;
        // log|binom(alpha, i)| and its sign, updated by the factor (alpha - i + 1) / i.
        double logAbsCoef = 0;
        boolean positive = true;
        for (int i = 0; ; i++) {
            if (i > MAX_SERIES_TERMS) {
                // Opacus would loop forever; a bound keeps a CLI call from hanging on extreme parameters.
                throw new ArithmeticException("RDP series did not converge after " + MAX_SERIES_TERMS
                        + " terms for sampleRate " + q + ", noiseMultiplier " + sigma + ", order " + alpha);
            }
            if (i > 0) {
                double factor = (alpha - (i - 1)) / i;
                logAbsCoef += Math.log(Math.abs(factor));
                if (factor < 0) {
                    positive = !positive;
                }
            }
            double j = alpha - i;
            double logT0 = logAbsCoef + i * logQ + j * log1mQ;
            double logT1 = logAbsCoef + j * logQ + i * log1mQ;
            double logE0 = logHalf + Erfc.logErfc((i - z0) / sqrt2Sigma);
            double logE1 = logHalf + Erfc.logErfc((z0 - j) / sqrt2Sigma);
            double logS0 = logT0 + ((double) i * i - i) / twoSigma2 + logE0;
            double logS1 = logT1 + (j * j - j) / twoSigma2 + logE1;
            if (positive) {
                logA0 = logAdd(logA0, logS0);
                logA1 = logAdd(logA1, logS1);
            } else {
                logA0 = logSub(logA0, logS0);
                logA1 = logSub(logA1, logS1);
            }
            if (Math.max(logS0, logS1) < SERIES_CUTOFF) {
                break;
            }
        }
        return logAdd(logA0, logA1);
    }

    /**
     * C(n, k) by the multiplicative formula on the smaller side; every partial result C(n - m + i, i) is an integer,
     * so it is exact below 2^53 and does not overflow before the result does.
     */
    private static double binomialInteger(int n, int k) {
        int m = Math.min(k, n - k);
        double c = 1;
        for (int i = 1; i <= m; i++) {
            c = c * (n - m + i) / i;
        }
        return c;
    }

    /** log(e^x + e^y) without overflow. */
    private static double logAdd(double x, double y) {
        double a = Math.min(x, y);
        double b = Math.max(x, y);
        if (a == Double.NEGATIVE_INFINITY) {
            return b;
        }
        return Math.log1p(Math.exp(a - b)) + b;
    }

    /** log(e^x - e^y) for x &gt;= y; the alternating tail of the fractional series never exceeds its running sum. */
    private static double logSub(double x, double y) {
        if (x < y) {
            throw new ArithmeticException("log-space subtraction of a larger term: " + x + " < " + y);
        }
        if (y == Double.NEGATIVE_INFINITY) {
            return x;
        }
        if (x == y) {
            return Double.NEGATIVE_INFINITY;
        }
        double e = Math.expm1(x - y);
        // Where expm1 overflows the difference is x itself to double precision (Opacus catches OverflowError alike).
        return Double.isInfinite(e) ? x : Math.log(e) + y;
    }

    /**
     * The smallest epsilon over the orders for the given RDP curve, and its order. NaN epsilons (e.g. inf - inf) are
     * skipped like numpy's nanargmin, ties go to the first order, and an all-NaN curve gives (infinity, NaN).
     */
    public static PrivacySpent epsilon(double[] orders, double[] rdp, double delta, Conversion conversion) {
        checkOrders(orders);
        checkDelta(delta);
        if (orders.length != rdp.length) {
            throw new IllegalArgumentException(
                    "orders and rdp must have the same length, got " + orders.length + " and " + rdp.length);
        }
        double logDelta = Math.log(delta);
        int best = -1;
        double bestEps = Double.NaN;
        for (int i = 0; i < orders.length; i++) {
            double a = orders[i];
            double eps = conversion == Conversion.OPACUS
                    ? rdp[i] - (logDelta + Math.log(a)) / (a - 1) + Math.log((a - 1) / a)
                    : rdp[i] - logDelta / (a - 1);
            if (!Double.isNaN(eps) && (best < 0 || eps < bestEps)) {
                best = i;
                bestEps = eps;
            }
        }
        if (best < 0) {
            return new PrivacySpent(Double.POSITIVE_INFINITY, Double.NaN);
        }
        return new PrivacySpent(bestEps, orders[best]);
    }

    /** Epsilon after {@code steps} steps at one noise multiplier and sample rate, default orders. */
    public static PrivacySpent epsilon(
            double noiseMultiplier, double sampleRate, long steps, double delta, Conversion conversion) {
        return new RdpAccountant().step(noiseMultiplier, sampleRate, steps).privacySpent(delta, conversion);
    }

    /** {@link #noiseMultiplierFor(double, double, double, long, double)} with Opacus' tolerance of 0.01. */
    public static double noiseMultiplierFor(double targetEpsilon, double delta, double sampleRate, long steps) {
        return noiseMultiplierFor(targetEpsilon, delta, sampleRate, steps, DEFAULT_EPSILON_TOLERANCE);
    }

    /**
     * A noise multiplier whose epsilon (Opacus conversion, default orders) is at most {@code targetEpsilon} and within
     * {@code epsilonTolerance} of it, found as Opacus' {@code get_noise_multiplier} does: double from 10 until the
     * target is met, then bisect between 0 and that bound. Throws when even sigma = 1e6 does not reach the target.
     */
    public static double noiseMultiplierFor(
            double targetEpsilon, double delta, double sampleRate, long steps, double epsilonTolerance) {
        checkDelta(delta);
        checkSampleRate(sampleRate);
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        return NoiseCalibration.search(
                sigma -> epsilon(sigma, sampleRate, steps, delta, Conversion.OPACUS)
                        .epsilon(),
                targetEpsilon,
                epsilonTolerance,
                "delta " + delta + ", sample rate " + sampleRate + ", " + steps + " steps");
    }

    private static void checkSampleRate(double q) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("sampleRate must be in [0, 1], got " + q);
        }
    }

    private static void checkNoiseMultiplier(double sigma) {
        if (!(sigma >= 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("noiseMultiplier must be finite and >= 0, got " + sigma);
        }
    }

    private static void checkDelta(double delta) {
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
        }
    }

    private static double[] checkOrders(double[] orders) {
        if (orders == null || orders.length == 0) {
            throw new IllegalArgumentException("orders must be a non-empty list, got " + Arrays.toString(orders));
        }
        for (double a : orders) {
            if (!(a > 1) || Double.isInfinite(a)) {
                throw new IllegalArgumentException("every order must be finite and > 1, got " + a);
            }
        }
        return orders.clone();
    }
}
