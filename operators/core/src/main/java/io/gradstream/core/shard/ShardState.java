package io.gradstream.core.shard;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.privacy.ftrl.FtrlShardState;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import java.util.HashMap;
import java.util.Map;

/**
 * Everything one shard keeps between records: its parameters, the optimizer's slots, its version (steps applied), the
 * SYNC step being gathered, per worker the highest workerStep accepted (the de-duplication watermark), for a
 * private model the privacy ledger of the steps that produced these parameters, and for a model with a delta stream
 * the parameters as its subscribers hold them.
 */
public final class ShardState {
    private final float[] params;
    private final OptimizerState optimizer;
    private long version;
    private final PendingStep pending;
    private final Map<String, Long> workerWatermarks;
    private PrivacyLedger ledger;
    /** With a delta stream: the parameters as its subscribers hold them at {@link #version}; else null. */
    private float[] published;
    /** DP-FTRL: the tree's state, null before the shard's first DP-FTRL step. */
    private FtrlShardState ftrl;
    /** DP-FTRL: the trees released so far. */
    private TreeLedger treeLedger = TreeLedger.EMPTY;

    public ShardState(
            float[] params,
            OptimizerState optimizer,
            long version,
            PendingStep pending,
            Map<String, Long> workerWatermarks,
            PrivacyLedger ledger) {
        this.params = params;
        this.optimizer = optimizer;
        this.version = version;
        this.pending = pending;
        this.workerWatermarks = workerWatermarks;
        this.ledger = java.util.Objects.requireNonNull(ledger, "ledger must not be null");
    }

    /** A fresh shard at version 0 with the given initial parameters. */
    public static ShardState initial(float[] params) {
        return new ShardState(params, new OptimizerState(), 0, new PendingStep(), new HashMap<>(), PrivacyLedger.EMPTY);
    }

    /**
     * A fresh shard at version 0 whose privacy ledger continues {@code ledger}: the releases of an earlier life of
     * the same model id still count against its budget.
     */
    public static ShardState initial(float[] params, PrivacyLedger ledger) {
        return new ShardState(params, new OptimizerState(), 0, new PendingStep(), new HashMap<>(), ledger);
    }

    /**
     * A fresh shard at version 0 whose ledgers continue those of an earlier life of the same model id; its tree
     * ledger's current tree is finished, as the new life starts its own tree.
     */
    public static ShardState initial(float[] params, PrivacyLedger ledger, TreeLedger treeLedger) {
        ShardState s = initial(params, ledger);
        s.treeLedger = treeLedger.plusRestart();
        return s;
    }

    /** DP-FTRL: the tree's state, or null when the shard has taken no DP-FTRL step. */
    public FtrlShardState ftrl() {
        return ftrl;
    }

    /** DP-FTRL: the trees this shard has released (empty for other models). */
    public TreeLedger treeLedger() {
        return treeLedger;
    }

    /** Sets the DP-FTRL state and tree ledger, as read from a checkpoint. */
    public void ftrl(FtrlShardState state, TreeLedger ledger) {
        if (state != null && state.size() != params.length) {
            throw new IllegalArgumentException(
                    "the DP-FTRL state has " + state.size() + " elements, the shard " + params.length);
        }
        this.ftrl = state;
        this.treeLedger = java.util.Objects.requireNonNull(ledger, "ledger must not be null");
    }

    /** The noised steps applied to this shard (empty for a model without privacy). */
    public PrivacyLedger ledger() {
        return ledger;
    }

    void recordPrivateStep(PrivacyLedger next) {
        ledger = next;
    }

    /**
     * For a model with a delta stream, the parameters as a subscriber that applied every published update holds them
     * at {@link #version()}: the last full snapshot as decoded plus every delta since, added in float32. What the
     * deltas have not carried yet (the server's error-feedback residual) is {@code params - published}; keeping this
     * side rather than the residual makes it bit-identical to what subscribers compute. Null when the model has no
     * delta stream, or before the shard's first full snapshot.
     */
    public float[] published() {
        return published;
    }

    /** Sets what {@link #published()} returns (the state keeps the array). */
    public void published(float[] values) {
        if (values != null && values.length != params.length) {
            throw new IllegalArgumentException(
                    "published has " + values.length + " elements, the shard " + params.length);
        }
        this.published = values;
    }

    public float[] params() {
        return params;
    }

    public OptimizerState optimizer() {
        return optimizer;
    }

    public long version() {
        return version;
    }

    void advanceVersion() {
        version++;
    }

    /** Takes back a step (see {@link StepUndo}). */
    void restore(long version, PrivacyLedger ledger, FtrlShardState ftrl, TreeLedger treeLedger) {
        this.version = version;
        this.ledger = ledger;
        this.ftrl = ftrl;
        this.treeLedger = treeLedger;
    }

    public PendingStep pending() {
        return pending;
    }

    public Map<String, Long> workerWatermarks() {
        return workerWatermarks;
    }
}
