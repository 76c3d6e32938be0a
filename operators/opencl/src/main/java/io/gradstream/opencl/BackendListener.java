package io.gradstream.opencl;

/**
 * What {@link ResilientBackend} reports, for an operator to bind to its metric group (counters for the batches, a
 * gauge for the breaker state). Every method defaults to doing nothing.
 */
public interface BackendListener {

    /** A batch of {@code shards} shards ran on the accelerator. */
    default void acceleratedBatch(int shards) {}

    /** The accelerator failed on a batch that was then computed on the CPU. */
    default void fallback(int shards, RuntimeException cause) {}

    /** A batch went straight to the CPU because the breaker is open. */
    default void bypassed(int shards) {}

    default void breakerStateChanged(CircuitBreaker.State from, CircuitBreaker.State to) {}
}
