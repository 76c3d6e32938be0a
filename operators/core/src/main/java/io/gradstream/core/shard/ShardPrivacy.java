package io.gradstream.core.shard;

import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.privacy.GaussianMechanism;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.ftrl.DpFtrl;
import io.gradstream.core.privacy.ftrl.KeyedNodeNoise;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link ShardStepper} needs to make one shard's steps differentially private: the model's policy and
 * mechanism, this shard's clip threshold C_s (sum of C_s^2 over the model's shards = C^2), and where to count
 * clipped contributions. The model's {@code incarnation} (null for a model from before incarnations) is part of the
 * noise key, so that a model id deleted and created again never redraws the noise of its earlier releases. With
 * {@code ftrl} (null: DP-SGD) the model's mechanism is DP-FTRL (Kairouz et al. 2021, arXiv:2103.00039) and its
 * epsilon comes from the shard's {@link TreeLedger}.
 */
public record ShardPrivacy(
        PrivacyPolicy policy,
        GaussianMechanism mechanism,
        double threshold,
        ShardKey key,
        ClipCounter clips,
        String incarnation,
        DpFtrl ftrl) {

    public ShardPrivacy {
        Objects.requireNonNull(policy, "policy must not be null");
        Objects.requireNonNull(mechanism, "mechanism must not be null");
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(clips, "clips must not be null");
        if (!(threshold > 0) || Double.isInfinite(threshold)) {
            throw new IllegalArgumentException("threshold must be finite and > 0, got " + threshold);
        }
    }

    /** A shard of a DP-SGD model. */
    public ShardPrivacy(
            PrivacyPolicy policy,
            GaussianMechanism mechanism,
            double threshold,
            ShardKey key,
            ClipCounter clips,
            String incarnation) {
        this(policy, mechanism, threshold, key, clips, incarnation, null);
    }

    /** A shard of a model without an incarnation. */
    public ShardPrivacy(
            PrivacyPolicy policy, GaussianMechanism mechanism, double threshold, ShardKey key, ClipCounter clips) {
        this(policy, mechanism, threshold, key, clips, null);
    }

    /**
     * The model name the noise is keyed by: {@code model/incarnation}, or the bare model id without an incarnation.
     * Model ids never contain {@code /}, so the two forms cannot collide.
     */
    public String noiseModel() {
        return incarnation == null ? key.model() : key.model() + "/" + incarnation;
    }

    /** Whether the model's mechanism is DP-FTRL rather than DP-SGD. */
    public boolean isFtrl() {
        return ftrl != null;
    }

    /** The tree-node noise of this shard (DP-FTRL): the model's keyed generator under its noise name. */
    public KeyedNodeNoise nodeNoise() {
        return new KeyedNodeNoise(mechanism.generator(), noiseModel(), key.tensor(), key.shard());
    }

    /** Epsilon spent by the steps {@code state} holds, under the model's mechanism and accountant. */
    public double epsilon(ShardState state) {
        return ftrl == null
                ? policy.epsilon(state.ledger())
                : state.treeLedger().epsilon(policy.delta());
    }

    /** Epsilon after one more step of {@code state}. */
    public double epsilonAfterStep(ShardState state) {
        return ftrl == null
                ? policy.epsilon(policy.afterStep(state.ledger()))
                : treeLedgerAfterStep(state).epsilon(policy.delta());
    }

    /** Whether one more step keeps epsilon within the budget (always, without a budget). */
    public boolean allowsStep(ShardState state) {
        return ftrl == null
                ? policy.allowsStep(state.ledger())
                : !policy.hasBudget() || epsilonAfterStep(state) <= policy.targetEpsilon();
    }

    /** DP-FTRL: the shard's tree ledger after its next step (a restart first when its tree is complete). */
    TreeLedger treeLedgerAfterStep(ShardState state) {
        TreeLedger l = state.treeLedger();
        if (state.ftrl() != null && ftrl.restartDue(state.ftrl())) {
            l = l.plusRestart();
        }
        return l.plusStep(policy.noiseMultiplier());
    }

    /**
     * C_s = C sqrt(n_s / N) for every shard of every tensor (N: all elements of the model), by tensor name in the
     * given order, so that clipping each shard's slice to C_s clips the whole contribution to C. Workers of the
     * EXAMPLE unit clip each example's slices with the same thresholds.
     */
    public static Map<String, double[]> thresholds(double clipNorm, Collection<TensorLayout> tensors) {
        int shards = 0;
        for (TensorLayout t : tensors) {
            shards += t.shardCount();
        }
        long[] sizes = new long[shards];
        int i = 0;
        for (TensorLayout t : tensors) {
            for (int s = 0; s < t.shardCount(); s++) {
                sizes[i++] = t.shardLength(s);
            }
        }
        double[] all = Clipping.shardThresholds(clipNorm, sizes);
        Map<String, double[]> out = new LinkedHashMap<>();
        i = 0;
        for (TensorLayout t : tensors) {
            out.put(t.name(), Arrays.copyOfRange(all, i, i + t.shardCount()));
            i += t.shardCount();
        }
        return out;
    }

    /** Contributions seen and clipped (CONTRIBUTION unit), for the clipping-fraction metric; not thread-safe. */
    public static final class ClipCounter {
        private long seen;
        private long clipped;

        void record(boolean wasClipped) {
            seen++;
            if (wasClipped) {
                clipped++;
            }
        }

        public long seen() {
            return seen;
        }

        public long clipped() {
            return clipped;
        }

        /** Clipped / seen, NaN before the first contribution. */
        public double fraction() {
            return seen == 0 ? Double.NaN : (double) clipped / seen;
        }
    }
}
