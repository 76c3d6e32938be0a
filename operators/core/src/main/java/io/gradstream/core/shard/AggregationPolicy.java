package io.gradstream.core.shard;

/**
 * When a shard applies a step. {@code SYNC}: once it holds contributions from {@code workers} distinct workers for its
 * current version (or, with {@code timeoutMs > 0}, when that long has passed since the first one); {@code ASYNC}: on
 * every contribution whose staleness (version − baseVersion) is at most {@code maxStaleness}. A contribution's
 * workerStep may run at most {@code workerStepWindow} ahead of the larger of its worker's last accepted step and the
 * shard's version, so that one wild value cannot lock the worker out of the shard.
 */
public record AggregationPolicy(Mode mode, int workers, long timeoutMs, int maxStaleness, long workerStepWindow) {

    public enum Mode {
        SYNC,
        ASYNC
    }

    /** The window of {@code gradstream.limits.worker-step-window}'s default. */
    public static final long DEFAULT_WORKER_STEP_WINDOW = 1_000_000;

    public AggregationPolicy(Mode mode, int workers, long timeoutMs, int maxStaleness) {
        this(mode, workers, timeoutMs, maxStaleness, DEFAULT_WORKER_STEP_WINDOW);
    }

    public AggregationPolicy {
        if (mode == null) {
            throw new IllegalArgumentException("aggregation mode is required (SYNC or ASYNC)");
        }
        if (workers < 1) {
            throw new IllegalArgumentException("aggregation.workers must be >= 1, got " + workers);
        }
        if (timeoutMs < 0) {
            throw new IllegalArgumentException("aggregation.timeoutMs must be >= 0, got " + timeoutMs);
        }
        if (maxStaleness < 0) {
            throw new IllegalArgumentException("aggregation.maxStaleness must be >= 0, got " + maxStaleness);
        }
        if (workerStepWindow <= 0) {
            throw new IllegalArgumentException("workerStepWindow must be > 0, got " + workerStepWindow);
        }
    }

    public static AggregationPolicy sync(int workers) {
        return new AggregationPolicy(Mode.SYNC, workers, 0, 0);
    }

    public static AggregationPolicy async(int maxStaleness) {
        return new AggregationPolicy(Mode.ASYNC, 1, 0, maxStaleness);
    }
}
