package io.gradstream.core.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShardStepperTest {
    private static final Optimizer ADAM = Optimizers.create("Adam", Map.of("lr", 0.01));

    private static Contribution c(String worker, long step, long base, long n, float... g) {
        return new Contribution(worker, step, base, n, g, Double.NaN, 0);
    }

    private static ShardState shard() {
        return ShardState.initial(new float[] {1f, -2f, 0.5f});
    }

    @Test
    void syncAppliesTheExampleWeightedMeanOnceAllWorkersContributed() {
        ShardState s = shard();
        AggregationPolicy sync = AggregationPolicy.sync(3);
        float[] g1 = {0.1f, 0.2f, 0.3f};
        float[] g2 = {-0.7f, 0.05f, 1.1f};
        float[] g3 = {0.33f, -0.4f, 0.9f};
        assertThat(ShardStepper.offer(s, c("a", 1, 0, 3, g1), sync, ADAM)).isEqualTo(new ShardStepper.Accepted(1, 3));
        assertThat(ShardStepper.offer(s, c("b", 1, 0, 5, g2), sync, ADAM)).isEqualTo(new ShardStepper.Accepted(2, 3));
        ShardStepper.Outcome o = ShardStepper.offer(s, c("c", 7, 0, 2, g3), sync, ADAM);
        assertThat(o).isInstanceOf(ShardStepper.Applied.class);
        ShardStepper.StepResult r = ((ShardStepper.Applied) o).step();
        assertThat(r.version()).isEqualTo(1);
        assertThat(r.contributions()).isEqualTo(3);
        assertThat(r.examples()).isEqualTo(10);

        // The same kernel applied locally to Σ fl32(n·g) / N, summed in arrival order.
        float[] mean = new float[3];
        for (int i = 0; i < 3; i++) {
            float sum = 3f * g1[i];
            sum = sum + 5f * g2[i];
            sum = sum + 2f * g3[i];
            mean[i] = sum / 10f;
        }
        float[] expected = {1f, -2f, 0.5f};
        ADAM.step(expected, mean, new OptimizerState());
        assertThat(s.params()).containsExactly(expected);
        assertThat(s.version()).isEqualTo(1);
        assertThat(s.pending().isEmpty()).isTrue();
        assertThat(s.workerWatermarks()).containsEntry("c", 7L);
    }

    @Test
    void aOneContributionStepUsesTheGradientAsItIs() {
        ShardState s = shard();
        float[] g = {0.1f, 0.2f, 0.3f};
        ShardStepper.offer(s, c("a", 1, 0, 3, g), AggregationPolicy.sync(1), ADAM);
        float[] expected = {1f, -2f, 0.5f};
        ADAM.step(expected, g.clone(), new OptimizerState());
        assertThat(s.params()).containsExactly(expected);
    }

    @Test
    void invalidContributionsAreRejectedWithTheirReasonAndChangeNothing() {
        ShardState s = shard();
        AggregationPolicy sync = AggregationPolicy.sync(2);
        ShardStepper.offer(s, c("a", 5, 0, 1, 1f, 1f, 1f), sync, ADAM);
        assertReject(s, c("x", 1, 0, 1, 1f, 1f), sync, RejectCode.WRONG_ELEMENT_COUNT, "2 elements");
        assertReject(s, c("x", 1, 0, 0, 1f, 1f, 1f), sync, RejectCode.INVALID_EXAMPLE_COUNT, "got 0");
        assertReject(s, c("x", 1, 0, 1, 1f, Float.NaN, 1f), sync, RejectCode.NON_FINITE, "element 1 is NaN");
        assertReject(s, c("x", 1, 0, 1, 1f, Float.POSITIVE_INFINITY, 1f), sync, RejectCode.NON_FINITE, "Infinity");
        assertReject(s, c("a", 5, 0, 1, 1f, 1f, 1f), sync, RejectCode.DUPLICATE, "not after its last accepted step 5");
        assertReject(s, c("a", 6, 0, 1, 1f, 1f, 1f), sync, RejectCode.DUPLICATE, "already contributed to version 0");
        assertReject(s, c("x", 1, 3, 1, 1f, 1f, 1f), sync, RejectCode.FUTURE_VERSION, "ahead");
        assertThat(s.pending().count()).isEqualTo(1);
        assertThat(s.workerWatermarks()).containsOnlyKeys("a");
        ShardStepper.offer(s, c("b", 1, 0, 1, 1f, 1f, 1f), sync, ADAM);
        assertThat(s.version()).isEqualTo(1);
        assertReject(s, c("c", 1, 0, 1, 1f, 1f, 1f), sync, RejectCode.STALE, "computed on 0");
    }

    private static void assertReject(
            ShardState s, Contribution c, AggregationPolicy p, RejectCode code, String detail) {
        float[] before = s.params().clone();
        long version = s.version();
        ShardStepper.Outcome o = ShardStepper.offer(s, c, p, ADAM);
        assertThat(o).isInstanceOf(ShardStepper.Rejected.class);
        assertThat(((ShardStepper.Rejected) o).code()).isEqualTo(code);
        assertThat(((ShardStepper.Rejected) o).detail()).contains(detail);
        assertThat(s.params()).containsExactly(before);
        assertThat(s.version()).isEqualTo(version);
    }

    @Test
    void asyncAppliesEveryContributionWithinTheStalenessBound() {
        ShardState s = shard();
        AggregationPolicy async = AggregationPolicy.async(1);
        assertThat(ShardStepper.offer(s, c("a", 1, 0, 1, 1f, 1f, 1f), async, ADAM))
                .isInstanceOf(ShardStepper.Applied.class);
        assertThat(ShardStepper.offer(s, c("b", 1, 0, 1, 1f, 1f, 1f), async, ADAM))
                .isInstanceOf(ShardStepper.Applied.class);
        assertThat(s.version()).isEqualTo(2);
        ShardStepper.Outcome stale = ShardStepper.offer(s, c("c", 1, 0, 1, 1f, 1f, 1f), async, ADAM);
        assertThat(((ShardStepper.Rejected) stale).code()).isEqualTo(RejectCode.STALE);
        assertThat(((ShardStepper.Rejected) stale).detail()).contains("staleness 2 exceeds maxStaleness 1");
    }

    @Test
    void flushAppliesAPartialStepAndReportsTheMeanLoss() {
        ShardState s = shard();
        AggregationPolicy sync = AggregationPolicy.sync(3);
        assertThat(ShardStepper.flush(s, ADAM)).isNull();
        ShardStepper.offer(s, new Contribution("a", 1, 0, 1, new float[] {1f, 1f, 1f}, 2.0, 100), sync, ADAM);
        ShardStepper.offer(s, new Contribution("b", 1, 0, 3, new float[] {1f, 1f, 1f}, 4.0, 250), sync, ADAM);
        ShardStepper.StepResult r = ShardStepper.flush(s, ADAM);
        assertThat(r.contributions()).isEqualTo(2);
        assertThat(r.meanLoss()).isEqualTo(3.5);
        assertThat(r.latestPublishedAtMs()).isEqualTo(250);
        assertThat(s.version()).isEqualTo(1);
        assertThat(s.pending().isEmpty()).isTrue();
    }

    @Test
    void policiesAreValidated() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AggregationPolicy.sync(0))
                .hasMessageContaining("workers");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AggregationPolicy.async(-1))
                .hasMessageContaining("maxStaleness");
    }
}
