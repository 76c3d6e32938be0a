package io.gradstream.core.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.privacy.GaussianMechanism;
import io.gradstream.core.privacy.NoiseGenerator;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.RdpAccountant;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DP-SGD steps of {@link ShardStepper}: clipping, bound checks, noise, fixed divisor, ledger and budget. */
class PrivateShardStepperTest {
    private static final byte[] SEED = "private-stepper-test-seed-42".getBytes(StandardCharsets.UTF_8);
    private static final Optimizer ADAM = Optimizers.create("Adam", Map.of("lr", 0.01));
    /** lr 1, no momentum: params after the step = params - privatized gradient, so the step is observable. */
    private static final Optimizer PLAIN = Optimizers.create("SGD", Map.of("lr", 1.0));

    private static final long[] SHARD_SIZES = {4, 4, 2};
    private static final double CLIP = 1.5;
    private static final double[] THRESHOLDS = Clipping.shardThresholds(CLIP, SHARD_SIZES);

    private static PrivacyPolicy.Builder policy() {
        return PrivacyPolicy.builder()
                .clipNorm(CLIP)
                .noiseMultiplier(1.0)
                .delta(1e-5)
                .expectedPerStep(3)
                .populationSize(1000);
    }

    private static ShardPrivacy dp(PrivacyPolicy p, int shard) {
        return new ShardPrivacy(
                p,
                new GaussianMechanism(new NoiseGenerator(SEED), p.noiseMultiplier()),
                THRESHOLDS[shard],
                new ShardKey("m", "w", shard),
                new ShardPrivacy.ClipCounter());
    }

    private static Contribution c(String worker, long step, long n, float... g) {
        return new Contribution(worker, step, 0, n, g, Double.NaN, 0);
    }

    @Test
    void contributionsAreClippedSummedNoisedAndDividedByTheExpectedCount() {
        PrivacyPolicy p = policy().build();
        ShardPrivacy dp = dp(p, 0);
        ShardState s = ShardState.initial(new float[] {1f, -2f, 0.5f, 0f});
        float[] g1 = {3f, 4f, 0f, 0f}; // norm 5, far above C_0
        float[] g2 = {0.1f, 0.1f, 0.1f, 0.1f}; // within C_0
        AggregationPolicy sync = AggregationPolicy.sync(2);
        assertThat(ShardStepper.offer(s, c("a", 1, 32, g1.clone()), sync, ADAM, dp))
                .isInstanceOf(ShardStepper.Accepted.class);
        ShardStepper.Outcome o = ShardStepper.offer(s, c("b", 1, 7, g2.clone()), sync, ADAM, dp);
        ShardStepper.StepResult r = ((ShardStepper.Applied) o).step();

        float[] sum = g1.clone();
        Clipping.clipInPlace(sum, THRESHOLDS[0]);
        assertThat(Clipping.norm(sum)).isLessThanOrEqualTo(THRESHOLDS[0]);
        for (int i = 0; i < sum.length; i++) {
            sum[i] = sum[i] + g2[i]; // unweighted: numExamples 32 and 7 play no part
        }
        new GaussianMechanism(new NoiseGenerator(SEED), 1.0).privatize(sum, CLIP, 3, "m", "w", 0, 0);
        float[] expected = {1f, -2f, 0.5f, 0f};
        ADAM.step(expected, sum, new OptimizerState());
        assertThat(s.params()).containsExactly(expected);
        assertThat(dp.clips().seen()).isEqualTo(2);
        assertThat(dp.clips().clipped()).isEqualTo(1);
        assertThat(s.ledger().steps()).isEqualTo(1);
        assertThat(r.epsilon())
                .isEqualTo(RdpAccountant.epsilon(1.0, 0.003, 1, 1e-5, RdpAccountant.Conversion.OPACUS)
                        .epsilon());
        assertThat(r.budgetExhausted()).isFalse();
    }

    @Test
    void addingOrRemovingOneContributionMovesThePreNoiseSumByAtMostTheClipNorm() {
        // Same seed, shard and version: the noise is identical in both runs, so with SGD(lr=1) the difference of the
        // two results is the difference of the clipped sums divided by the expected count (plus float rounding).
        PrivacyPolicy p = policy().build();
        SplittableRandom rnd = new SplittableRandom(7);
        double worst = 0;
        for (int trial = 0; trial < 200; trial++) {
            double sq = 0;
            float scale = (float) Math.pow(10, rnd.nextInt(-3, 4));
            float[][] others = new float[3][];
            float[][] extra = new float[3][];
            for (int shard = 0; shard < 3; shard++) {
                int n = (int) SHARD_SIZES[shard];
                others[shard] = randomVector(rnd, n, scale);
                extra[shard] = randomVector(rnd, n, trial % 3 == shard ? 1000 * scale : scale);
                float[] with = run(p, shard, others[shard], extra[shard]);
                float[] without = run(p, shard, others[shard], null);
                for (int i = 0; i < n; i++) {
                    double d = ((double) with[i] - without[i]) * p.expectedPerStep();
                    sq += d * d;
                }
            }
            worst = Math.max(worst, Math.sqrt(sq) / CLIP);
        }
        assertThat(worst).isLessThanOrEqualTo(1 + 1e-4).isGreaterThan(0.5);
    }

    private static float[] run(PrivacyPolicy p, int shard, float[] other, float[] extra) {
        ShardState s = ShardState.initial(new float[other.length]);
        AggregationPolicy sync = AggregationPolicy.sync(extra == null ? 1 : 2);
        ShardPrivacy dp = dp(p, shard);
        ShardStepper.offer(s, c("o", 1, 1, other.clone()), sync, PLAIN, dp);
        if (extra != null) {
            ShardStepper.offer(s, c("x", 1, 1, extra.clone()), sync, PLAIN, dp);
        }
        assertThat(s.version()).isEqualTo(1);
        return s.params();
    }

    private static float[] randomVector(SplittableRandom rnd, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * scale);
        }
        return v;
    }

    @Test
    void exampleUnitChecksTheBoundAndAcceptsAParticipantWithoutExamples() {
        PrivacyPolicy p = policy().unit(PrivacyPolicy.Unit.EXAMPLE).build();
        ShardPrivacy dp = dp(p, 2);
        ShardState s = ShardState.initial(new float[2]);
        AggregationPolicy sync = AggregationPolicy.sync(2);
        float c2 = (float) THRESHOLDS[2];
        ShardStepper.Outcome tooLarge = ShardStepper.offer(s, c("a", 1, 2, 2.5f * c2, 0f), sync, PLAIN, dp);
        assertThat(tooLarge).isInstanceOf(ShardStepper.Rejected.class);
        assertThat(((ShardStepper.Rejected) tooLarge).code()).isEqualTo(RejectCode.NORM_TOO_LARGE);
        assertThat(s.workerWatermarks()).isEmpty();
        float[] ok = {1.5f * c2, 0.5f * c2}; // norm 1.58 C_2 <= 2 C_2
        assertThat(ShardStepper.offer(s, c("a", 2, 2, ok.clone()), sync, PLAIN, dp))
                .isInstanceOf(ShardStepper.Accepted.class);
        ShardStepper.Outcome o = ShardStepper.offer(s, c("b", 1, 0, 0f, 0f), sync, PLAIN, dp);
        assertThat(o).isInstanceOf(ShardStepper.Applied.class);
        // Not clipped: the worker's sum goes into the step as sent.
        float[] expected = ok.clone();
        new GaussianMechanism(new NoiseGenerator(SEED), 1.0).privatize(expected, CLIP, 3, "m", "w", 2, 0);
        assertThat(s.params()).containsExactly(-expected[0], -expected[1]);
        ShardStepper.Outcome nonZero = ShardStepper.offer(
                s, new Contribution("b", 2, 1, 0, new float[] {1e-3f, 0f}, Double.NaN, 0), sync, PLAIN, dp);
        assertThat(((ShardStepper.Rejected) nonZero).code()).isEqualTo(RejectCode.NORM_TOO_LARGE);
    }

    @Test
    void stepsStopAtTheBudgetAndTheLedgerAccountsForEveryAppliedStep() {
        PrivacyPolicy p = policy().noiseMultiplier(1.5)
                .expectedPerStep(10)
                .targetEpsilon(1.0)
                .build();
        ShardPrivacy dp = dp(p, 1);
        ShardState s = ShardState.initial(new float[4]);
        AggregationPolicy sync = AggregationPolicy.sync(1);
        ShardStepper.StepResult last = null;
        int applied = 0;
        for (int step = 1; step <= 5000; step++) {
            ShardStepper.Outcome o = ShardStepper.offer(
                    s,
                    new Contribution("a", step, s.version(), 1, new float[] {0.1f, 0f, 0f, 0f}, Double.NaN, 0),
                    sync,
                    PLAIN,
                    dp);
            if (o instanceof ShardStepper.Rejected r) {
                assertThat(r.code()).isEqualTo(RejectCode.BUDGET_EXHAUSTED);
                assertThat(r.detail()).contains("of its target 1.0");
                break;
            }
            last = ((ShardStepper.Applied) o).step();
            applied++;
        }
        long allowed = 0;
        while (RdpAccountant.epsilon(1.5, 0.01, allowed + 1, 1e-5, RdpAccountant.Conversion.OPACUS)
                        .epsilon()
                <= 1.0) {
            allowed++;
        }
        assertThat(applied).isEqualTo(allowed).isLessThan(5000);
        assertThat(last.budgetExhausted()).isTrue();
        assertThat(last.epsilon())
                .isEqualTo(RdpAccountant.epsilon(1.5, 0.01, allowed, 1e-5, RdpAccountant.Conversion.OPACUS)
                        .epsilon())
                .isLessThanOrEqualTo(1.0);
        assertThat(s.ledger().steps()).isEqualTo(allowed);
        assertThat(s.version()).isEqualTo(allowed);
    }
}
