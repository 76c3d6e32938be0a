package io.gradstream.core.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A step whose inputs are finite but whose result is not (the loop overflows) is refused and taken back: parameters,
 * optimizer slots, version and ledger stay as they were, and the shard goes on stepping afterwards.
 */
class StepUndoTest {
    private static Contribution c(String worker, long step, long base, float... g) {
        return new Contribution(worker, step, base, 1, g, Double.NaN, 0);
    }

    @Test
    void anSgdStepThatOverflowsTheParametersIsRefusedAndTakenBack() {
        Optimizer sgd = Optimizers.create("SGD", Map.of("lr", 1.0, "momentum", 0.9));
        ShardState s = ShardState.initial(new float[] {-3e38f, 1f});
        AggregationPolicy async = AggregationPolicy.async(0);
        assertThat(ShardStepper.offer(s, c("a", 1, 0, 1f, 1f), async, sgd)).isInstanceOf(ShardStepper.Applied.class);
        float[] params = s.params().clone();
        OptimizerState slots = s.optimizer().copy();

        ShardStepper.Outcome o = ShardStepper.offer(s, c("a", 2, 1, 3e38f, 0f), async, sgd);

        assertThat(o).isInstanceOf(ShardStepper.Rejected.class);
        ShardStepper.Rejected r = (ShardStepper.Rejected) o;
        assertThat(r.code()).isEqualTo(RejectCode.NON_FINITE_RESULT);
        assertThat(r.detail()).contains("element 0", "stays at version 1");
        assertThat(s.version()).isEqualTo(1);
        assertThat(s.params()).containsExactly(params);
        assertThat(s.optimizer().step()).isEqualTo(slots.step());
        assertThat(s.optimizer().tensor("momentum_buffer")).containsExactly(slots.tensor("momentum_buffer"));

        // The worker's next, ordinary step is applied on the untouched state.
        assertThat(ShardStepper.offer(s, c("a", 3, 1, 1f, 1f), async, sgd)).isInstanceOf(ShardStepper.Applied.class);
        assertThat(s.version()).isEqualTo(2);
    }

    @Test
    void anAdamStepWhoseSquaredGradientOverflowsTheSlotsIsRefusedAndCreatesNoSlot() {
        // g^2 = 1e60 is +Inf in float32: exp_avg_sq would be Inf although the parameters stay finite.
        Optimizer adam = Optimizers.create("Adam", Map.of("lr", 0.01));
        ShardState s = ShardState.initial(new float[] {1f, 2f});

        ShardStepper.Outcome o = ShardStepper.offer(s, c("a", 1, 0, 1e30f, 0f), AggregationPolicy.sync(1), adam);

        assertThat(o).isInstanceOf(ShardStepper.Rejected.class);
        assertThat(((ShardStepper.Rejected) o).code()).isEqualTo(RejectCode.NON_FINITE_RESULT);
        assertThat(s.version()).isZero();
        assertThat(s.params()).containsExactly(1f, 2f);
        assertThat(s.optimizer().tensors())
                .as("slots created by the refused step are gone")
                .isEmpty();
        assertThat(s.optimizer().step()).isZero();
        assertThat(s.pending().isEmpty())
                .as("the step's contribution is consumed, not applied later")
                .isTrue();
    }

    @Test
    void finiteResultsAreFoundFiniteAndTheFirstNonFiniteElementIsNamed() {
        ShardState s = ShardState.initial(new float[] {1f, 2f, 3f});
        assertThat(StepUndo.firstNonFinite(s)).isEqualTo(-1);
        s.optimizer().putTensor("exp_avg", new float[] {0f, Float.NaN, 0f});
        assertThat(StepUndo.firstNonFinite(s))
                .as("slot elements follow the parameters")
                .isEqualTo(4);
        s.params()[2] = Float.NEGATIVE_INFINITY;
        assertThat(StepUndo.firstNonFinite(s)).isEqualTo(2);
    }

    @Test
    void pooledCopiesAreReusedAndStillRestoreTheStateTheyWereKeptFor() {
        StepUndo.Buffers buffers = new StepUndo.Buffers();
        ShardState s = ShardState.initial(new float[] {1f, 2f});
        s.optimizer().putTensor("exp_avg", new float[] {0.5f, 0.25f});
        StepUndo first = new StepUndo(0, s.ledger());
        first.keep(s, buffers);
        buffers.reuse();
        assertThat(buffers.freeBytes()).isEqualTo(16);
        StepUndo second = new StepUndo(0, s.ledger());
        second.keep(s, buffers); // takes the same two arrays again
        assertThat(buffers.freeBytes()).isZero();

        s.params()[0] = Float.NaN;
        s.optimizer().tensor("exp_avg")[1] = Float.POSITIVE_INFINITY;
        s.optimizer().putTensor("exp_avg_sq", new float[] {9f, 9f});
        second.restore(s);

        assertThat(s.params()).containsExactly(1f, 2f);
        assertThat(s.optimizer().tensor("exp_avg")).containsExactly(0.5f, 0.25f);
        assertThat(s.optimizer().tensors()).containsOnlyKeys("exp_avg");
    }
}
