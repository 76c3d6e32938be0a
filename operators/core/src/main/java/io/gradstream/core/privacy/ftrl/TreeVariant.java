package io.gradstream.core.privacy.ftrl;

/**
 * How DP-FTRL estimates the noisy prefix sum from the noisy nodes of its aggregation tree (Kairouz et al. 2021,
 * arXiv:2103.00039). Both release the same nodes, so the privacy accounting is the same; only the estimator's variance
 * and the state differ.
 */
public enum TreeVariant {
    /**
     * The sum of the nodes covering {@code [1, t]}, one per set bit of t: noise variance {@code popcount(t) sigma^2 C^2}.
     * The state holds no noise: nodes are drawn again from the keyed generator ({@code popcount(t)} draws a step).
     */
    PLAIN,
    /**
     * Honaker 2015, "Efficient Use of Differentially Private Binary Trees", online (bottom-up) form as in TF Privacy's
     * {@code EfficientTreeAggregator} and the paper's {@code CummuNoiseEffTorch}: a completed node's estimate is its
     * own noisy sum plus half of each child's estimate, weighted {@code 1 / (2 - 2^-h)}; variance {@code sum over set
     * bits h of t of sigma^2 C^2 / (2 - 2^-h)}. The state keeps one estimate vector per set bit of t; 1 + ctz(t) draws a
     * step.
     */
    HONAKER
}
