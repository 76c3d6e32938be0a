package io.gradstream.core.optim;

import java.util.Map;

/**
 * Opens an accelerated {@link StepBackend} by name; implementations are found with {@link java.util.ServiceLoader}
 * (e.g. the OpenCL module's), so whoever runs the steps needs only this interface on its compile class path.
 */
public interface StepBackendFactory {

    /** The backend's name in configuration, e.g. {@code opencl}. */
    String kind();

    /**
     * Opens the backend, with the CPU as fallback behind whatever failure handling it has.
     *
     * @param options the backend's settings by key (device selection, circuit breaker)
     * @param residentBytes bytes of optimizer slots it may keep on the device between steps (0: none)
     * @param events where it reports fallbacks and the like, for metrics
     * @throws RuntimeException naming the reason when it cannot open (no runtime, no such device)
     */
    StepBackend open(Map<String, String> options, long residentBytes, Events events);

    /** What an accelerated backend reports; every method defaults to doing nothing. */
    interface Events {
        /** The accelerator failed on a batch of {@code shards} that was then computed on the CPU. */
        default void fallback(int shards, RuntimeException cause) {}

        /** A batch went straight to the CPU, e.g. because a circuit breaker is open. */
        default void bypassed(int shards) {}

        /** The failure handling's state: 0 closed (healthy), 1 half-open (probing), 2 open (bypassing). */
        default void circuitState(int state) {}

        /** Bytes of optimizer slots currently held on the device. */
        default void residentBytes(java.util.function.LongSupplier source) {}
    }
}
