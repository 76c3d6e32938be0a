package io.gradstream.core.shard;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.privacy.PrivacyLedger;
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
    void restore(long version, PrivacyLedger ledger) {
        this.version = version;
        this.ledger = ledger;
    }

    public PendingStep pending() {
        return pending;
    }

    public Map<String, Long> workerWatermarks() {
        return workerWatermarks;
    }
}
