package io.gradstream.core.privacy.ftrl;

import java.util.Objects;

/**
 * A model's DP-FTRL settings (Kairouz et al. 2021, arXiv:2103.00039): the tree variant, DP-FTRLM's momentum (0 for
 * plain DP-FTRL) with optional Nesterov form, and the restart period: a new tree every {@code stepsPerTree} steps
 * (one "epoch", in which each contribution may take part at most once), or never when it is 0.
 */
public record FtrlConfig(TreeVariant variant, double momentum, boolean nesterov, long stepsPerTree) {
    public FtrlConfig {
        Objects.requireNonNull(variant, "variant must not be null");
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("nesterov needs a momentum > 0");
        }
        if (stepsPerTree < 0 || stepsPerTree > TreeNodes.MAX_STEPS_PER_TREE) {
            throw new IllegalArgumentException(
                    "stepsPerTree must be in [0, " + TreeNodes.MAX_STEPS_PER_TREE + "], got " + stepsPerTree);
        }
    }

    /** Plain DP-FTRL without momentum, restarting every {@code stepsPerTree} steps (0: never). */
    public static FtrlConfig plain(TreeVariant variant, long stepsPerTree) {
        return new FtrlConfig(variant, 0, false, stepsPerTree);
    }
}
