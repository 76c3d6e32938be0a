package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.operators.BackendSettings;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.UpdateKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Gradients from K workers through the whole pipeline on a Flink MiniCluster give bit-identical parameters to the
 * same kernel applied locally to the example-weighted mean -- for Adam and SGD with momentum, SYNC and ASYNC, at
 * parallelism 1 and 2.
 */
class PipelineEquivalenceITCase {
    private static final int SHARDS = 3;
    private static final int SHARD_SIZE = 50;
    private static final int LENGTH = SHARDS * SHARD_SIZE - 7; // the last shard is shorter
    private static final int WORKERS = 3;
    private static final int STEPS = 6;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(TestClusters.keepFilesInTarget())
            .build());

    private static final Map<String, Map<String, Object>> OPTIMIZERS = Map.of(
            "Adam", Map.of("lr", 0.01, "weight_decay", 0.01),
            "SGD", Map.of("lr", 0.05, "momentum", 0.9, "nesterov", true));

    /** Delays the first gradient so the CREATE broadcast is in place (bounded test sources end before timers). */
    static final class HoldFirst implements MapFunction<RawRecord, RawRecord> {
        private boolean first = true;

        @Override
        public RawRecord map(RawRecord r) throws Exception {
            if (first) {
                first = false;
                Thread.sleep(1000);
            }
            return r;
        }
    }

    /** Batches of up to 8 completed steps (the OpenCL backend's path, here on the CPU backend) must not change a bit. */
    @ParameterizedTest(name = "{0} {1} parallelism {2} batch {3}")
    @CsvSource({
        "Adam, SYNC, 1, 1",
        "Adam, SYNC, 2, 1",
        "Adam, ASYNC, 2, 1",
        "SGD, SYNC, 2, 1",
        "SGD, ASYNC, 1, 1",
        "Adam, SYNC, 2, 8",
        "SGD, ASYNC, 1, 8"
    })
    void pipelineEqualsTheLocalKernel(String optimizer, String mode, int parallelism, int batch) throws Exception {
        Workload work = new Workload(
                optimizer,
                OPTIMIZERS.get(optimizer),
                mode.equals("SYNC"),
                LENGTH,
                SHARD_SIZE,
                WORKERS,
                STEPS,
                parallelism * 31L + optimizer.length());

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        var rawType = TypeExtractor.createTypeInfo(RawRecord.class);
        var control = env.fromData(List.of(work.create), rawType).setParallelism(1);
        var grads = env.fromData(work.gradients, rawType)
                .setParallelism(1)
                .map(new HoldFirst())
                .setParallelism(1);
        GradstreamPipeline.Outputs out = GradstreamPipeline.build(
                grads, control, 60_000, 1_000, new BackendSettings(BackendSettings.Kind.CPU, Map.of(), batch, 5));
        CloseableIterator<ParameterUpdate> params = out.parameters().collectAsync();
        CloseableIterator<RejectedRecord> rejected = out.rejected().collectAsync();
        env.execute("equivalence " + optimizer + " " + mode + " p" + parallelism);

        Map<Integer, ParameterUpdate> latest = new HashMap<>();
        int updates = 0;
        while (params.hasNext()) {
            ParameterUpdate u = params.next();
            updates++;
            latest.merge(u.getShard(), u, (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
        }
        List<RejectedRecord> refused = new ArrayList<>();
        rejected.forEachRemaining(refused::add);
        assertThat(refused).as("rejected").isEmpty();
        assertThat(updates).isEqualTo(SHARDS * (1 + (int) work.steps));
        for (int s = 0; s < SHARDS; s++) {
            assertThat(latest.get(s).getVersion()).isEqualTo(work.steps);
            assertThat(Records.values(latest.get(s))).as("shard %d", s).containsExactly(work.expected[s]);
        }
    }

    /**
     * Compressed gradients (with the workers' error feedback) in and, with a delta encoding, a delta stream out (the
     * server's residual in keyed state, a full snapshot every 4 versions): every update of every shard is
     * bit-identical to the local computation on what the job decodes.
     */
    @ParameterizedTest(name = "{0} in, {1} deltas, parallelism {2}")
    @CsvSource({
        "int8, INT8_BLOCK, 2",
        "topk:0.2, TOPK, 1",
        "topk:0.2, TOPK, 2",
        "topk:0.2:noef, , 2",
        "bf16, BF16, 2",
    })
    void compressedPipelineEqualsTheLocalComputation(String gradients, String deltas, int parallelism)
            throws Exception {
        CompressionSpec compression = CompressionSpec.newBuilder()
                .setInputEncodings(List.of(Encoding.valueOf(
                        gradients.startsWith("topk") ? "TOPK" : gradients.equals("int8") ? "INT8_BLOCK" : "BF16")))
                .setDeltaEncoding(deltas == null ? null : Encoding.valueOf(deltas))
                .setDeltaTopKFraction(0.1)
                .setSnapshotEvery(4)
                .build();
        Workload work = new Workload(
                "m",
                "Adam",
                OPTIMIZERS.get("Adam"),
                true,
                LENGTH,
                SHARD_SIZE,
                WORKERS,
                STEPS,
                77,
                gradients,
                compression);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        var rawType = TypeExtractor.createTypeInfo(RawRecord.class);
        var control = env.fromData(List.of(work.create), rawType).setParallelism(1);
        var grads = env.fromData(work.gradients, rawType)
                .setParallelism(1)
                .map(new HoldFirst())
                .setParallelism(1);
        GradstreamPipeline.Outputs out = GradstreamPipeline.build(
                grads, control, 60_000, 1_000, new BackendSettings(BackendSettings.Kind.CPU, Map.of(), 1, 5));
        CloseableIterator<ParameterUpdate> params = out.parameters().collectAsync();
        CloseableIterator<RejectedRecord> rejected = out.rejected().collectAsync();
        env.execute("compressed equivalence " + gradients + " " + deltas + " p" + parallelism);

        Map<Integer, List<ParameterUpdate>> byShard = new HashMap<>();
        params.forEachRemaining(u ->
                byShard.computeIfAbsent(u.getShard(), k -> new ArrayList<>()).add(u));
        List<RejectedRecord> refused = new ArrayList<>();
        rejected.forEachRemaining(refused::add);
        assertThat(refused).as("rejected").isEmpty();
        assertEveryUpdateAsComputed(byShard, work);
        if (deltas != null) {
            assertThat(byShard.get(0)).extracting(ParameterUpdate::getKind).contains(UpdateKind.DELTA, UpdateKind.FULL);
        }
    }

    /** Every version of every shard once, each update's kind, base and payload bytes as the workload computed. */
    static void assertEveryUpdateAsComputed(Map<Integer, List<ParameterUpdate>> byShard, Workload work) {
        for (int s = 0; s < work.shards(); s++) {
            List<ParameterUpdate> got = new ArrayList<>(byShard.get(s));
            got.sort(java.util.Comparator.comparingLong(ParameterUpdate::getVersion));
            List<ParameterUpdate> want = work.expectedUpdates.get(s);
            assertThat(got)
                    .extracting(ParameterUpdate::getVersion)
                    .as("versions of shard %d", s)
                    .containsExactlyElementsOf(
                            want.stream().map(ParameterUpdate::getVersion).toList());
            for (int v = 0; v < want.size(); v++) {
                ParameterUpdate g = got.get(v);
                ParameterUpdate w = want.get(v);
                assertThat(g.getKind()).as("kind of shard %d v%d", s, v).isEqualTo(w.getKind());
                assertThat(g.getBaseVersion()).as("base of shard %d v%d", s, v).isEqualTo(w.getBaseVersion());
                assertThat(g.getPayload()).as("payload of shard %d v%d", s, v).isEqualTo(w.getPayload());
            }
            assertThat(Records.values(got.get(got.size() - 1)))
                    .as("shard %d", s)
                    .containsExactly(
                            got.get(got.size() - 1).getKind() == UpdateKind.FULL
                                    ? work.expected[s]
                                    : Records.values(want.get(want.size() - 1)));
        }
    }
}
