package io.gradstream.job;

import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.kafka.common.utils.Utils;

/**
 * The seeded workload behind the savepoint fixture ({@link SavepointFixture}): six stages of control commands and
 * gradient records, chosen so that the savepoint taken after stage 3 holds every kind of state the shard operator
 * keeps, and so that the result never depends on how the control and gradients topics interleave.
 *
 * <ul>
 *   <li>{@code adam}: Adam with amsgrad, SYNC with 2 workers and a (never reached) timeout, NORMAL init, 3 shards;
 *       at the savepoint step 4 is half gathered (a pending contribution and its deadline timer). Phase 2 starts
 *       with a duplicate of an applied step (DUPLICATE: the workers' watermarks).</li>
 *   <li>{@code sgd}: SGD with Nesterov momentum, StepLR, ASYNC with staleness, BF16 output, a 2-d tensor; its
 *       hyperparameters are updated in stage 2 (the broadcast spec is no longer the CREATE's).</li>
 *   <li>{@code explicit}: RMSprop (centered, momentum) with EXPLICIT init: shard 0 gets its INIT in phase 1, shard 1
 *       only in phase 2 (no keyed state at the savepoint).</li>
 *   <li>{@code private}: DP-SGD (Adam) with clipping, noise and an RDP ledger, two tensors, SYNC with 2 workers and a
 *       pending contribution at the savepoint; its secret is the file {@link #SEED_FILE}, relative to the working
 *       directory.</li>
 *   <li>{@code paused}: AdamW, ASYNC, UNIFORM init, INT8 output; paused in stage 2 (broadcast state), its phase-2
 *       gradients are rejected as PAUSED, resumed in stage 5 and the same gradients are sent again in stage 6.</li>
 *   <li>{@code late}: NAdam; its gradients arrive in phase 1, its CREATE only in phase 2, so at the savepoint they
 *       wait in the waiting room (keyed list state, its start time and a retry timer).</li>
 *   <li>{@code sync-N}: one small marker model per stage, created last on the control topic and given one gradient
 *       per shard last on the gradients topic, with shards on every subtask and every gradients partition. A stage
 *       is done when all its markers reached version 1: every subtask has then applied the stage's commands, and
 *       everything the stage wrote before the markers is in the operator's state.</li>
 * </ul>
 *
 * <p>Workers publish on the version they saw, so the steps are the same whether a record waits or not. The records
 * themselves are stored in the fixture ({@code inputs.json}): the compatibility test replays those bytes, not this
 * class, which only the generator runs.
 */
final class SavepointWorkload {
    /** Where the private model's secret is, relative to the working directory (the jobs module under failsafe). */
    static final String SEED_FILE = "target/savepoint-fixture/seed";
    /** The private model's secret: a test value, not a secret. */
    static final String SEED_TEXT = "gradstream-savepoint-fixture-test-seed-0001";
    /** The job's parallelism when the fixture is generated. */
    static final int PARALLELISM = 2;

    static final int GRADIENT_PARTITIONS = 2;
    /** Flink's default max parallelism for the generator's parallelism (no job sets its own). */
    static final int MAX_PARALLELISM = 128;
    /** SYNC timeout and waiting-room grace that no test ever reaches: the fixture must not depend on wall time. */
    static final long HUNDRED_YEARS_MS = 100L * 365 * 24 * 3600 * 1000;
    /** The stage after which the generator takes the savepoint; stages after it are phase 2. */
    static final int SAVEPOINT_AFTER_STAGE = 3;

    /** One stage: commands and gradients in publish order, then what to wait for. */
    static final class Stage {
        final int number;
        final List<RawRecord> control = new ArrayList<>();
        final List<RawRecord> gradients = new ArrayList<>();
        /** Shards this stage advances, with the version each reaches. */
        final Map<String, Long> expectVersions = new TreeMap<>();
        /** Rejected records from the start of phase 2 up to the end of this stage. */
        int expectRejected;

        Stage(int number) {
            this.number = number;
        }
    }

    private final SplittableRandom rnd = new SplittableRandom(20261127L);
    private final List<Stage> stages = new ArrayList<>();

    private SavepointWorkload() {}

    static List<Stage> stages() {
        SavepointWorkload w = new SavepointWorkload();
        w.build();
        return w.stages;
    }

    private void build() {
        ModelSpec adam = ModelSpec.newBuilder(Records.spec(
                        "Adam",
                        Map.of("lr", 0.01, "weight_decay", 0.01, "amsgrad", true),
                        32,
                        AggregationSpec.newBuilder()
                                .setMode(AggregationMode.SYNC)
                                .setWorkers(2)
                                .setTimeoutMs(HUNDRED_YEARS_MS)
                                .build(),
                        70))
                .setInit(InitSpec.newBuilder()
                        .setRule(InitRule.NORMAL)
                        .setSeed(7)
                        .setStd(0.1)
                        .build())
                .build();
        ModelSpec sgd = ModelSpec.newBuilder(Records.spec(
                        "SGD",
                        Map.of("lr", 0.1, "momentum", 0.9, "nesterov", true, "weight_decay", 1e-4),
                        16,
                        Records.async(2),
                        4,
                        10))
                .setLrSchedule(ScheduleSpec.newBuilder()
                        .setName("StepLR")
                        .setHyperparameters(Map.of("step_size", 2.0, "gamma", 0.5))
                        .build())
                .setOutputEncoding(Encoding.BF16)
                .build();
        ModelSpec explicit = ModelSpec.newBuilder(Records.spec(
                        "RMSprop", Map.of("lr", 0.01, "centered", true, "momentum", 0.5), 10, Records.sync(1), 20))
                .setInit(InitSpec.newBuilder().setRule(InitRule.EXPLICIT).build())
                .build();
        ModelSpec privateModel = ModelSpec.newBuilder(Records.spec("Adam", Map.of("lr", 0.05), 16, Records.sync(2), 30))
                .setTensors(List.of(tensor("w", 30), tensor("b", 5)))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(1.0)
                        .setNoiseMultiplier(1.1)
                        .setDelta(1e-5)
                        .setExpectedPerStep(2.0)
                        .setPopulationSize(1000L)
                        .setSeedFile(SEED_FILE)
                        .build())
                .build();
        ModelSpec paused = ModelSpec.newBuilder(Records.spec("AdamW", Map.of("lr", 0.01), 12, Records.async(2), 12))
                .setInit(InitSpec.newBuilder()
                        .setRule(InitRule.UNIFORM)
                        .setSeed(3)
                        .setLow(-0.1)
                        .setHigh(0.1)
                        .build())
                .setOutputEncoding(Encoding.INT8_BLOCK)
                .build();
        ModelSpec late = ModelSpec.newBuilder(Records.spec("NAdam", Map.of("lr", 0.01), 8, Records.sync(1), 8))
                .setInit(InitSpec.newBuilder()
                        .setRule(InitRule.NORMAL)
                        .setSeed(11)
                        .setStd(0.05)
                        .build())
                .build();
        String[] privateShards = {"w/0", "w/1", "b/0"};
        int[] privateLengths = {16, 14, 5};

        // Stage 1: every model but `late` is created; `late` gets gradients it has to wait with.
        Stage s1 = stage();
        s1.control.add(Records.create("adam", adam));
        s1.control.add(Records.create("sgd", sgd));
        s1.control.add(Records.create("explicit", explicit));
        s1.control.add(Records.create("private", privateModel));
        s1.control.add(Records.create("paused", paused));
        for (int t = 1; t <= 2; t++) {
            adamStep(s1, t, 0, 1);
        }
        for (int j = 0; j < 3; j++) {
            sgdContribution(s1, j);
        }
        float[] init0 = values(10, 0.1);
        s1.gradients.add(init("explicit", 0, init0));
        for (int t = 1; t <= 2; t++) {
            s1.gradients.add(gradient("explicit", "w", 0, "w0", t, t - 1, 8, values(10, 1)));
        }
        for (int t = 1; t <= 2; t++) {
            privateStep(s1, privateShards, privateLengths, t, 0, 1);
        }
        for (int t = 1; t <= 2; t++) {
            s1.gradients.add(gradient("paused", "w", 0, "w0", t, t - 1, 4, values(12, 1)));
        }
        for (int t = 1; t <= 2; t++) {
            s1.gradients.add(gradient("late", "w", 0, "w0", t, t - 1, 16, values(8, 1)));
        }
        expect(s1, "adam", "w", 3, 2);
        expect(s1, "sgd", "w", 3, 3);
        s1.expectVersions.put("explicit/w/0", 2L);
        for (String s : privateShards) {
            s1.expectVersions.put("private/" + s, 2L);
        }
        s1.expectVersions.put("paused/w/0", 2L);
        marker(s1);

        // Stage 2: commands only (the marker shows every subtask has applied them).
        Stage s2 = stage();
        s2.control.add(Records.command(ControlCommand.newBuilder()
                .setModelId("sgd")
                .setType(CommandType.UPDATE_HYPERPARAMETERS)
                .setHyperparameters(Map.of("lr", 0.05, "momentum", 0.8))
                .build()));
        s2.control.add(Records.command(ControlCommand.newBuilder()
                .setModelId("paused")
                .setType(CommandType.PAUSE)
                .build()));
        marker(s2);

        // Stage 3: more steps, and half of the next step of the SYNC models: the savepoint follows.
        Stage s3 = stage();
        adamStep(s3, 3, 0, 1);
        adamStep(s3, 4, 0);
        for (int j = 3; j < 5; j++) {
            sgdContribution(s3, j);
        }
        privateStep(s3, privateShards, privateLengths, 3, 0);
        expect(s3, "adam", "w", 3, 3);
        expect(s3, "sgd", "w", 3, 5);
        marker(s3);

        // Stage 4 (phase 2, after the savepoint): a duplicate, the missing halves, more steps; `late` is created;
        // explicit shard 1 starts; gradients for the paused model are refused.
        Stage s4 = stage();
        s4.control.add(Records.create("late", late));
        s4.gradients.add(gradient("adam", "w", 0, "w0", 2, 1, 5, values(32, 1)));
        s4.expectRejected++;
        adamStep(s4, 4, 1);
        for (int t = 5; t <= 6; t++) {
            adamStep(s4, t, 0, 1);
        }
        for (int j = 5; j < 8; j++) {
            sgdContribution(s4, j);
        }
        for (int t = 3; t <= 4; t++) {
            s4.gradients.add(gradient("explicit", "w", 0, "w0", t, t - 1, 8, values(10, 1)));
        }
        s4.gradients.add(init("explicit", 1, values(10, 0.1)));
        for (int t = 1; t <= 2; t++) {
            s4.gradients.add(gradient("explicit", "w", 1, "w0", t, t - 1, 8, values(10, 1)));
        }
        privateStep(s4, privateShards, privateLengths, 3, 1);
        for (int t = 4; t <= 5; t++) {
            privateStep(s4, privateShards, privateLengths, t, 0, 1);
        }
        List<RawRecord> pausedGradients = new ArrayList<>();
        for (int t = 3; t <= 4; t++) {
            pausedGradients.add(gradient("paused", "w", 0, "w0", t, 2, 4, values(12, 1)));
        }
        s4.gradients.addAll(pausedGradients);
        s4.expectRejected += pausedGradients.size();
        s4.gradients.add(gradient("late", "w", 0, "w0", 3, 2, 16, values(8, 1)));
        expect(s4, "adam", "w", 3, 6);
        expect(s4, "sgd", "w", 3, 8);
        s4.expectVersions.put("explicit/w/0", 4L);
        s4.expectVersions.put("explicit/w/1", 2L);
        for (String s : privateShards) {
            s4.expectVersions.put("private/" + s, 5L);
        }
        s4.expectVersions.put("late/w/0", 3L);
        marker(s4);

        // Stage 5: the paused model resumes.
        Stage s5 = stage();
        s5.control.add(Records.command(ControlCommand.newBuilder()
                .setModelId("paused")
                .setType(CommandType.RESUME)
                .build()));
        marker(s5);

        // Stage 6: the refused gradients again, byte for byte; now they apply on the restored parameters.
        Stage s6 = stage();
        s6.gradients.addAll(pausedGradients);
        s6.expectVersions.put("paused/w/0", 4L);
        marker(s6);
    }

    private Stage stage() {
        Stage s = new Stage(stages.size() + 1);
        s.expectRejected = stages.isEmpty() ? 0 : stages.get(stages.size() - 1).expectRejected;
        stages.add(s);
        return s;
    }

    private static TensorSpec tensor(String name, int length) {
        return TensorSpec.newBuilder().setName(name).setShape(List.of(length)).build();
    }

    private static void expect(Stage s, String model, String tensor, int shards, long version) {
        for (int i = 0; i < shards; i++) {
            s.expectVersions.put(model + "/" + tensor + "/" + i, version);
        }
    }

    /** Step {@code t} of the SYNC Adam model from the given workers, every shard. */
    private void adamStep(Stage s, int t, int... workers) {
        int[] lengths = {32, 32, 6};
        for (int shard = 0; shard < 3; shard++) {
            for (int w : workers) {
                s.gradients.add(gradient(
                        "adam", "w", shard, "w" + w, t, t - 1, 1 + rnd.nextInt(64), values(lengths[shard], 1)));
            }
        }
    }

    /**
     * The j-th ASYNC contribution to every shard of the SGD model: workers alternate, each on the version before the
     * previous contribution (staleness 1, within maxStaleness 2).
     */
    private void sgdContribution(Stage s, int j) {
        int[] lengths = {16, 16, 8};
        for (int shard = 0; shard < 3; shard++) {
            s.gradients.add(gradient(
                    "sgd",
                    "w",
                    shard,
                    "w" + (j % 2),
                    j / 2 + 1,
                    Math.max(0, j - 1),
                    1 + rnd.nextInt(64),
                    values(lengths[shard], 1)));
        }
    }

    /** Step {@code t} of the private model from the given workers, every shard; norms well above the clip bound. */
    private void privateStep(Stage s, String[] shards, int[] lengths, int t, int... workers) {
        for (int i = 0; i < shards.length; i++) {
            String[] ts = shards[i].split("/");
            for (int w : workers) {
                s.gradients.add(gradient(
                        "private", ts[0], Integer.parseInt(ts[1]), "w" + w, t, t - 1, 3, values(lengths[i], 1 + w)));
            }
        }
    }

    /**
     * A marker model {@code sync-<stage>}: created after the stage's commands, one gradient per shard after its
     * gradients; as many one-element shards as it takes to reach every subtask and every gradients partition.
     */
    private static void marker(Stage s) {
        String model = "sync-" + s.number;
        int shards = 4;
        while (!coversEverything(model, shards)) {
            shards++;
        }
        s.control.add(Records.create(model, Records.spec("SGD", Map.of("lr", 0.1), 1, Records.async(0), shards)));
        for (int i = 0; i < shards; i++) {
            s.gradients.add(gradient(model, "w", i, "m", 1, 0, 1, new float[] {1f}));
            s.expectVersions.put(model + "/w/" + i, 1L);
        }
    }

    private static boolean coversEverything(String model, int shards) {
        Set<Integer> subtasks = new HashSet<>();
        Set<Integer> partitions = new HashSet<>();
        for (int i = 0; i < shards; i++) {
            String key = model + "/w/" + i;
            subtasks.add(KeyGroupRangeAssignment.assignKeyToParallelOperator(key, MAX_PARALLELISM, PARALLELISM));
            // The Kafka producer's default partitioner for keyed records.
            partitions.add(Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % GRADIENT_PARTITIONS);
        }
        return subtasks.size() == PARALLELISM && partitions.size() == GRADIENT_PARTITIONS;
    }

    private float[] values(int length, double scale) {
        float[] g = new float[length];
        for (int i = 0; i < length; i++) {
            g[i] = (float) (rnd.nextGaussian() * scale);
        }
        return g;
    }

    private static RawRecord gradient(
            String model, String tensor, int shard, String worker, long step, long base, long examples, float[] g) {
        return Records.batch(GradientBatch.newBuilder()
                .setModelId(model)
                .setTensor(tensor)
                .setShard(shard)
                .setWorkerId(worker)
                .setWorkerStep(step)
                .setBaseVersion(base)
                .setNumExamples(examples)
                .setPayload(Records.payload(g))
                .setKind(GradientKind.GRADIENT)
                .build());
    }

    private static RawRecord init(String model, int shard, float[] values) {
        return Records.batch(GradientBatch.newBuilder()
                .setModelId(model)
                .setTensor("w")
                .setShard(shard)
                .setWorkerId("init")
                .setWorkerStep(0)
                .setBaseVersion(0)
                .setNumExamples(1)
                .setPayload(Records.payload(values))
                .setKind(GradientKind.INIT)
                .build());
    }
}
