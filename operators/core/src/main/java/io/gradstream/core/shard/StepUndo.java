package io.gradstream.core.shard;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.privacy.PrivacyLedger;

/**
 * What one step overwrites in its shard, kept so that a step whose result is not finite can be taken back: the version
 * and privacy ledger as they were before the step, and, copied by {@link #keep} right before the optimizer loop runs,
 * the parameters and optimizer slots. Finite inputs can still overflow in the loop (a large learning rate, a squared
 * gradient above 3.4e38), and a shard must never store or publish Inf or NaN.
 */
public final class StepUndo {
    private final long version;
    private final PrivacyLedger ledger;
    private float[] params;
    private OptimizerState optimizer;

    StepUndo(long version, PrivacyLedger ledger) {
        this.version = version;
        this.ledger = ledger;
    }

    /** Copies the parameters and optimizer slots of {@code state}; call right before the step's loop runs. */
    public void keep(ShardState state) {
        params = state.params().clone();
        optimizer = state.optimizer().copy();
    }

    /**
     * Puts {@code state} back as it was before the step: parameters, slots, version and ledger. The contributions the
     * step consumed stay consumed (their workers' watermarks too), so they are not applied later either.
     */
    public void restore(ShardState state) {
        if (params == null) {
            throw new IllegalStateException("keep() was not called before the step ran");
        }
        System.arraycopy(params, 0, state.params(), 0, params.length);
        state.optimizer().restore(optimizer);
        state.restore(version, ledger);
    }

    /** The version the shard had before the step. */
    public long versionBefore() {
        return version;
    }

    /**
     * Index of the first parameter that is not finite after a step, or -1 when all parameters and optimizer slots are
     * finite (a slot's index is reported as {@code params.length + i} for its i-th element, in slot order).
     */
    public static long firstNonFinite(ShardState state) {
        float[] p = state.params();
        for (int i = 0; i < p.length; i++) {
            if (!Float.isFinite(p[i])) {
                return i;
            }
        }
        long offset = p.length;
        for (float[] slot : state.optimizer().tensors().values()) {
            for (int i = 0; i < slot.length; i++) {
                if (!Float.isFinite(slot[i])) {
                    return offset + i;
                }
            }
            offset += slot.length;
        }
        for (double v : state.optimizer().scalars().values()) {
            if (!Double.isFinite(v)) {
                return offset;
            }
        }
        return -1;
    }
}
