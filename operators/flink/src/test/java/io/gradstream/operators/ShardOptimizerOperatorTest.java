package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.shard.ShardInitializer;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keyed operator driven by Flink's test harness: outputs, rejections, keyed state, timers, snapshot/restore. */
class ShardOptimizerOperatorTest {
    private static final Map<String, Object> ADAM_HP = Map.of("lr", 0.01);
    private final List<KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate>> open =
            new ArrayList<>();

    private KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness(
            OperatorSubtaskState restoreFrom) throws Exception {
        var h = BatchedStepsTest.harness(BackendSettings.cpu(), restoreFrom);
        open.add(h);
        return h;
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

    private static long shardsInState(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) throws Exception {
        var backend = ((AbstractStreamOperator<?>) h.getOperator()).getKeyedStateBackend();
        try (var keys = backend.getKeys("shard", VoidNamespace.INSTANCE)) {
            return keys.count();
        }
    }

    @Test
    void syncStepsPublishTheKernelsResultOnTheMeanGradient() throws Exception {
        var h = harness(null);
        h.processElement2(Records.create("m", Records.spec("Adam", ADAM_HP, 4, Records.sync(2), 6)), 0);
        // CREATE publishes version 0 of both shards (rule ZEROS), once.
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 0L);
        assertThat(Records.values(updates(h).get(1))).containsExactly(0f, 0f);

        float[] g1 = {0.5f, -1f, 2f, 0.25f};
        float[] g2 = {1.5f, 1f, -2f, 0.75f};
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, g1), 1);
        assertThat(updates(h)).hasSize(2);
        h.processElement1(Records.gradient("m", 0, "b", 1, 0, 3, g2), 2);
        List<ParameterUpdate> ups = updates(h);
        assertThat(ups).hasSize(3);
        ParameterUpdate u = ups.get(2);
        assertThat(u.getVersion()).isEqualTo(1);
        assertThat(u.getContributions()).isEqualTo(2);
        assertThat(u.getExamples()).isEqualTo(4);

        float[] mean = new float[4];
        for (int i = 0; i < 4; i++) {
            mean[i] = (1f * g1[i] + 3f * g2[i]) / 4f;
        }
        float[] expected = new float[4];
        Optimizers.create("Adam", ADAM_HP).step(expected, mean, new OptimizerState());
        assertThat(Records.values(u)).containsExactly(expected);
        assertThat(rejected(h)).isEmpty();
        assertThat(shardsInState(h)).isEqualTo(1);
    }

    @Test
    void badInputIsRejectedWithItsReasonAndOriginalBytes() throws Exception {
        var h = harness(null);
        h.processElement2(Records.create("m", Records.spec("SGD", Map.of("lr", 0.1), 4, Records.async(0), 6)), 0);
        RawRecord garbage = new RawRecord("m/w/0".getBytes(), new byte[] {1, 2, 3}, "gradients", 3, 77);
        h.processElement1(garbage, 1);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, 2f}), 1);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, Float.NaN, 0f, 0f}), 1);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, 1f, 1f, 1f}), 1);
        h.processElement1(Records.gradient("m", 0, "a", 1, 1, 1, new float[] {1f, 1f, 1f, 1f}), 1);
        h.processElement1(Records.gradient("m", 0, "b", 1, 0, 1, new float[] {1f, 1f, 1f, 1f}), 1);
        h.processElement1(Records.gradient("m", 5, "a", 2, 0, 1, new float[] {1f}), 1);
        RawRecord wrongKey = Records.gradient("m", 1, "a", 2, 0, 1, new float[] {1f, 1f});
        wrongKey.key = "m/w/0".getBytes();
        h.processElement1(wrongKey, 1);

        List<RejectedRecord> r = rejected(h);
        assertThat(r)
                .extracting(RejectedRecord::getReason)
                .containsExactly(
                        RejectReason.UNDECODABLE,
                        RejectReason.WRONG_ELEMENT_COUNT,
                        RejectReason.NON_FINITE,
                        RejectReason.DUPLICATE,
                        RejectReason.STALE,
                        RejectReason.UNKNOWN_SHARD,
                        RejectReason.OTHER);
        assertThat(r.get(0).getOriginalValue().array()).containsExactly(1, 2, 3);
        assertThat(r.get(0).getPartition()).isEqualTo(3);
        assertThat(r.get(0).getOffset()).isEqualTo(77);
        assertThat(r.get(6).getDetail()).contains("does not match");
        // Exactly one valid gradient was applied.
        assertThat(updates(h).stream().filter(u -> u.getVersion() > 0)).hasSize(1);
    }

    @Test
    void gradientsWaitForTheirModelAndAreRejectedWhenItNeverComes() throws Exception {
        var h = harness(null);
        h.setProcessingTime(0);
        h.processElement1(Records.gradient("late", 0, "a", 1, 0, 1, new float[] {1f, 1f}), 0);
        h.processElement1(Records.gradient("never", 0, "a", 1, 0, 1, new float[] {1f, 1f}), 0);
        assertThat(h.numProcessingTimeTimers()).isEqualTo(2);
        h.processElement2(Records.create("late", Records.spec("SGD", Map.of("lr", 0.1), 2, Records.sync(1), 2)), 10);
        h.setProcessingTime(300);
        assertThat(updates(h).stream().filter(u -> u.getModelId().equals("late") && u.getVersion() == 1))
                .hasSize(1);
        assertThat(rejected(h)).isEmpty();
        h.setProcessingTime(1_500);
        assertThat(rejected(h)).extracting(RejectedRecord::getReason).containsExactly(RejectReason.UNKNOWN_MODEL);
        assertThat(rejected(h).get(0).getDetail()).contains("never").contains("1000 ms");
    }

    @Test
    void syncTimeoutAppliesThePartialStep() throws Exception {
        var h = harness(null);
        h.setProcessingTime(0);
        var agg = Records.sync(3);
        agg.setTimeoutMs(500L);
        h.processElement2(Records.create("m", Records.spec("SGD", Map.of("lr", 1.0), 2, agg, 2)), 0);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, 2f}), 1);
        assertThat(h.numProcessingTimeTimers()).isEqualTo(1);
        h.setProcessingTime(499);
        assertThat(updates(h)).hasSize(1); // only version 0
        h.setProcessingTime(500);
        ParameterUpdate u = updates(h).get(1);
        assertThat(u.getVersion()).isEqualTo(1);
        assertThat(u.getContributions()).isEqualTo(1);
        assertThat(Records.values(u)).containsExactly(-1f, -2f);
    }

    @Test
    void controlCommandsPauseUpdateAndDelete() throws Exception {
        var h = harness(null);
        h.processElement2(Records.create("m", Records.spec("SGD", Map.of("lr", 1.0), 2, Records.async(5), 2)), 0);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, 1f}), 1);
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", 0.5))
                        .build()),
                2);
        h.processElement1(Records.gradient("m", 0, "a", 2, 1, 1, new float[] {1f, 1f}), 3);
        assertThat(Records.values(updates(h).get(2))).containsExactly(-1.5f, -1.5f);
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", -1.0))
                        .build()),
                4);
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.PAUSE)
                        .build()),
                5);
        h.processElement1(Records.gradient("m", 0, "a", 3, 2, 1, new float[] {1f, 1f}), 6);
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.DELETE)
                        .build()),
                7);
        assertThat(rejected(h))
                .extracting(RejectedRecord::getReason)
                .containsExactly(RejectReason.INVALID_COMMAND, RejectReason.PAUSED);
        assertThat(rejected(h).get(0).getDetail()).contains("Invalid lr: -1.0");
        assertThat(shardsInState(h)).isZero();
    }

    @Test
    void aRestoredOperatorContinuesBitForBit() throws Exception {
        var spec = Records.spec("Adam", ADAM_HP, 3, Records.sync(2), 3);
        float[][] grads = {{0.1f, 0.2f, -0.3f}, {0.5f, -0.25f, 1f}, {-1f, 0.75f, 0.5f}, {2f, 0.1f, 0.1f}};

        var straight = harness(null);
        straight.processElement2(Records.create("m", spec), 0);
        for (int t = 0; t < 4; t++) {
            straight.processElement1(Records.gradient("m", 0, "a", t + 1, t, 2, grads[t]), t);
            straight.processElement1(Records.gradient("m", 0, "b", t + 1, t, 1, grads[3 - t]), t);
        }

        var first = harness(null);
        first.processElement2(Records.create("m", spec), 0);
        for (int t = 0; t < 2; t++) {
            first.processElement1(Records.gradient("m", 0, "a", t + 1, t, 2, grads[t]), t);
            first.processElement1(Records.gradient("m", 0, "b", t + 1, t, 1, grads[3 - t]), t);
        }
        first.processElement1(Records.gradient("m", 0, "a", 3, 2, 2, grads[2]), 3); // pending across the snapshot
        OperatorSubtaskState snapshot = first.snapshot(1, 10);
        var restored = harness(snapshot);
        restored.processElement1(Records.gradient("m", 0, "b", 3, 2, 1, grads[1]), 3);
        restored.processElement1(Records.gradient("m", 0, "a", 4, 3, 2, grads[3]), 4);
        restored.processElement1(Records.gradient("m", 0, "b", 4, 3, 1, grads[0]), 4);
        restored.processElement1(Records.gradient("m", 0, "a", 2, 1, 2, grads[1]), 5); // a duplicate after restore

        List<ParameterUpdate> a = updates(straight);
        List<ParameterUpdate> b = updates(restored);
        assertThat(b.get(b.size() - 1).getVersion()).isEqualTo(4);
        assertThat(Records.values(b.get(b.size() - 1))).containsExactly(Records.values(a.get(a.size() - 1)));
        assertThat(rejected(restored)).extracting(RejectedRecord::getReason).containsExactly(RejectReason.DUPLICATE);
    }

    @Test
    void ruleBasedInitialValuesAreTheSharedDeterministicOnes() throws Exception {
        var h = harness(null);
        var spec = Records.spec("SGD", Map.of("lr", 0.1), 5, Records.sync(1), 7);
        spec.getInit().setRule(io.gradstream.schemas.InitRule.NORMAL);
        spec.getInit().setSeed(42L);
        spec.getInit().setStd(0.5);
        h.processElement2(Records.create("m", spec), 0);
        ParameterUpdate second = updates(h).get(1);
        assertThat(Records.values(second))
                .containsExactly(ShardInitializer.initialValues(
                        ShardInitializer.Rule.NORMAL, 42, 0.5, 0, new ShardKey("m", "w", 1), 2));
    }

    @Test
    void aScheduleThatEndedRejectsFurtherSteps() throws Exception {
        var h = harness(null);
        var spec = Records.spec("SGD", Map.of("lr", 0.1, "momentum", 0.9), 2, Records.async(10), 2);
        spec.setLrSchedule(io.gradstream.schemas.ScheduleSpec.newBuilder()
                .setName("OneCycleLR")
                .setHyperparameters(Map.of("max_lr", 0.5, "total_steps", 2.0))
                .build());
        h.processElement2(Records.create("m", spec), 0);
        for (int t = 0; t < 4; t++) {
            h.processElement1(Records.gradient("m", 0, "a", t + 1, t, 1, new float[] {1f, 1f}), t);
        }
        assertThat(updates(h).stream()
                        .mapToLong(ParameterUpdate::getVersion)
                        .max()
                        .orElse(-1))
                .isEqualTo(3);
        assertThat(rejected(h)).extracting(RejectedRecord::getReason).containsExactly(RejectReason.OTHER);
        assertThat(rejected(h).get(0).getDetail()).contains("no step 4").contains("total_steps");
    }

    @Test
    void aRepeatedCreateIsIdempotentAndAConflictingOneRefused() throws Exception {
        var h = harness(null);
        var spec = Records.spec("SGD", Map.of("lr", 0.1), 2, Records.sync(1), 2);
        h.processElement2(Records.create("m", spec), 0);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, 1f}), 1);
        h.processElement2(Records.create("m", spec), 2);
        h.processElement2(Records.create("m", Records.spec("Adam", Map.of(), 2, Records.sync(1), 2)), 3);
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 1L);
        assertThat(rejected(h)).extracting(RejectedRecord::getReason).containsExactly(RejectReason.INVALID_COMMAND);
        assertThat(rejected(h).get(0).getDetail()).contains("exists with another spec");
    }

    private static final String SECRET = "operator-test-secret-0123456789abcdef";

    private static PrivacySpec.Builder privacy(Path seedFile) {
        return PrivacySpec.newBuilder()
                .setClipNorm(1.0)
                .setNoiseMultiplier(1.2)
                .setDelta(1e-5)
                .setExpectedPerStep(2.0)
                .setPopulationSize(1000L)
                .setSeedFile(seedFile.toString());
    }

    private static Path seed(Path dir) throws Exception {
        return Files.writeString(dir.resolve("dp-seed"), SECRET + "\n");
    }

    private static List<StatusEvent> status(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        List<StatusEvent> out = new ArrayList<>();
        var side = h.getSideOutput(ShardOptimizerOperator.STATUS);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    private static float[] grad(int step, int shard, String worker, int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) Math.sin(step * 7 + shard * 3 + i + worker.hashCode()) * (1 + step % 3);
        }
        return g;
    }

    private static void feed(
            KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> h,
            int fromStep,
            int toStep,
            String... workers)
            throws Exception {
        for (int t = fromStep; t <= toStep; t++) {
            for (String w : workers) {
                h.processElement1(Records.gradient("m", 0, w, t, t - 1, 5, grad(t, 0, w, 4)), t);
                h.processElement1(Records.gradient("m", 1, w, t, t - 1, 5, grad(t, 1, w, 2)), t);
            }
        }
    }

    @Test
    void privateStepsCarryEpsilonAndReplayIdenticallyAfterARestore(@TempDir Path dir) throws Exception {
        ModelSpec spec = ModelSpec.newBuilder(Records.spec("SGD", Map.of("lr", 0.5), 4, Records.sync(2), 6))
                .setPrivacy(privacy(seed(dir)).build())
                .build();
        var straight = harness(null);
        RawRecord create = Records.create("m", spec); // one CREATE: its position keys the noise
        straight.processElement2(create, 0);
        feed(straight, 1, 6, "a", "b");
        List<ParameterUpdate> expected = updates(straight);
        assertThat(expected).hasSize(2 + 12);
        for (ParameterUpdate u : expected) {
            double eps = u.getVersion() == 0
                    ? 0
                    : RdpAccountant.epsilon(1.2, 0.002, u.getVersion(), 1e-5, RdpAccountant.Conversion.OPACUS)
                            .epsilon();
            assertThat(u.getEpsilonSpent()).as("version %d", u.getVersion()).isEqualTo(eps);
        }
        assertThat(rejected(straight)).isEmpty();

        var first = harness(null);
        first.processElement2(create, 0);
        feed(first, 1, 3, "a", "b");
        first.processElement1(Records.gradient("m", 0, "a", 4, 3, 5, grad(4, 0, "a", 4)), 4); // pending
        OperatorSubtaskState snapshot = first.snapshot(1, 10);
        var restored = harness(snapshot);
        restored.processElement1(Records.gradient("m", 0, "b", 4, 3, 5, grad(4, 0, "b", 4)), 4);
        restored.processElement1(Records.gradient("m", 1, "a", 4, 3, 5, grad(4, 1, "a", 2)), 4);
        restored.processElement1(Records.gradient("m", 1, "b", 4, 3, 5, grad(4, 1, "b", 2)), 4);
        feed(restored, 5, 6, "a", "b");
        List<ParameterUpdate> replayed = new ArrayList<>(updates(first));
        replayed.addAll(updates(restored));
        // Same noise after the restore (keyed by seed, shard and version), same ledger, same bits.
        assertThat(replayed).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(Records.values(replayed.get(i))).containsExactly(Records.values(expected.get(i)));
            assertThat(replayed.get(i).getEpsilonSpent())
                    .isEqualTo(expected.get(i).getEpsilonSpent());
        }
        // Noise was added: the parameters differ from the same steps without privacy.
        var plain = harness(null);
        plain.processElement2(Records.create("m", Records.spec("SGD", Map.of("lr", 0.5), 4, Records.sync(2), 6)), 0);
        feed(plain, 1, 1, "a", "b");
        assertThat(Records.values(updates(plain).get(2))).isNotEqualTo(Records.values(expected.get(2)));
        assertThat(updates(plain).get(2).getEpsilonSpent()).isNull();
    }

    @Test
    void theBudgetStopsStepsRejectsFurtherGradientsAndIsAnnouncedOnce(@TempDir Path dir) throws Exception {
        double target = RdpAccountant.epsilon(1.2, 0.002, 3, 1e-5, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        ModelSpec spec = ModelSpec.newBuilder(Records.spec("SGD", Map.of("lr", 0.5), 4, Records.sync(1), 6))
                .setPrivacy(privacy(seed(dir)).setTargetEpsilon(target).build())
                .build();
        var h = harness(null);
        h.processElement2(Records.create("m", spec), 0);
        feed(h, 1, 4, "a");
        // A worker that keeps going sends gradients on the last version it saw.
        h.processElement1(Records.gradient("m", 0, "a", 5, 3, 5, grad(5, 0, "a", 4)), 5);
        h.processElement1(Records.gradient("m", 1, "a", 5, 3, 5, grad(5, 1, "a", 2)), 5);
        assertThat(updates(h)).extracting(ParameterUpdate::getVersion).containsExactly(0L, 0L, 1L, 1L, 2L, 2L, 3L, 3L);
        assertThat(updates(h).get(7).getEpsilonSpent()).isEqualTo(target);
        assertThat(rejected(h)).hasSize(4).allSatisfy(r -> {
            assertThat(r.getReason()).isEqualTo(RejectReason.BUDGET_EXHAUSTED);
            assertThat(r.getDetail()).contains("has spent epsilon " + target);
        });
        List<StatusEvent> events = status(h);
        assertThat(events).hasSize(1);
        assertThat(events.get(0).getType()).isEqualTo(StatusType.BUDGET_EXHAUSTED);
        assertThat(events.get(0).getVersion()).isEqualTo(3);
        assertThat(events.get(0).getEpsilonSpent()).isEqualTo(target);
    }

    @Test
    void invalidPrivacySettingsAreRefusedWithTheReasonAndNeverShowTheSecret(@TempDir Path dir) throws Exception {
        Path seedFile = seed(dir);
        ModelSpec base = Records.spec("SGD", Map.of("lr", 0.5), 4, Records.sync(1), 6);
        var h = harness(null);
        h.processElement2(
                Records.create(
                        "a",
                        ModelSpec.newBuilder(base)
                                .setPrivacy(privacy(seedFile).setDelta(1e-3).build())
                                .build()),
                0);
        h.processElement2(
                Records.create(
                        "b",
                        ModelSpec.newBuilder(base)
                                .setAggregation(Records.async(1))
                                .setPrivacy(privacy(seedFile).build())
                                .build()),
                0);
        h.processElement2(
                Records.create(
                        "c",
                        ModelSpec.newBuilder(base)
                                .setPrivacy(privacy(dir.resolve("missing")).build())
                                .build()),
                0);
        h.processElement2(
                Records.create(
                        "d",
                        ModelSpec.newBuilder(base)
                                .setPrivacy(privacy(seedFile).setSampleRate(0.5).build())
                                .build()),
                0);
        h.processElement2(
                Records.create(
                        "e",
                        ModelSpec.newBuilder(base)
                                .setPrivacy(privacy(seedFile).setClipNorm(0).build())
                                .build()),
                0);
        List<RejectedRecord> r = rejected(h);
        assertThat(r)
                .extracting(RejectedRecord::getReason)
                .containsOnly(RejectReason.INVALID_COMMAND)
                .hasSize(5);
        assertThat(r.get(0).getDetail()).contains("privacy: delta 0.001 must be < 1/populationSize");
        assertThat(r.get(1).getDetail()).contains("privacy needs SYNC aggregation");
        assertThat(r.get(2).getDetail()).contains("seedFile " + dir.resolve("missing") + " cannot be read");
        assertThat(r.get(3).getDetail()).contains("inconsistent sampling");
        assertThat(r.get(4).getDetail()).contains("clipNorm must be finite and > 0");
        assertThat(r).allSatisfy(x -> assertThat(x.getDetail()).doesNotContain(SECRET));
        assertThat(updates(h)).isEmpty();
    }
}
