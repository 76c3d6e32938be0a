package io.gradstream.operators;

import io.gradstream.core.privacy.SamplingDrift;
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
 * Prometheus): throughput, rejections by reason, staleness, aggregation wait, step time, version, loss, compression
 * ratios, state size, sampled gradient and update norms and, for a private model, epsilon spent and the fraction of
 * contributions clipped, and the last step's count over the count the accountant assumes ({@code samplingRatio}). Updated per record with counters and a histogram window of 1024 samples, so the cost is a
 * few field writes; the norms, which read a whole shard, are taken on one step in {@link #NORM_SAMPLE_EVERY}.
 */
final class ModelMetrics {
    /** Gradient and update norms read every element of a shard: one step in this many is measured. */
    static final int NORM_SAMPLE_EVERY = 16;

    private final MetricGroup group;
    final Counter gradientsAccepted;
    final Counter stepsApplied;
    final Counter bytesIn;
    final Counter bytesOut;
    final Histogram staleness;
    final Histogram stepMicros;
    final Histogram publishToStepMillis;
    final Histogram aggregationWaitMillis;
    private long payloadBytesIn;
    private long rawBytesIn;
    private long payloadBytesOut;
    private long rawBytesOut;
    private final Map<String, Long> stateBytesByShard = new java.util.HashMap<>();
    private volatile long stateBytes;
    private volatile double gradientNorm = Double.NaN;
    private volatile double updateNorm = Double.NaN;
    private long offered;
    private final Map<RejectCode, Counter> rejected = new EnumMap<>(RejectCode.class);
    private volatile long version;
    private volatile double meanLoss = Double.NaN;
    private volatile double epsilon = Double.NaN;
    volatile double epsilonTarget = Double.NaN;
    volatile double clippedFraction = Double.NaN;
    private SamplingDrift drift;

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
        aggregationWaitMillis = group.histogram("aggregationWaitMillis", new DescriptiveStatisticsHistogram(1024));
        group.gauge("inputCompressionRatio", (Gauge<Double>) () -> ratio(rawBytesIn, payloadBytesIn));
        group.gauge("outputCompressionRatio", (Gauge<Double>) () -> ratio(rawBytesOut, payloadBytesOut));
        group.gauge("stateBytes", (Gauge<Long>) () -> stateBytes);
        group.gauge("gradientNorm", (Gauge<Double>) () -> gradientNorm);
        group.gauge("updateNorm", (Gauge<Double>) () -> updateNorm);
        group.gauge("version", (Gauge<Long>) () -> version);
        group.gauge("meanLoss", (Gauge<Double>) () -> meanLoss);
        group.gauge("epsilonSpent", (Gauge<Double>) () -> epsilon);
        group.gauge("epsilonTarget", (Gauge<Double>) () -> epsilonTarget);
        group.gauge("clippedFraction", (Gauge<Double>) () -> clippedFraction);
        group.gauge("samplingRatio", (Gauge<Double>) () -> drift == null ? Double.NaN : drift.ratio());
    }

    /**
     * The model's watch of its contributions per step against the accountant's expectation (a private model's reporter
     * shard feeds it); the gauge {@code samplingRatio} shows the last observed / expected.
     */
    SamplingDrift drift(double factor) {
        if (drift == null) {
            drift = new SamplingDrift(factor);
        }
        return drift;
    }

    private static double ratio(long raw, long encoded) {
        return encoded == 0 ? Double.NaN : (double) raw / encoded;
    }

    /** A gradient payload of {@code encodedBytes} for {@code elements} floats (FP32 would be 4 bytes each). */
    void payloadIn(long encodedBytes, long elements) {
        payloadBytesIn += encodedBytes;
        rawBytesIn += 4 * elements;
    }

    /** Published parameters of {@code encodedBytes} for {@code elements} floats. */
    void payloadOut(long encodedBytes, long elements) {
        payloadBytesOut += encodedBytes;
        rawBytesOut += 4 * elements;
    }

    /** Whether this offer's step, if it applies, is one whose norms are measured. */
    boolean sampleNorms() {
        return offered++ % NORM_SAMPLE_EVERY == 0;
    }

    void norms(double gradient, double update) {
        gradientNorm = gradient;
        updateNorm = update;
    }

    /** An accepted gradient record: its size, its payload's, its element count and its staleness. */
    void accepted(long recordBytes, long payloadBytes, long elements, long staleness) {
        gradientsAccepted.inc();
        bytesIn.inc(recordBytes);
        payloadIn(payloadBytes, elements);
        this.staleness.update(staleness);
    }

    /** What a shard's state holds, about as its checkpoint does: parameters, slots and a pending sum in floats. */
    void stateBytes(String shardKey, io.gradstream.core.shard.ShardState s) {
        long floats = s.params().length;
        for (float[] slot : s.optimizer().tensors().values()) {
            floats += slot.length;
        }
        if (s.pending().weightedSum() != null) {
            floats += s.pending().weightedSum().length;
        }
        if (s.published() != null) {
            floats += s.published().length;
        }
        stateBytes(shardKey, 4 * floats);
    }

    /** The L2 norm of {@code after - before}, in double. */
    static double distance(float[] before, float[] after) {
        double sum = 0;
        for (int i = 0; i < before.length; i++) {
            double d = (double) after[i] - before[i];
            sum += d * d;
        }
        return Math.sqrt(sum);
    }

    /** The state one shard keeps on this subtask, so that the gauge is the model's total here. */
    private void stateBytes(String shardKey, long bytes) {
        Long previous = stateBytesByShard.put(shardKey, bytes);
        stateBytes += bytes - (previous == null ? 0 : previous);
    }

    /**
     * The model was deleted: its metrics leave the reporters, so that a stream of short-lived model names cannot
     * grow the registry. (A metric group of the runtime can be closed; a test's stand-in group has nothing to free.)
     */
    void close() {
        stateBytesByShard.clear();
        stateBytes = 0;
        if (group instanceof org.apache.flink.runtime.metrics.groups.AbstractMetricGroup<?> g) {
            g.close();
        }
    }

    /** Epsilon only grows; shards report in any order, so the gauge keeps the largest. */
    void epsilonSpent(double eps) {
        if (Double.isNaN(epsilon) || eps > epsilon) {
            epsilon = eps;
        }
    }

    void rejected(RejectCode code) {
        rejected.computeIfAbsent(code, c -> group.addGroup("reason", c.name()).counter("rejected"))
                .inc();
    }

    void applied(long newVersion, double loss) {
        stepsApplied.inc();
        version = Math.max(version, newVersion);
        if (!Double.isNaN(loss)) {
            meanLoss = loss;
        }
    }
}
