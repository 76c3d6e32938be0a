package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The shard operator's Flink metrics, read through a metric reporter after a run with known traffic. */
class MetricsITCase {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(1)
            .setConfiguration(REPORTER.addToConfiguration(new Configuration(TestClusters.keepFilesInTarget())))
            .build());

    @Test
    void countsStepsGradientsRejectionsAndVersions() throws Exception {
        Workload work = new Workload("Adam", Map.of("lr", 0.01), true, 40, 16, 2, 5, 3);
        List<RawRecord> gradients = new ArrayList<>(work.gradients);
        gradients.add(Records.gradient("m", 0, "w0", 1, 0, 1, new float[16])); // DUPLICATE
        gradients.add(Records.gradient("m", 7, "w0", 9, 0, 1, new float[16])); // UNKNOWN_SHARD
        gradients.add(new RawRecord("m/w/0".getBytes(), new byte[] {9}, "gradients", 0, 0)); // UNDECODABLE

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        var rawType = TypeExtractor.createTypeInfo(RawRecord.class);
        var control = env.fromData(List.of(work.create), rawType);
        var grads = env.fromData(gradients, rawType).map(new PipelineEquivalenceITCase.HoldFirst());
        GradstreamPipeline.Outputs out = GradstreamPipeline.build(grads, control, 60_000, 1_000);
        out.parameters().sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>());
        out.rejected().sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>());
        var client = env.executeAsync("metrics");
        JobID job = client.getJobID();
        client.getJobExecutionResult().get();

        long shards = work.shards();
        assertThat(counter(job, "gradstream.model.m.stepsApplied")).isEqualTo(shards * work.steps);
        assertThat(counter(job, "gradstream.model.m.gradientsAccepted")).isEqualTo(work.gradients.size());
        assertThat(counter(job, "gradstream.model.m.bytesIn")).isPositive();
        // Version 0 of every shard plus one update per step, 4 bytes per float.
        assertThat(counter(job, "gradstream.model.m.bytesOut")).isEqualTo(4L * 40 * (1 + work.steps));
        assertThat(counter(job, "gradstream.model.m.reason.DUPLICATE.rejected")).isEqualTo(1);
        assertThat(counter(job, "gradstream.model.m.reason.UNKNOWN_SHARD.rejected"))
                .isEqualTo(1);
        assertThat(counter(job, "gradstream.model._unknown.reason.UNDECODABLE.rejected"))
                .isEqualTo(1);
        assertThat(((Gauge<?>) metric(job, "gradstream.model.m.version")).getValue())
                .isEqualTo(work.steps);
        Histogram staleness = (Histogram) metric(job, "gradstream.model.m.staleness");
        assertThat(staleness.getCount()).isEqualTo(work.gradients.size());
        assertThat(staleness.getStatistics().getMax()).isZero(); // SYNC: every gradient on the current version
        assertThat(((Histogram) metric(job, "gradstream.model.m.stepMicros")).getCount())
                .isEqualTo(shards * work.steps);
        // Two contributions per SYNC step: each step has an aggregation wait (0 here: the workload has no clock).
        assertThat(((Histogram) metric(job, "gradstream.model.m.aggregationWaitMillis")).getCount())
                .isEqualTo(shards * work.steps);
        assertThat(((Histogram) metric(job, "gradstream.model.m.publishToStepMillis")).getCount())
                .isZero();
        // FP32 in and out: a ratio of exactly 1.
        assertThat(((Gauge<?>) metric(job, "gradstream.model.m.inputCompressionRatio")).getValue())
                .isEqualTo(1.0);
        assertThat(((Gauge<?>) metric(job, "gradstream.model.m.outputCompressionRatio")).getValue())
                .isEqualTo(1.0);
        // Adam: parameters and two slots of 40 floats, no pending step at the end.
        assertThat(((Gauge<?>) metric(job, "gradstream.model.m.stateBytes")).getValue())
                .isEqualTo(4L * 40 * 3);
        // Norms are sampled, so at least the first step of the subtask was measured.
        assertThat((Double) ((Gauge<?>) metric(job, "gradstream.model.m.gradientNorm")).getValue())
                .isPositive();
        assertThat((Double) ((Gauge<?>) metric(job, "gradstream.model.m.updateNorm")).getValue())
                .isPositive();
        // The direct CPU path times every step under the cpu backend.
        assertThat(((Histogram) metric(job, "gradstream.backend.cpu.kernelMicros")).getCount())
                .isEqualTo(shards * work.steps);
        assertThat(counter(job, "gradstream.backend.cpu.fallbacks")).isZero();
    }

    private static long counter(JobID job, String suffix) {
        return ((Counter) metric(job, suffix)).getCount();
    }

    private static Metric metric(JobID job, String suffix) {
        Map<String, Metric> found = REPORTER.findMetrics(job, suffix);
        assertThat(found).as("metric *%s", suffix).hasSize(1);
        return found.values().iterator().next();
    }
}
