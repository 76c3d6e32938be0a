package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.operators.RawRecord;
import io.gradstream.schemas.ParameterUpdate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Shard placement measured on a MiniCluster: a model of 16 or 64 shards trains under a uniform load (every shard the
 * same number of steps) at parallelism 2, 4 and 8; the subtask that publishes a shard's update is the one that holds
 * its state, and the {@code subtaskSteps} metric counts each subtask's steps. Both spread within max/mean 1.1, where
 * Flink's hash placement of the same keys (computed with its own KeyGroupRangeAssignment) is printed beside them.
 */
class PlacementITCase {
    private static final int MAX_PARALLELISM = 128;
    private static final int STEPS = 3;
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(8)
            .setConfiguration(REPORTER.addToConfiguration(new Configuration(TestClusters.keepFilesInTarget())))
            .build());

    /** Publishes which subtask emitted a shard's update: the operator's output stays on the operator's subtask. */
    static final class Owner extends RichMapFunction<ParameterUpdate, String> {
        @Override
        public String map(ParameterUpdate u) {
            return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() + " " + u.getModelId() + "/"
                    + u.getTensor() + "/" + u.getShard() + " " + u.getVersion();
        }
    }

    /** What {@link Owner} published; the MiniCluster runs in this JVM. */
    private static final Queue<String> OWNERS = new ConcurrentLinkedQueue<>();

    /** Keeps every record in {@link #OWNERS}. */
    static final class Collect implements Sink<String> {
        @Override
        public SinkWriter<String> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                @Override
                public void write(String element, Context c) {
                    OWNERS.add(element);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }

    @ParameterizedTest(name = "{0} shards on {1} subtasks")
    @CsvSource({"16, 2", "16, 4", "16, 8", "64, 2", "64, 4", "64, 8"})
    void aModelsShardsAndStepsSpreadEvenlyOverTheSubtasks(int shards, int parallelism) throws Exception {
        String model = "placed-" + shards + "-" + parallelism;
        Workload work = new Workload(model, "SGD", Map.of("lr", 0.1), true, shards * 4, 4, 1, STEPS, 7);
        assertThat(work.shards()).isEqualTo(shards);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        env.setMaxParallelism(MAX_PARALLELISM);
        var rawType = TypeExtractor.createTypeInfo(RawRecord.class);
        var control = env.fromData(List.of(work.create), rawType);
        // As in the other bounded-input tests, the CREATE gets a head start over the gradients.
        var grads =
                env.fromData(new ArrayList<>(work.gradients), rawType).map(new PipelineEquivalenceITCase.HoldFirst());
        GradstreamPipeline.Outputs out = GradstreamPipeline.build(grads, control, 60_000, 1_000);
        out.rejected().sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>());
        OWNERS.clear();
        out.parameters().map(new Owner()).sinkTo(new Collect());
        JobID job = env.execute("placement " + model).getJobID();

        Map<String, Integer> ownerOf = new HashMap<>();
        int updates = 0;
        for (String owner : OWNERS) {
            String[] line = owner.split(" ");
            if (line[2].equals("0")) {
                continue; // version 0 of a model is published by one subtask per shard, not its state's
            }
            Integer before = ownerOf.put(line[1], Integer.parseInt(line[0]));
            assertThat(before).as("one subtask per shard").isIn(null, Integer.parseInt(line[0]));
            updates++;
        }
        assertThat(ownerOf).hasSize(shards);
        assertThat(updates).isEqualTo(shards * STEPS); // every step once, nothing refused

        int[] placed = new int[parallelism];
        ownerOf.values().forEach(s -> placed[s]++);
        int[] hashed = new int[parallelism];
        ownerOf.keySet()
                .forEach(k ->
                        hashed[KeyGroupRangeAssignment.assignKeyToParallelOperator(k, MAX_PARALLELISM, parallelism)]++);
        long[] steps = new long[parallelism];
        Map<String, Counter> counters = new TreeMap<>();
        REPORTER.findMetrics(job, "gradstream.subtaskSteps").forEach((id, m) -> {
            if (m instanceof Counter c) {
                counters.put(id, c);
            }
        });
        assertThat(counters).hasSize(parallelism);
        int i = 0;
        long total = 0;
        for (Counter c : counters.values()) {
            steps[i++] = c.getCount();
            total += c.getCount();
        }
        assertThat(total).isEqualTo((long) shards * STEPS);
        long[] bytes = new long[parallelism];
        Map<String, Counter> byteCounters = new TreeMap<>();
        REPORTER.findMetrics(job, "gradstream.subtaskBytes").forEach((id, m) -> {
            if (m instanceof Counter c) {
                byteCounters.put(id, c);
            }
        });
        i = 0;
        for (Counter c : byteCounters.values()) {
            bytes[i++] = c.getCount();
        }

        double shardSkew = skew(placed);
        double stepSkew = skew(steps);
        double byteSkew = skew(bytes);
        System.out.printf(
                "placement: %d shards, p=%d: hash max/mean %.2f %s, placed %.2f %s, steps %.2f %s, bytes %.2f%n",
                shards,
                parallelism,
                skew(hashed),
                java.util.Arrays.toString(hashed),
                shardSkew,
                java.util.Arrays.toString(placed),
                stepSkew,
                java.util.Arrays.toString(steps),
                byteSkew);
        assertThat(shardSkew)
                .as("shards per subtask %s", java.util.Arrays.toString(placed))
                .isLessThanOrEqualTo(1.1);
        assertThat(stepSkew)
                .as("steps per subtask %s", java.util.Arrays.toString(steps))
                .isLessThanOrEqualTo(1.1);
        assertThat(byteSkew)
                .as("bytes per subtask %s", java.util.Arrays.toString(bytes))
                .isLessThanOrEqualTo(1.1);
    }

    private static double skew(int[] counts) {
        long[] l = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            l[i] = counts[i];
        }
        return skew(l);
    }

    /** max / mean over the subtasks. */
    private static double skew(long[] counts) {
        long max = 0;
        long sum = 0;
        for (long c : counts) {
            max = Math.max(max, c);
            sum += c;
        }
        return max / ((double) sum / counts.length);
    }
}
