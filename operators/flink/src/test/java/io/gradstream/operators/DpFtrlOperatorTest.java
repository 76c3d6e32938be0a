package io.gradstream.operators;

import static io.gradstream.operators.HarnessOutputs.rejected;
import static io.gradstream.operators.HarnessOutputs.shard;
import static io.gradstream.operators.HarnessOutputs.status;
import static io.gradstream.operators.HarnessOutputs.updates;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.privacy.ftrl.TreeLedger;
import io.gradstream.core.shard.ShardState;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DP-FTRL model (Kairouz et al. 2021, arXiv:2103.00039) through the operator: epsilon of the tree accountant in every
 * update, a restore in the middle of a tree continues bit-identically, and the budget stops the step that would exceed
 * it.
 */
class DpFtrlOperatorTest {
    private static final double SIGMA = 1.3;
    private static final double DELTA = 1e-5;
    private static final long PER_TREE = 3;

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

    private static RawRecord create(Path dir, Double target) throws Exception {
        Path seed = Files.writeString(dir.resolve("dp-seed"), "ftrl-operator-test-secret-0123456789\n");
        ModelSpec spec = ModelSpec.newBuilder(
                        Records.spec("SGD", Map.of("lr", 0.5, "momentum", 0.9), 4, Records.sync(1), 6))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(1.0)
                        .setNoiseMultiplier(SIGMA)
                        .setDelta(DELTA)
                        .setExpectedPerStep(2.0)
                        .setPopulationSize(40L)
                        .setTargetEpsilon(target)
                        .setSeedFile(seed.toString())
                        .build())
                .build();
        return Records.command(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .setPrivacyAccounting(PrivacyAccountingSpec.newBuilder()
                        .setMechanism(PrivacyMechanism.DP_FTRL)
                        .setStepsPerRestart(PER_TREE)
                        .build())
                .build());
    }

    private static void feed(
            KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> h, int from, int to)
            throws Exception {
        for (int t = from; t <= to; t++) {
            for (int shard = 0; shard < 2; shard++) {
                float[] g = new float[shard == 0 ? 4 : 2];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) (2 * Math.sin(t * 7 + shard * 3 + i));
                }
                h.processElement1(Records.gradient("m", shard, "a", t, t - 1, 5, g), t);
            }
        }
    }

    /** Epsilon of the tree accountant after {@code steps} steps, trees of {@link #PER_TREE}. */
    private static double epsilon(long steps) {
        TreeLedger l = TreeLedger.EMPTY;
        for (long t = 1; t <= steps; t++) {
            l = (t > 1 && (t - 1) % PER_TREE == 0 ? l.plusRestart() : l).plusStep(SIGMA);
        }
        return l.epsilon(DELTA);
    }

    private static String describe(ParameterUpdate u) {
        ByteBuffer b = u.getPayload().getData().duplicate();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return u.getTensor() + "/" + u.getShard() + "@" + u.getVersion() + " eps=" + u.getEpsilonSpent() + " "
                + java.util.HexFormat.of().formatHex(bytes);
    }

    @Test
    void aRestoreInTheMiddleOfATreeContinuesBitIdenticallyWithTheTreeEpsilon(@TempDir Path dir) throws Exception {
        RawRecord create = create(dir, null);
        var straight = harness(null);
        straight.processElement2(create, 0);
        feed(straight, 1, 8);

        var first = harness(null);
        first.processElement2(create, 0);
        feed(first, 1, 5); // tree 1 (steps 4-6) is half done
        assertThat(shard(first, "m/w/0").ftrl().stepInTree()).isEqualTo(2);
        var restored = harness(first.snapshot(1, 10));
        feed(restored, 6, 8);

        List<ParameterUpdate> all = new ArrayList<>(updates(first));
        all.addAll(updates(restored));
        List<ParameterUpdate> expected = updates(straight);
        assertThat(rejected(straight)).isEmpty();
        assertThat(rejected(restored)).isEmpty();
        assertThat(expected).hasSize(18); // version 0 and 8 steps of 2 shards
        assertThat(all.stream().map(DpFtrlOperatorTest::describe).toList())
                .containsExactlyElementsOf(
                        expected.stream().map(DpFtrlOperatorTest::describe).toList());
        for (ParameterUpdate u : expected) {
            assertThat(u.getEpsilonSpent()).as("version %d", u.getVersion()).isEqualTo(epsilon(u.getVersion()));
        }
        // The parameters moved, and noise made the two shards' steps differ from plain SGD's.
        assertThat(expected.get(2).getPayload()).isNotEqualTo(expected.get(16).getPayload());
        ShardState s = shard(restored, "m/w/1");
        assertThat(s.treeLedger().steps()).isEqualTo(8);
        assertThat(s.ftrl().treeIndex()).isEqualTo(2);
        assertThat(s.ledger().steps()).as("no DP-SGD step recorded").isZero();
    }

    @Test
    void theBudgetStopsTheStepThatWouldExceedItAndSaysSoOnce(@TempDir Path dir) throws Exception {
        double target = (epsilon(4) + epsilon(5)) / 2;
        var h = harness(null);
        h.processElement2(create(dir, target), 0);
        feed(h, 1, 5);
        List<ParameterUpdate> u = updates(h);
        assertThat(u).hasSize(10); // version 0 and 4 steps of 2 shards
        assertThat(u.get(u.size() - 1).getVersion()).isEqualTo(4);
        assertThat(u).allSatisfy(x -> assertThat(x.getEpsilonSpent()).isLessThanOrEqualTo(target));
        assertThat(rejected(h))
                .hasSize(2)
                .allSatisfy(r -> assertThat(r.getReason()).isEqualTo(RejectReason.BUDGET_EXHAUSTED));
        List<StatusEvent> events = status(h);
        assertThat(events)
                .filteredOn(e -> e.getType() == StatusType.BUDGET_EXHAUSTED)
                .hasSize(1);
        assertThat(shard(h, "m/w/0").version()).isEqualTo(4);
    }

    /** A DP-FTRL model assumes no sampling: a count off its divisor is announced as what it is, not as a broken epsilon. */
    @Test
    void aCountOffTheDivisorIsAnnouncedAsBatchDriftNotAsBrokenSampling(@TempDir Path dir) throws Exception {
        // One contribution per step against 2 expected: outside a band of factor 1.5.
        var h = BatchedStepsTest.harness(
                new ShardOptimizerOperator(1_000, 100, BackendSettings.cpu(), io.gradstream.model.Limits.DEFAULT)
                        .driftFactor(1.5),
                1,
                0,
                null);
        open.add(h);
        h.processElement2(create(dir, null), 0);
        feed(h, 1, 2);
        assertThat(rejected(h)).isEmpty();
        List<StatusEvent> events = status(h);
        assertThat(events).extracting(StatusEvent::getVersion).containsExactly(1L);
        assertThat(events.get(0).getDetail())
                .startsWith("batch drift: a step had 1 contributions where the model divides by 2")
                .contains("DP-FTRL's epsilon does not assume sampling")
                .doesNotContain("Poisson");
    }
}
