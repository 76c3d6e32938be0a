package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.model.Limits;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The keyed operator against single hostile records and model lifecycles (issue 12): each is refused with a reason
 * and leaves the state as it was, and two lives of a model id never share DP noise or reset its privacy ledger.
 */
class HostileInputTest {
    private final List<KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate>> open =
            new ArrayList<>();

    private KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness(
            Limits limits, int parallelism, int subtask, OperatorSubtaskState restoreFrom) throws Exception {
        var h = BatchedStepsTest.harness(
                new ShardOptimizerOperator(60_000, 100, BackendSettings.cpu(), limits),
                parallelism,
                subtask,
                restoreFrom);
        open.add(h);
        return h;
    }

    private KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness()
            throws Exception {
        return harness(Limits.DEFAULT, 1, 0, null);
    }

    @AfterEach
    void close() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private static List<ParameterUpdate> updates(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ParameterUpdate> h) {
        List<ParameterUpdate> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof ParameterUpdate u) {
                out.add(u);
            }
        }
        return out;
    }

    private static List<RejectedRecord> rejected(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        List<RejectedRecord> out = new ArrayList<>();
        var side = h.getSideOutput(Rejections.TAG);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    private static ModelSpec sgd(int shardSize, int... shape) {
        return Records.spec("SGD", Map.of("lr", 1.0), shardSize, Records.sync(1), shape);
    }

    @Test
    void twoLivesOfAModelIdDrawIndependentNoiseAndShareOneLedger(@TempDir Path dir) throws Exception {
        Path seed = Files.writeString(dir.resolve("seed"), "hostile-input-test-secret-0123456789");
        int n = 4096;
        ModelSpec spec = ModelSpec.newBuilder(sgd(n, n))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(1.0)
                        .setNoiseMultiplier(1.0)
                        .setDelta(1e-5)
                        .setExpectedPerStep(1.0)
                        .setPopulationSize(1000L)
                        .setSeedFile(seed.toString())
                        .build())
                .build();
        var h = harness();
        h.processElement2(Records.create("m", spec), 0);
        float[] zero = new float[n];
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, zero), 1);
        h.processElement1(Records.gradient("m", 0, "a", 2, 1, 1, zero), 2);
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.DELETE)
                        .build()),
                3);
        h.processElement2(Records.create("m", spec), 4); // the same spec, read at another offset
        OperatorSubtaskState snapshot = h.snapshot(1, 5);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, zero), 6);
        List<ParameterUpdate> u = updates(h);
        assertThat(u).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L, 2L, 0L, 1L);
        // With zero gradients, lr 1 and a zero start, version 1 is minus the noise of that life's first release.
        float[] first = Records.values(u.get(1));
        float[] second = Records.values(u.get(4));
        assertThat(second).isNotEqualTo(first);
        double dot = 0;
        double a2 = 0;
        double b2 = 0;
        for (int i = 0; i < n; i++) {
            dot += (double) first[i] * second[i];
            a2 += (double) first[i] * first[i];
            b2 += (double) second[i] * second[i];
        }
        // Independent N(0, 1) vectors: the correlation is about N(0, 1/n); 6 standard deviations is 0.094.
        assertThat(Math.abs(dot / Math.sqrt(a2 * b2))).isLessThan(6 / Math.sqrt(n));
        // The ledger goes on: the new life's first step is the model id's third release.
        double third = RdpAccountant.epsilon(1.0, 0.001, 3, 1e-5, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        assertThat(u.get(4).getEpsilonSpent()).isEqualTo(third);
        assertThat(rejected(h)).isEmpty();

        // A restore keeps both: the incarnation (same noise) and the retired ledger (same epsilon).
        var restored = harness(Limits.DEFAULT, 1, 0, snapshot);
        restored.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, zero), 6);
        assertThat(updates(restored)).hasSize(1);
        assertThat(Records.values(updates(restored).get(0))).containsExactly(second);
        assertThat(updates(restored).get(0).getEpsilonSpent()).isEqualTo(third);
    }

    @Test
    void initIsOnlyForExplicitModelsAndVersionZeroIsPublishedOnce() throws Exception {
        var h = harness();
        h.processElement2(Records.create("m", sgd(4, 4)), 0); // ZEROS
        h.processElement1(
                Records.batch(GradientBatch.newBuilder()
                        .setModelId("m")
                        .setTensor("w")
                        .setShard(0)
                        .setWorkerId("a")
                        .setWorkerStep(0)
                        .setBaseVersion(0)
                        .setKind(GradientKind.INIT)
                        .setPayload(Records.payload(new float[] {1, 2, 3, 4}))
                        .build()),
                1);
        assertThat(updates(h)).hasSize(1);
        assertThat(Records.values(updates(h).get(0))).containsExactly(0, 0, 0, 0);
        assertThat(rejected(h)).singleElement().satisfies(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.ALREADY_INITIALIZED);
            assertThat(r.getDetail()).contains("EXPLICIT");
        });
    }

    @Test
    void aWildWorkerStepIsRefusedAndDoesNotLockTheWorkerOut() throws Exception {
        var h = harness();
        h.processElement2(Records.create("m", sgd(4, 4)), 0);
        h.processElement1(Records.gradient("m", 0, "a", Long.MAX_VALUE, 0, 1, new float[] {1, 1, 1, 1}), 1);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1, 1, 1, 1}), 2);
        assertThat(rejected(h))
                .singleElement()
                .extracting(RejectedRecord::getReason)
                .isEqualTo(RejectReason.OUT_OF_RANGE);
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);
    }

    @Test
    void numbersOutOfRangeAndOverflowingAggregatesLeaveTheStateAsItWas() throws Exception {
        var h = harness();
        h.processElement2(Records.create("m", Records.spec("SGD", Map.of("lr", 1e-30), 2, Records.sync(2), 2)), 0);
        h.processElement1(Records.gradient("m", 0, "a", 1, Long.MIN_VALUE, 1, new float[] {1, 1}), 1);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, Long.MAX_VALUE, new float[] {1, 1}), 2);
        h.processElement1(Records.gradient("m", 0, "b", 1, 0, 1, new float[] {3e38f, 1}), 3);
        // Finite, but 1000 x 3e38 is not: refused before it touches the pending sum.
        h.processElement1(Records.gradient("m", 0, "d", 1, 0, 1000, new float[] {3e38f, 1}), 4);
        // Finite alone, but 3e38 + 3e38 overflows float32: refused, and worker c may still contribute.
        h.processElement1(Records.gradient("m", 0, "c", 1, 0, 1, new float[] {3e38f, 1}), 5);
        h.processElement1(Records.gradient("m", 0, "c", 1, 0, 1, new float[] {-1, 1}), 6);
        assertThat(rejected(h))
                .extracting(RejectedRecord::getReason)
                .containsExactly(
                        RejectReason.OUT_OF_RANGE,
                        RejectReason.INVALID_EXAMPLE_COUNT,
                        RejectReason.NON_FINITE_RESULT,
                        RejectReason.NON_FINITE_RESULT);
        List<ParameterUpdate> u = updates(h);
        assertThat(u).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);
        assertThat(u.get(1).getContributions()).isEqualTo(2);
        for (float v : Records.values(u.get(1))) {
            assertThat(Float.isFinite(v)).isTrue();
        }
    }

    @Test
    void aStepWhoseResultOverflowsIsRefusedAndTakenBackAloneAndInABatch() throws Exception {
        for (BackendSettings backend :
                List.of(BackendSettings.cpu(), new BackendSettings(BackendSettings.Kind.CPU, Map.of(), 2, 60_000))) {
            var h = BatchedStepsTest.harness(
                    new ShardOptimizerOperator(60_000, 100, backend, Limits.DEFAULT), 1, 0, null);
            open.add(h);
            // Finite inputs, but 1e30 x 1e10 is not a float32: the step would store -Inf.
            h.processElement2(Records.create("m", Records.spec("SGD", Map.of("lr", 1e30), 2, Records.sync(1), 2)), 0);
            h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1e10f, 1}), 1);
            h.processElement1(Records.gradient("m", 0, "a", 2, 0, 1, new float[] {1e-10f, 0}), 2);
            h.prepareSnapshotPreBarrier(1); // runs what the batch holds
            assertThat(rejected(h)).as(backend.toString()).singleElement().satisfies(r -> {
                assertThat(r.getReason()).isEqualTo(RejectReason.NON_FINITE_RESULT);
                assertThat(r.getDetail()).contains("stays at version 0");
            });
            List<ParameterUpdate> u = updates(h);
            assertThat(u)
                    .as(backend.toString())
                    .extracting(ParameterUpdate::getVersion)
                    .containsExactly(0L, 1L);
            // Version 1 is the second gradient's step from the untouched zeros: -1e30 x 1e-10.
            assertThat(Records.values(u.get(1))).containsExactly(-1e20f, 0f);
        }
    }

    @Test
    void malformedRecordsOfUnknownModelsAreRefusedOnArrivalAndNothingWaits() throws Exception {
        var h = harness();
        RawRecord good = Records.gradient("later", 0, "a", 1, 0, 1, new float[] {1});
        RawRecord wrongKey =
                new RawRecord("later/w/1".getBytes(StandardCharsets.UTF_8), good.value, "gradients", 0, 99);
        h.processElement1(wrongKey, 1);
        h.processElement1(
                new RawRecord(
                        good.key,
                        new byte[] {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f},
                        "gradients",
                        0,
                        100),
                2);
        assertThat(rejected(h))
                .extracting(RejectedRecord::getReason)
                .containsExactly(RejectReason.OTHER, RejectReason.UNDECODABLE);
        assertThat(h.numProcessingTimeTimers()).isZero();
        h.processElement1(good, 3); // well-formed: waits for its model
        assertThat(h.numProcessingTimeTimers()).isOne();
    }

    @Test
    void aCommandUnderAnotherModelsKeyIsRefusedAndChangesNothing() throws Exception {
        var h = harness();
        h.processElement2(Records.create("m", sgd(4, 4)), 0);
        RawRecord delete = Records.command(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.DELETE)
                .build());
        h.processElement2(new RawRecord("other".getBytes(StandardCharsets.UTF_8), delete.value, "control", 0, 50), 1);
        h.processElement2(new RawRecord(null, delete.value, "control", 0, 51), 2);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1, 1, 1, 1}), 3);
        assertThat(rejected(h)).hasSize(2).allSatisfy(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.INVALID_COMMAND);
            assertThat(r.getDetail()).contains("record key");
        });
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);
    }

    @Test
    void theWaitingRoomIsBoundedInBytes() throws Exception {
        List<RawRecord> records = new ArrayList<>();
        for (int step = 1; step <= 4; step++) {
            records.add(Records.gradient("later", 0, "a", step, 0, 1, new float[32]));
        }
        int size = records.get(0).value.length;
        Limits small = new Limits(
                1 << 20, 1 << 20, 1 << 16, 1 << 10, 1 << 20, 10, 10, 1 << 20, 1000, 64, 3L * size + size / 2, 1 << 20);
        var h = harness(small, 1, 0, null);
        for (int i = 0; i < records.size(); i++) {
            h.processElement1(records.get(i), i);
        }
        // Three records fit in 3.5 records' bytes, the fourth does not.
        assertThat(rejected(h)).singleElement().satisfies(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.TOO_LARGE);
            assertThat(r.getDetail()).contains("gradstream.limits.waiting-bytes-per-shard");
            assertThat(r.getOffset()).isEqualTo(records.get(3).offset);
        });
    }

    @Test
    void createsBeyondTheLimitsAreRefusedBeforeAnythingIsAllocated() throws Exception {
        var h = harness();
        ModelSpec billion = ModelSpec.newBuilder(sgd(1, 1))
                .setTensors(List.of(TensorSpec.newBuilder()
                        .setName("w")
                        .setShape(List.of(Integer.MAX_VALUE))
                        .build()))
                .build();
        ModelSpec hugeShard = sgd(Limits.MAX_SHARD_ELEMENTS + 1, 8);
        h.processElement2(Records.create("a", billion), 0);
        h.processElement2(Records.create("b", hugeShard), 1);
        assertThat(updates(h)).isEmpty();
        assertThat(rejected(h)).hasSize(2).allSatisfy(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.INVALID_COMMAND);
            assertThat(r.getDetail()).contains("gradstream.limits.");
        });
    }

    @Test
    void eachSubtaskPublishesVersionZeroOfTheShardsItOwns() throws Exception {
        ModelSpec spec = ModelSpec.newBuilder(sgd(1, 16))
                .setInit(InitSpec.newBuilder().setRule(InitRule.ZEROS).build())
                .build();
        RawRecord create = Records.create("m", spec);
        Set<Integer> seen = new HashSet<>();
        for (int subtask = 0; subtask < 2; subtask++) {
            var h = harness(Limits.DEFAULT, 2, subtask, null);
            h.processElement2(create, 0);
            for (ParameterUpdate u : updates(h)) {
                assertThat(KeyGroupRangeAssignment.assignKeyToParallelOperator("m/w/" + u.getShard(), 128, 2))
                        .isEqualTo(subtask);
                assertThat(seen.add(u.getShard()))
                        .as("shard %d published once", u.getShard())
                        .isTrue();
            }
        }
        assertThat(seen).hasSize(16);
    }
}
