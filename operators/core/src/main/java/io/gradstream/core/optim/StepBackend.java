package io.gradstream.core.optim;

import java.util.List;

/**
 * Applies a batch of shard steps, each exactly as {@code step.optimizer().step(params, grad, state)} would: the seam
 * behind which an accelerator (the OpenCL module) replaces the CPU loops. {@link CpuStepBackend} is the reference.
 *
 * <p>Contract: on return every shard of the batch is stepped once (params, slots, {@code step}, scalar slots);
 * when the call throws, implementations other than the CPU one must have left every array and state of the batch
 * untouched (failure atomicity), so that a caller can recompute the same batch elsewhere.
 */
public interface StepBackend extends AutoCloseable {

    /** A short name for logs and metrics, e.g. {@code cpu} or {@code opencl:<device>}. */
    String name();

    /** Applies one step to every shard of {@code batch}, in place. */
    void step(List<ShardStep> batch);

    /** Releases what the backend holds (device context, buffers); the CPU backend holds nothing. */
    @Override
    default void close() {}
}
