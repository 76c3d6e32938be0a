package io.gradstream.operators;

import io.gradstream.core.shard.RejectCode;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The shard operator's metrics for one model, in the group {@code gradstream.model.<id>} (a {@code model} label in
 * Prometheus): throughput, rejections by reason, staleness, step time, version, loss and, for a private model, epsilon
 * spent and the fraction of contributions clipped. Updated per record with
 * counters and a histogram window of 1024 samples, so the cost is a few field writes.
 */
final class ModelMetrics {
    private final MetricGroup group;
    final Counter gradientsAccepted;
    final Counter stepsApplied;
    final Counter bytesIn;
    final Counter bytesOut;
    final Histogram staleness;
    final Histogram stepMicros;
    final Histogram publishToStepMillis;
    private final Map<RejectCode, Counter> rejected = new EnumMap<>(RejectCode.class);
    private volatile long version;
    private volatile double meanLoss = Double.NaN;
    private volatile double epsilon = Double.NaN;
    volatile double epsilonTarget = Double.NaN;
    volatile double clippedFraction = Double.NaN;

    ModelMetrics(MetricGroup parent, String model) {
        group = parent.addGroup("model", model);
        gradientsAccepted = group.counter("gradientsAccepted");
        group.meter("gradientsPerSecond", new MeterView(gradientsAccepted));
        stepsApplied = group.counter("stepsApplied");
        group.meter("stepsPerSecond", new MeterView(stepsApplied));
        bytesIn = group.counter("bytesIn");
        bytesOut = group.counter("bytesOut");
        staleness = group.histogram("staleness", new DescriptiveStatisticsHistogram(1024));
        stepMicros = group.histogram("stepMicros", new DescriptiveStatisticsHistogram(1024));
        publishToStepMillis = group.histogram("publishToStepMillis", new DescriptiveStatisticsHistogram(1024));
        group.gauge("version", (Gauge<Long>) () -> version);
        group.gauge("meanLoss", (Gauge<Double>) () -> meanLoss);
        group.gauge("epsilonSpent", (Gauge<Double>) () -> epsilon);
        group.gauge("epsilonTarget", (Gauge<Double>) () -> epsilonTarget);
        group.gauge("clippedFraction", (Gauge<Double>) () -> clippedFraction);
    }

    /** Epsilon only grows; shards report in any order, so the gauge keeps the largest. */
    void epsilonSpent(double eps) {
        if (Double.isNaN(epsilon) || eps > epsilon) {
            epsilon = eps;
        }
    }

    void rejected(RejectCode code) {
        rejected.computeIfAbsent(code, c -> group.addGroup("reason", c.name()).counter("rejected")).inc();
    }

    void applied(long newVersion, double loss) {
        stepsApplied.inc();
        version = Math.max(version, newVersion);
        if (!Double.isNaN(loss)) {
            meanLoss = loss;
        }
    }
}
