package io.gradstream.core.shard;

import io.gradstream.core.optim.OptimizerState;
import java.util.HashMap;
import java.util.Map;

/**
 * Everything one shard keeps between records: its parameters, the optimizer's slots, its version (steps applied), the
 * SYNC step being gathered, and per worker the highest workerStep accepted (the de-duplication watermark).
 */
public final class ShardState {
    private final float[] params;
    private final OptimizerState optimizer;
    private long version;
    private final PendingStep pending;
    private final Map<String, Long> workerWatermarks;

    public ShardState(float[] params, OptimizerState optimizer, long version, PendingStep pending,
            Map<String, Long> workerWatermarks) {
        this.params = params;
        this.optimizer = optimizer;
        this.version = version;
        this.pending = pending;
        this.workerWatermarks = workerWatermarks;
    }

    /** A fresh shard at version 0 with the given initial parameters. */
    public static ShardState initial(float[] params) {
        return new ShardState(params, new OptimizerState(), 0, new PendingStep(), new HashMap<>());
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

    public PendingStep pending() {
        return pending;
    }

    public Map<String, Long> workerWatermarks() {
        return workerWatermarks;
    }
}
