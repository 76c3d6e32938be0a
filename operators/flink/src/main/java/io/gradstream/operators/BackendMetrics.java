package io.gradstream.operators;

import io.gradstream.core.optim.StepBackendFactory;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The step backend's metrics in the group {@code gradstream.backend.<name>} (a {@code backend} label in Prometheus):
 * kernel time per launch, batch sizes, CPU fallbacks and bypasses, the circuit breaker's state (0 closed,
 * 1 half-open, 2 open) and the bytes of optimizer slots resident on the device.
 */
final class BackendMetrics implements StepBackendFactory.Events {
    final Histogram kernelMicros;
    final Histogram batchShards;
    private final Counter fallbacks;
    private final Counter bypassed;
    private volatile int circuitState;
    private volatile java.util.function.LongSupplier residentBytes = () -> 0;

    BackendMetrics(MetricGroup parent, String backend) {
        MetricGroup group = parent.addGroup("backend", backend);
        kernelMicros = group.histogram("kernelMicros", new DescriptiveStatisticsHistogram(1024));
        batchShards = group.histogram("batchShards", new DescriptiveStatisticsHistogram(1024));
        fallbacks = group.counter("fallbacks");
        bypassed = group.counter("bypassed");
        group.gauge("circuitState", (Gauge<Integer>) () -> circuitState);
        group.gauge("residentBytes", (Gauge<Long>) () -> residentBytes.getAsLong());
    }

    /** Where the {@code residentBytes} gauge reads the device's resident optimizer slots from. */
    @Override
    public void residentBytes(java.util.function.LongSupplier source) {
        this.residentBytes = source;
    }

    @Override
    public void fallback(int shards, RuntimeException cause) {
        fallbacks.inc();
    }

    @Override
    public void bypassed(int shards) {
        bypassed.inc();
    }

    @Override
    public void circuitState(int state) {
        circuitState = state;
    }

    long fallbacks() {
        return fallbacks.getCount();
    }
}
