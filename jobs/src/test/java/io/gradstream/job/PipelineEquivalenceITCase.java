package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
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
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
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

    @ParameterizedTest(name = "{0} {1} parallelism {2}")
    @CsvSource({"Adam, SYNC, 1", "Adam, SYNC, 2", "Adam, ASYNC, 2", "SGD, SYNC, 2", "SGD, ASYNC, 1"})
    void pipelineEqualsTheLocalKernel(String optimizer, String mode, int parallelism) throws Exception {
        boolean sync = mode.equals("SYNC");
        AggregationSpec aggregation = sync ? Records.sync(WORKERS) : Records.async(1_000);
        RawRecord create = Records.create("m", Records.spec(optimizer, OPTIMIZERS.get(optimizer), SHARD_SIZE,
                aggregation, LENGTH));

        SplittableRandom rnd = new SplittableRandom(parallelism * 31L + optimizer.length());
        List<RawRecord> gradients = new ArrayList<>();
        Map<Integer, float[]> expected = new HashMap<>();
        Map<Integer, OptimizerState> states = new HashMap<>();
        Optimizer kernel = Optimizers.create(optimizer, OPTIMIZERS.get(optimizer));
        for (int s = 0; s < SHARDS; s++) {
            expected.put(s, new float[Math.min(SHARD_SIZE, LENGTH - s * SHARD_SIZE)]);
            states.put(s, new OptimizerState());
        }
        for (int t = 0; t < STEPS; t++) {
            for (int s = 0; s < SHARDS; s++) {
                int len = expected.get(s).length;
                float[] sum = null;
                long total = 0;
                for (int w = 0; w < WORKERS; w++) {
                    float[] g = new float[len];
                    for (int i = 0; i < len; i++) {
                        g[i] = (float) rnd.nextGaussian();
                    }
                    long n = 1 + rnd.nextInt(64);
                    gradients.add(Records.gradient("m", s, "w" + w, t + 1, sync ? t : 0, n, g));
                    if (!sync) {
                        kernel.step(expected.get(s), g, states.get(s));
                        continue;
                    }
                    // Σ fl32(n_k·g_k) in arrival order, then one float division by N.
                    if (sum == null) {
                        sum = new float[len];
                        for (int i = 0; i < len; i++) {
                            sum[i] = (float) n * g[i];
                        }
                    } else {
                        for (int i = 0; i < len; i++) {
                            sum[i] = sum[i] + (float) n * g[i];
                        }
                    }
                    total += n;
                }
                if (sync) {
                    for (int i = 0; i < len; i++) {
                        sum[i] = sum[i] / (float) total;
                    }
                    kernel.step(expected.get(s), sum, states.get(s));
                }
            }
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        var rawType = TypeExtractor.createTypeInfo(RawRecord.class);
        var control = env.fromData(List.of(create), rawType).setParallelism(1);
        var grads = env.fromData(gradients, rawType).setParallelism(1).map(new HoldFirst()).setParallelism(1);
        GradstreamPipeline.Outputs out = GradstreamPipeline.build(grads, control, 60_000, 1_000);
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
        long expectedSteps = sync ? STEPS : (long) STEPS * WORKERS;
        assertThat(updates).isEqualTo(SHARDS * (1 + (int) expectedSteps));
        for (int s = 0; s < SHARDS; s++) {
            assertThat(latest.get(s).getVersion()).isEqualTo(expectedSteps);
            assertThat(Records.values(latest.get(s))).as("shard %d", s).containsExactly(expected.get(s));
        }
    }
}
