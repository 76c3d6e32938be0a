package io.gradstream.operators;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Which {@code StepBackend} runs the shard operator's optimizer loops and how many due shard steps it gathers into
 * one batch (one kernel launch) before running them, waiting at most {@code batchDelayMs}. A batch of one is the
 * direct path: each step runs as its contribution completes.
 *
 * @param opencl device selection for the OpenCL backend ({@code platform}, {@code device-type}, {@code device})
 * @param residentBytes how many bytes of optimizer slots the OpenCL backend keeps on the device between steps,
 *     written back to keyed state before every checkpoint barrier (0: none, every step moves its slots both ways)
 */
public record BackendSettings(
        Kind kind, Map<String, String> opencl, int batchShards, long batchDelayMs, long residentBytes)
        implements Serializable {

    /** The backend kind. */
    public enum Kind {
        /** The numeric core's loops on the task's thread. */
        CPU,
        /** An OpenCL device through JOCL, with the CPU as fallback behind a circuit breaker. */
        OPENCL
    }

    public BackendSettings {
        Objects.requireNonNull(kind, "kind must not be null");
        opencl = new HashMap<>(Objects.requireNonNull(opencl, "opencl must not be null"));
        if (batchShards < 1) {
            throw new IllegalArgumentException("batchShards must be >= 1, got " + batchShards);
        }
        if (batchDelayMs < 0) {
            throw new IllegalArgumentException("batchDelayMs must be >= 0, got " + batchDelayMs);
        }
        if (residentBytes < 0) {
            throw new IllegalArgumentException("residentBytes must be >= 0, got " + residentBytes);
        }
    }

    /** Without device-resident optimizer slots. */
    public BackendSettings(Kind kind, Map<String, String> opencl, int batchShards, long batchDelayMs) {
        this(kind, opencl, batchShards, batchDelayMs, 0);
    }

    /** Every step on the CPU as it completes. */
    public static BackendSettings cpu() {
        return new BackendSettings(Kind.CPU, Map.of(), 1, 0);
    }

    /**
     * Whether due steps go through a batch (which needs {@link ShardOptimizerOperator}): with more than one shard per
     * call, and always for OpenCL, whose batches (of one shard, if so configured) are the way to the device.
     */
    public boolean batched() {
        return batchShards > 1 || kind == Kind.OPENCL;
    }
}
