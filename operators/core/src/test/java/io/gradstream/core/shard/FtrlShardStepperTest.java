package io.gradstream.core.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.privacy.GaussianMechanism;
import io.gradstream.core.privacy.NoiseGenerator;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.ftrl.DpFtrl;
import io.gradstream.core.privacy.ftrl.FtrlConfig;
import io.gradstream.core.privacy.ftrl.FtrlShardState;
import io.gradstream.core.privacy.ftrl.KeyedNodeNoise;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import io.gradstream.core.privacy.ftrl.TreeVariant;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DP-FTRL steps of {@link ShardStepper}: the same bits as {@link DpFtrl} called directly, ledger, budget and undo. */
class FtrlShardStepperTest {
    private static final byte[] SEED = "ftrl-stepper-test-seed-7".getBytes(StandardCharsets.UTF_8);
    private static final Optimizer SGD = Optimizers.create("SGD", Map.of("lr", 0.25));
    private static final double CLIP = 1.5;
    private static final double THRESHOLD = 0.9;
    private static final double SIGMA = 1.1;
    private static final double DELTA = 1e-5;
    private static final long STEPS_PER_TREE = 3;

    private static PrivacyPolicy policy(double targetEpsilon) {
        PrivacyPolicy.Builder b = PrivacyPolicy.builder()
                .clipNorm(CLIP)
                .noiseMultiplier(SIGMA)
                .delta(DELTA)
                .expectedPerStep(2)
                .populationSize(1000);
        if (!Double.isNaN(targetEpsilon)) {
            b.targetEpsilon(targetEpsilon);
        }
        return b.build();
    }

    private static ShardPrivacy dp(PrivacyPolicy p, TreeVariant variant) {
        return new ShardPrivacy(
                p,
                new GaussianMechanism(new NoiseGenerator(SEED), SIGMA),
                THRESHOLD,
                new ShardKey("m", "w", 1),
                new ShardPrivacy.ClipCounter(),
                "control-0@12",
                new DpFtrl(FtrlConfig.plain(variant, STEPS_PER_TREE)));
    }

    private static Contribution c(String worker, long step, long base, float[] g) {
        return new Contribution(worker, step, base, 5, g, Double.NaN, 0);
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (rnd.nextGaussian() * (rnd.nextBoolean() ? 0.1 : 2));
        }
        return g;
    }

    @Test
    void stepsEqualDpFtrlCalledDirectlyOnTheClippedSumAcrossRestarts() {
        for (TreeVariant variant : TreeVariant.values()) {
            ShardPrivacy dp = dp(policy(Double.NaN), variant);
            float[] init = {0.5f, -1f, 2f, 0f, 0.25f};
            ShardState s = ShardState.initial(init.clone());
            float[] expected = init.clone();
            FtrlShardState ref = FtrlShardState.initial(init);
            DpFtrl direct = new DpFtrl(FtrlConfig.plain(variant, STEPS_PER_TREE));
            KeyedNodeNoise noise = new KeyedNodeNoise(new NoiseGenerator(SEED), "m/control-0@12", "w", 1);
            TreeLedger ledger = TreeLedger.EMPTY;
            AggregationPolicy sync = AggregationPolicy.sync(2);
            SplittableRandom rnd = new SplittableRandom(3);
            for (long step = 1; step <= 8; step++) {
                float[] a = random(rnd, init.length);
                float[] b = random(rnd, init.length);
                assertThat(ShardStepper.offer(s, c("a", step, step - 1, a.clone()), sync, SGD, dp))
                        .isInstanceOf(ShardStepper.Accepted.class);
                ShardStepper.Outcome o = ShardStepper.offer(s, c("b", step, step - 1, b.clone()), sync, SGD, dp);
                ShardStepper.StepResult r = ((ShardStepper.Applied) o).step();

                float[] sum = a.clone();
                Clipping.clipInPlace(sum, THRESHOLD);
                float[] cb = b.clone();
                Clipping.clipInPlace(cb, THRESHOLD);
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = sum[i] + cb[i];
                }
                boolean restarted = direct.step(ref, sum, 0.25, SIGMA * CLIP, 2, noise, expected);
                ledger = (restarted ? ledger.plusRestart() : ledger).plusStep(SIGMA);

                assertThat(s.params()).as("%s step %d", variant, step).containsExactly(expected);
                assertThat(s.ftrl()).isEqualTo(ref);
                assertThat(s.treeLedger()).isEqualTo(ledger);
                assertThat(r.version()).isEqualTo(step);
                assertThat(r.epsilon()).isEqualTo(ledger.epsilon(DELTA)).isGreaterThan(0);
                assertThat(s.ledger().steps()).as("DP-SGD's ledger stays empty").isZero();
            }
            assertThat(s.ftrl().treeIndex()).isEqualTo(2); // 8 steps, 3 per tree
            assertThat(s.treeLedger().completed()).hasSize(1);
            assertThat(s.treeLedger().completed().get(0).count()).isEqualTo(2);
        }
    }

    @Test
    void theBudgetStopsTheStepThatWouldExceedItAcrossATreeRestart() {
        // The target lies between the epsilon of 4 and 5 steps (tree of 3, then a second tree).
        TreeLedger l = TreeLedger.EMPTY;
        double[] eps = new double[6];
        for (int step = 1; step <= 5; step++) {
            l = (step == 4 ? l.plusRestart() : l).plusStep(SIGMA);
            eps[step] = l.epsilon(DELTA);
        }
        double target = (eps[4] + eps[5]) / 2;
        ShardPrivacy dp = dp(policy(target), TreeVariant.HONAKER);
        ShardState s = ShardState.initial(new float[3]);
        AggregationPolicy one = AggregationPolicy.sync(1);
        ShardStepper.StepResult last = null;
        for (long step = 1; step <= 4; step++) {
            last = ((ShardStepper.Applied)
                            ShardStepper.offer(s, c("a", step, step - 1, new float[] {1, 2, 3}), one, SGD, dp))
                    .step();
            assertThat(last.epsilon()).isEqualTo(eps[(int) step]);
        }
        assertThat(last.budgetExhausted()).isTrue();
        float[] before = s.params().clone();
        ShardStepper.Outcome refused = ShardStepper.offer(s, c("a", 5, 4, new float[] {1, 2, 3}), one, SGD, dp);
        assertThat(refused).isInstanceOf(ShardStepper.Rejected.class);
        assertThat(((ShardStepper.Rejected) refused).code()).isEqualTo(RejectCode.BUDGET_EXHAUSTED);
        assertThat(((ShardStepper.Rejected) refused).detail()).contains(String.valueOf(eps[5]));
        assertThat(s.params()).containsExactly(before);
        assertThat(s.version()).isEqualTo(4);
    }

    @Test
    void aNonFiniteResultRestoresParametersTreeStateAndLedger() {
        ShardPrivacy dp = dp(policy(Double.NaN), TreeVariant.HONAKER);
        ShardState s = ShardState.initial(new float[] {1f, 2f});
        AggregationPolicy one = AggregationPolicy.sync(1);
        Optimizer huge = Optimizers.create("SGD", Map.of("lr", 1e300));
        ShardStepper.offer(s, c("a", 1, 0, new float[] {0.1f, 0.2f}), one, SGD, dp);
        float[] params = s.params().clone();
        FtrlShardState tree = s.ftrl().copy();
        TreeLedger ledger = s.treeLedger();

        ShardStepper.Outcome o = ShardStepper.offer(s, c("a", 2, 1, new float[] {0.5f, 0.5f}), one, huge, dp);

        assertThat(o).isInstanceOf(ShardStepper.Rejected.class);
        assertThat(((ShardStepper.Rejected) o).code()).isEqualTo(RejectCode.NON_FINITE_RESULT);
        assertThat(s.params()).containsExactly(params);
        assertThat(s.ftrl()).isEqualTo(tree);
        assertThat(s.treeLedger()).isEqualTo(ledger);
        assertThat(s.version()).isEqualTo(1);
        // The next step continues as if the refused one never ran.
        ShardState twin = ShardState.initial(new float[] {1f, 2f});
        ShardStepper.offer(twin, c("a", 1, 0, new float[] {0.1f, 0.2f}), one, SGD, dp);
        ShardStepper.offer(s, c("a", 3, 1, new float[] {0.3f, -0.1f}), one, SGD, dp);
        ShardStepper.offer(twin, c("a", 3, 1, new float[] {0.3f, -0.1f}), one, SGD, dp);
        assertThat(s.params()).containsExactly(twin.params());
        assertThat(s.ftrl()).isEqualTo(twin.ftrl());
    }

    @Test
    void aRecreatedModelContinuesItsTreeLedgerInANewTree() {
        TreeLedger old = TreeLedger.EMPTY.plusStep(SIGMA).plusStep(SIGMA);
        ShardState s = ShardState.initial(new float[2], io.gradstream.core.privacy.PrivacyLedger.EMPTY, old);
        ShardPrivacy dp = dp(policy(Double.NaN), TreeVariant.PLAIN);
        ShardStepper.StepResult r = ((ShardStepper.Applied)
                        ShardStepper.offer(s, c("a", 1, 0, new float[] {1, 1}), AggregationPolicy.sync(1), SGD, dp))
                .step();
        assertThat(s.treeLedger()).isEqualTo(old.plusRestart().plusStep(SIGMA));
        assertThat(r.epsilon()).isGreaterThan(old.epsilon(DELTA));
    }
}
