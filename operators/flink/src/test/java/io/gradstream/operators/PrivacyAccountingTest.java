package io.gradstream.operators;

import static io.gradstream.operators.HarnessOutputs.rejected;
import static io.gradstream.operators.HarnessOutputs.shard;
import static io.gradstream.operators.HarnessOutputs.status;
import static io.gradstream.operators.HarnessOutputs.updates;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.prv.PrvAccountant;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
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
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A private model's accountant through the operator: epsilon in every update and the budget stop follow the CREATE's
 * privacyAccounting (PRV by default when given, RDP for a CREATE without it), the ledger in keyed state records it
 * and a restore continues it.
 */
class PrivacyAccountingTest {
    private static final double SIGMA = 1.5;
    /** expectedPerStep 2 of a population of 40. */
    private static final double Q = 0.05;

    private static final double DELTA = 1e-5;

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

    private static ModelSpec spec(Path dir, Double target) throws Exception {
        Path seed = Files.writeString(dir.resolve("dp-seed"), "accounting-test-secret-0123456789abcdef\n");
        return ModelSpec.newBuilder(Records.spec("SGD", Map.of("lr", 0.5), 4, Records.sync(1), 6))
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
    }

    private static RawRecord create(ModelSpec spec, PrivacyAccountingSpec accounting) {
        return Records.command(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .setPrivacyAccounting(accounting)
                .build());
    }

    private static PrivacyAccountingSpec prv() {
        return PrivacyAccountingSpec.newBuilder().build(); // the accountant left out: PRV
    }

    private static void feed(
            KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> h, int from, int to)
            throws Exception {
        for (int t = from; t <= to; t++) {
            for (int shard = 0; shard < 2; shard++) {
                float[] g = new float[shard == 0 ? 4 : 2];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) Math.sin(t * 7 + shard * 3 + i);
                }
                h.processElement1(Records.gradient("m", shard, "a", t, t - 1, 5, g), t);
            }
        }
    }

    @Test
    void epsilonUnderPrvIsPrvsUpperBoundBelowRdpsAndAOldCreateKeepsRdp(@TempDir Path dir) throws Exception {
        ModelSpec spec = spec(dir, null);
        var underPrv = harness(null);
        underPrv.processElement2(create(spec, prv()), 0);
        feed(underPrv, 1, 5);
        var underRdp = harness(null);
        underRdp.processElement2(create(spec, null), 0); // as every CREATE written before 0.4.0
        feed(underRdp, 1, 5);
        List<ParameterUpdate> prv = updates(underPrv);
        List<ParameterUpdate> rdp = updates(underRdp);
        assertThat(prv).hasSize(12).hasSameSizeAs(rdp);
        assertThat(rejected(underPrv)).isEmpty();
        for (int i = 2; i < prv.size(); i++) {
            long v = prv.get(i).getVersion();
            assertThat(prv.get(i).getEpsilonSpent())
                    .as("version %d", v)
                    .isEqualTo(PrvAccountant.epsilon(SIGMA, Q, v, DELTA))
                    .isLessThan(rdp.get(i).getEpsilonSpent());
            assertThat(rdp.get(i).getEpsilonSpent())
                    .isEqualTo(RdpAccountant.epsilon(SIGMA, Q, v, DELTA, RdpAccountant.Conversion.OPACUS)
                            .epsilon());
        }
        assertThat(shard(underPrv, "m/w/0").ledger().accountant()).isEqualTo(Accountant.PRV);
        assertThat(shard(underPrv, "m/w/0").ledger().steps()).isEqualTo(5);
        assertThat(shard(underRdp, "m/w/1").ledger().accountant()).isEqualTo(Accountant.RDP);
    }

    @Test
    void theBudgetStopsUnderPrvAfterMoreStepsThanRdpWouldAllowAndARestoreContinuesTheLedger(@TempDir Path dir)
            throws Exception {
        // A target that RDP reaches after 4 steps; PRV's upper bound stays below it for longer.
        double target = RdpAccountant.epsilon(SIGMA, Q, 4, DELTA, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        long allowed = 0;
        while (allowed < 40 && PrvAccountant.epsilon(SIGMA, Q, allowed + 1, DELTA) <= target) {
            allowed++;
        }
        assertThat(allowed).isBetween(5L, 39L);
        ModelSpec spec = spec(dir, target);
        RawRecord create = create(
                spec,
                PrivacyAccountingSpec.newBuilder()
                        .setAccountant(PrivacyAccountant.PRV)
                        .setMechanism(PrivacyMechanism.DP_SGD)
                        .build());
        var first = harness(null);
        first.processElement2(create, 0);
        feed(first, 1, 2);
        var restored = harness(first.snapshot(1, 10));
        feed(restored, 3, (int) allowed + 1);
        List<ParameterUpdate> all = new ArrayList<>(updates(first));
        all.addAll(updates(restored));
        assertThat(all.get(all.size() - 1).getVersion()).isEqualTo(allowed);
        assertThat(all).allSatisfy(u -> assertThat(u.getEpsilonSpent()).isLessThanOrEqualTo(target));
        assertThat(all.get(all.size() - 1).getEpsilonSpent())
                .isEqualTo(PrvAccountant.epsilon(SIGMA, Q, allowed, DELTA));
        assertThat(rejected(restored))
                .hasSize(2)
                .allSatisfy(r -> assertThat(r.getReason()).isEqualTo(RejectReason.BUDGET_EXHAUSTED));
        List<StatusEvent> events = status(restored);
        assertThat(events).hasSize(1);
        assertThat(events.get(0).getType()).isEqualTo(StatusType.BUDGET_EXHAUSTED);
        assertThat(events.get(0).getVersion()).isEqualTo(allowed);
        assertThat(shard(restored, "m/w/0").ledger().accountant()).isEqualTo(Accountant.PRV);
    }

    @Test
    void settingsThatDoNotFitTheModelAreRefused(@TempDir Path dir) throws Exception {
        ModelSpec spec = spec(dir, null);
        var h = harness(null);
        h.processElement2(
                create(
                        spec,
                        PrivacyAccountingSpec.newBuilder()
                                .setAccountant(PrivacyAccountant.TREE)
                                .build()),
                0);
        h.processElement2(
                create(
                        spec,
                        PrivacyAccountingSpec.newBuilder()
                                .setStepsPerRestart(10L)
                                .build()),
                0);
        h.processElement2(create(ModelSpec.newBuilder(spec).setPrivacy(null).build(), prv()), 0);
        h.processElement2(create(spec, prv()), 0);
        h.processElement2(create(spec, null), 0); // the same model with other settings
        h.processElement2(
                Records.command(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", 0.1))
                        .setPrivacyAccounting(prv())
                        .build()),
                0);
        List<RejectedRecord> r = rejected(h);
        assertThat(r).extracting(RejectedRecord::getReason).containsOnly(RejectReason.INVALID_COMMAND);
        assertThat(r)
                .extracting(RejectedRecord::getDetail)
                .satisfiesExactly(
                        d -> assertThat(d).contains("TREE accounts DP_FTRL"),
                        d -> assertThat(d).contains("stepsPerRestart applies to DP_FTRL only"),
                        d -> assertThat(d).contains("privacyAccounting applies to a private model"),
                        d -> assertThat(d).contains("exists with other privacyAccounting settings"),
                        d -> assertThat(d).contains("privacyAccounting is fixed by the model's CREATE"));
    }

    @Test
    void countsThatDriftFromTheAccountantsAssumptionAreAnnouncedOncePerCrossing(@TempDir Path dir) throws Exception {
        // Per-example privacy, 10 examples expected per step (q = 0.25 of 40); the workers send other counts.
        ModelSpec spec = ModelSpec.newBuilder(spec(dir, null))
                .setPrivacy(PrivacySpec.newBuilder(spec(dir, null).getPrivacy())
                        .setUnit(io.gradstream.schemas.PrivacyUnit.EXAMPLE)
                        .setExpectedPerStep(10.0)
                        .build())
                .build();
        var h = BatchedStepsTest.harness(
                new ShardOptimizerOperator(1_000, 100, BackendSettings.cpu(), io.gradstream.model.Limits.DEFAULT)
                        .driftFactor(2),
                1,
                0,
                null);
        open.add(h);
        h.processElement2(create(spec, prv()), 0);
        long[] examples = {10, 19, 25, 40, 12, 4, 3};
        for (int t = 1; t <= examples.length; t++) {
            for (int shard = 0; shard < 2; shard++) {
                float[] g = new float[shard == 0 ? 4 : 2];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) (0.1 * Math.sin(t + i));
                }
                h.processElement1(Records.gradient("m", shard, "a", t, t - 1, examples[t - 1], g), t);
            }
        }
        assertThat(rejected(h)).isEmpty();
        assertThat(updates(h)).hasSize(2 + 2 * examples.length);
        List<StatusEvent> events = status(h);
        // Out at 25 (> 2 x 10), back at 12, out again at 4 (< 10 / 2); nothing for 40 or 3, still outside.
        assertThat(events).extracting(StatusEvent::getVersion).containsExactly(3L, 5L, 6L);
        assertThat(events).allSatisfy(e -> assertThat(e.getType()).isEqualTo(StatusType.OTHER));
        assertThat(events.get(0).getDetail())
                .startsWith("sampling drift: a step had 25 examples where the accountant assumes 10")
                .contains("factor 2");
        assertThat(events.get(1).getDetail()).startsWith("sampling drift over: a step had 12 examples");
        assertThat(events.get(2).getDetail()).contains("had 4 examples");
        assertThat(events.get(0).getEpsilonSpent())
                .isEqualTo(updates(h).get(2 + 2 * 2).getEpsilonSpent());
    }

    @Test
    void theDriftFactorIsBounded() {
        var op = new ShardOptimizerOperator(1_000, 100, BackendSettings.cpu(), io.gradstream.model.Limits.DEFAULT);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> op.driftFactor(0.5))
                .hasMessageContaining("drift factor must be finite and > 1");
    }
}
