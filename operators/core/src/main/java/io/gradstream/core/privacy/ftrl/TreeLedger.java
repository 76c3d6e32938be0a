package io.gradstream.core.privacy.ftrl;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a DP-FTRL model has spent (Kairouz et al. 2021, arXiv:2103.00039, Appendix D): its completed trees, grouped
 * by (noise multiplier, steps), and the steps of the current tree. zCDP rho = sum over trees of depth(T_r) / (2
 * sigma_r^2) ({@link TreeAggregationAccountant}); epsilon from it by the RDP conversion. Immutable, like {@link
 * io.gradstream.core.privacy.PrivacyLedger}, so it can sit in keyed state next to the parameters it produced.
 *
 * @param completed the finished trees, in order, equal neighbours merged
 * @param currentNoiseMultiplier sigma of the current tree (NaN before its first step)
 * @param currentSteps steps of the current tree
 */
public record TreeLedger(List<Trees> completed, double currentNoiseMultiplier, long currentSteps) {
    /** A model that has released nothing. */
    public static final TreeLedger EMPTY = new TreeLedger(List.of(), Double.NaN, 0);

    /** {@code count} finished trees of {@code stepsPerTree} steps each with noise multiplier sigma. */
    public record Trees(double noiseMultiplier, long stepsPerTree, long count) {
        public Trees {
            checkSigma(noiseMultiplier);
            if (stepsPerTree < 1 || count < 1) {
                throw new IllegalArgumentException(
                        "stepsPerTree and count must be >= 1, got " + stepsPerTree + " and " + count);
            }
        }

        /** rho of these trees: count depth(T) / (2 sigma^2). */
        public double rho() {
            return count
                    * TreeAggregationAccountant.zcdp(
                            noiseMultiplier, TreeAggregationAccountant.treeDepth(stepsPerTree));
        }
    }

    public TreeLedger {
        completed = List.copyOf(Objects.requireNonNull(completed, "completed must not be null"));
        if (currentSteps < 0) {
            throw new IllegalArgumentException("currentSteps must be >= 0, got " + currentSteps);
        }
        if (currentSteps > 0) {
            checkSigma(currentNoiseMultiplier);
        }
    }

    /**
     * This ledger with one more step of the current tree at noise multiplier sigma; a sigma that differs from the
     * tree's is refused (restart the tree first, as {@link DpFtrl} requires).
     */
    public TreeLedger plusStep(double noiseMultiplier) {
        checkSigma(noiseMultiplier);
        if (currentSteps > 0 && Double.compare(noiseMultiplier, currentNoiseMultiplier) != 0) {
            throw new IllegalArgumentException("noise multiplier " + noiseMultiplier + " differs from the current "
                    + "tree's " + currentNoiseMultiplier + ": restart the tree first");
        }
        return new TreeLedger(completed, noiseMultiplier, Math.addExact(currentSteps, 1));
    }

    /** This ledger with the current tree finished (nothing changes when it has no step yet). */
    public TreeLedger plusRestart() {
        if (currentSteps == 0) {
            return this;
        }
        List<Trees> next = new ArrayList<>(completed);
        int last = next.size() - 1;
        if (last >= 0
                && Double.compare(next.get(last).noiseMultiplier(), currentNoiseMultiplier) == 0
                && next.get(last).stepsPerTree() == currentSteps) {
            Trees t = next.get(last);
            next.set(last, new Trees(t.noiseMultiplier(), t.stepsPerTree(), Math.addExact(t.count(), 1)));
        } else {
            next.add(new Trees(currentNoiseMultiplier, currentSteps, 1));
        }
        return new TreeLedger(next, Double.NaN, 0);
    }

    /** zCDP rho of every release so far: the completed trees and the current one. */
    public double rho() {
        double rho = 0;
        for (Trees t : completed) {
            rho += t.rho();
        }
        if (currentSteps > 0) {
            rho += TreeAggregationAccountant.zcdp(
                    currentNoiseMultiplier, TreeAggregationAccountant.treeDepth(currentSteps));
        }
        return rho;
    }

    /** Epsilon spent at {@code delta} (Opacus' orders and conversion). */
    public double epsilon(double delta) {
        return TreeAggregationAccountant.epsilonForZcdp(rho(), delta).epsilon();
    }

    /** Steps recorded over all trees. */
    public long steps() {
        long n = currentSteps;
        for (Trees t : completed) {
            n = Math.addExact(n, Math.multiplyExact(t.stepsPerTree(), t.count()));
        }
        return n;
    }

    private static void checkSigma(double sigma) {
        if (!(sigma >= 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("noiseMultiplier must be finite and >= 0, got " + sigma);
        }
    }
}
