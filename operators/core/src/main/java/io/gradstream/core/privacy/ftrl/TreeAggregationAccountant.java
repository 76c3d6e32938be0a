package io.gradstream.core.privacy.ftrl;

import io.gradstream.core.privacy.NoiseCalibration;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;

/**
 * Privacy of DP-FTRL with tree restarts (Kairouz et al. 2021, arXiv:2103.00039, Appendix D; TF Privacy's {@code
 * compute_rdp_tree_restart}): a contribution that takes part at most once per tree is in at most {@code depth(T) =
 * floor(log2 T) + 1} released nodes of a tree of T steps, each with Gaussian noise sigma C on sensitivity C, so the run
 * is a Gaussian mechanism with squared sensitivity {@code s = sum over trees of depth(T_r)}: zCDP rho = s / (2
 * sigma^2), RDP(alpha) = alpha rho. No sampling is assumed. Epsilon comes from {@link RdpAccountant}'s conversion.
 */
public final class TreeAggregationAccountant {
    /** Opacus' default {@code epsilon_tolerance}, as for DP-SGD. */
    public static final double DEFAULT_EPSILON_TOLERANCE = RdpAccountant.DEFAULT_EPSILON_TOLERANCE;

    private TreeAggregationAccountant() {}

    /**
     * The most nodes of a tree of {@code steps} leaves that contain one leaf: {@code floor(log2 steps) + 1} (the bit
     * length of steps), 0 for an empty tree. Leaf 1 reaches it: it lies in [1,1], [1,2], [1,4], ... up to the largest
     * power of two not above steps.
     */
    public static int treeDepth(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        return 64 - Long.numberOfLeadingZeros(steps);
    }

    /** The squared sensitivity (in units of C^2) of trees of the given step counts: the sum of their depths. */
    public static long sensitivitySquared(long... stepsPerTree) {
        long s = 0;
        for (long steps : stepsPerTree) {
            s = Math.addExact(s, treeDepth(steps));
        }
        return s;
    }

    /**
     * The squared sensitivity after {@code totalSteps} steps restarting every {@code stepsPerTree} steps (0: one tree,
     * never restarted): {@code floor(total / T) depth(T) + depth(total mod T)}.
     */
    public static long sensitivitySquared(long totalSteps, long stepsPerTree) {
        if (totalSteps < 0) {
            throw new IllegalArgumentException("totalSteps must be >= 0, got " + totalSteps);
        }
        if (stepsPerTree < 0) {
            throw new IllegalArgumentException("stepsPerTree must be >= 0, got " + stepsPerTree);
        }
        if (stepsPerTree == 0) {
            return treeDepth(totalSteps);
        }
        return Math.addExact(
                Math.multiplyExact(totalSteps / stepsPerTree, treeDepth(stepsPerTree)),
                treeDepth(totalSteps % stepsPerTree));
    }

    /** zCDP rho = s / (2 sigma^2) (Bun and Steinke 2016, arXiv:1605.02065); infinite for sigma = 0 and s &gt; 0. */
    public static double zcdp(double noiseMultiplier, long sensitivitySquared) {
        checkNoiseMultiplier(noiseMultiplier);
        checkSensitivity(sensitivitySquared);
        if (sensitivitySquared == 0) {
            return 0;
        }
        return sensitivitySquared / (2 * (noiseMultiplier * noiseMultiplier));
    }

    /** RDP at each order: alpha rho (the Gaussian mechanism's curve, Mironov 2017, arXiv:1702.07476, Prop. 7). */
    public static double[] rdp(double noiseMultiplier, long sensitivitySquared, double[] orders) {
        double rho = zcdp(noiseMultiplier, sensitivitySquared);
        double[] out = new double[orders.length];
        for (int i = 0; i < orders.length; i++) {
            out[i] = orders[i] * rho;
        }
        return out;
    }

    /**
     * Epsilon at {@code delta} with Opacus' orders and conversion for squared sensitivity {@code sensitivitySquared}
     * (from {@link #sensitivitySquared}: a sum of tree depths, not a step count); (0, 0) when nothing was released.
     */
    public static PrivacySpent epsilon(double noiseMultiplier, long sensitivitySquared, double delta) {
        return epsilon(noiseMultiplier, sensitivitySquared, delta, Conversion.OPACUS, RdpAccountant.defaultOrders());
    }

    /** Epsilon at {@code delta} over the given orders with the given RDP conversion of {@link RdpAccountant}. */
    public static PrivacySpent epsilon(
            double noiseMultiplier, long sensitivitySquared, double delta, Conversion conversion, double[] orders) {
        checkNoiseMultiplier(noiseMultiplier);
        checkSensitivity(sensitivitySquared);
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
        }
        if (sensitivitySquared == 0) {
            return new PrivacySpent(0, 0);
        }
        return RdpAccountant.epsilon(orders, rdp(noiseMultiplier, sensitivitySquared, orders), delta, conversion);
    }

    /**
     * Epsilon at {@code delta} of a Gaussian-type mechanism with zCDP {@code rho} (RDP alpha rho at every order), with
     * Opacus' orders and conversion; (0, 0) for rho = 0. Trees with different noise multipliers compose by adding
     * their rho.
     */
    public static PrivacySpent epsilonForZcdp(double rho, double delta) {
        if (!(rho >= 0)) {
            throw new IllegalArgumentException("rho must be >= 0, got " + rho);
        }
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
        }
        if (rho == 0) {
            return new PrivacySpent(0, 0);
        }
        double[] orders = RdpAccountant.defaultOrders();
        double[] curve = new double[orders.length];
        for (int i = 0; i < orders.length; i++) {
            curve[i] = orders[i] * rho;
        }
        return RdpAccountant.epsilon(orders, curve, delta, Conversion.OPACUS);
    }

    /** Epsilon at {@code delta} (Opacus' orders and conversion) of trees of the given step counts. */
    public static PrivacySpent epsilon(double noiseMultiplier, long[] stepsPerTree, double delta) {
        return epsilon(noiseMultiplier, sensitivitySquared(stepsPerTree), delta);
    }

    /** Epsilon after {@code totalSteps} steps restarting every {@code stepsPerTree} (0: never). */
    public static PrivacySpent epsilon(double noiseMultiplier, long totalSteps, long stepsPerTree, double delta) {
        return epsilon(noiseMultiplier, sensitivitySquared(totalSteps, stepsPerTree), delta);
    }

    /**
     * The noise multiplier whose epsilon (Opacus' orders and conversion) is at most {@code targetEpsilon} and within
     * the tolerance of it, for squared sensitivity {@code s}; the search of {@link NoiseCalibration}, as for DP-SGD.
     */
    public static double noiseMultiplierFor(
            double targetEpsilon, double delta, long sensitivitySquared, double epsilonTolerance) {
        checkSensitivity(sensitivitySquared);
        if (sensitivitySquared == 0) {
            throw new IllegalArgumentException("no steps planned: any noise multiplier meets the target");
        }
        return NoiseCalibration.search(
                sigma -> epsilon(sigma, sensitivitySquared, delta).epsilon(),
                targetEpsilon,
                epsilonTolerance,
                "delta " + delta + ", squared tree sensitivity " + sensitivitySquared);
    }

    /** {@link #noiseMultiplierFor(double, double, long, double)} for a planned run, with tolerance 0.01. */
    public static double noiseMultiplierFor(double targetEpsilon, double delta, long totalSteps, long stepsPerTree) {
        return noiseMultiplierFor(
                targetEpsilon, delta, sensitivitySquared(totalSteps, stepsPerTree), DEFAULT_EPSILON_TOLERANCE);
    }

    private static void checkNoiseMultiplier(double sigma) {
        if (!(sigma >= 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("noiseMultiplier must be finite and >= 0, got " + sigma);
        }
    }

    private static void checkSensitivity(long s) {
        if (s < 0) {
            throw new IllegalArgumentException("sensitivitySquared must be >= 0, got " + s);
        }
    }
}
