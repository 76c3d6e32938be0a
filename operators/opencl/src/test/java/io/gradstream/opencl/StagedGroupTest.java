package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepScalars;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a launch reads from its shards before any device work, without a device. */
class StagedGroupTest {

    @Test
    void absentSlotsAreCreatedAsTorchCreatesThemButNotYetPutIntoTheState() {
        Optimizer a = Optimizers.create("Adagrad", Map.of("initial_accumulator_value", 0.25));
        Optimizer b = Optimizers.create("Adagrad", Map.of("initial_accumulator_value", 0.5, "lr", 0.5));
        OptimizerState existing = new OptimizerState();
        float[] sum = {7f, 8f, 9f};
        existing.putTensor("sum", sum);
        existing.setStep(4);
        List<ShardStep> shards = List.of(
                new ShardStep(a, new float[2], new float[2], new OptimizerState()),
                new ShardStep(b, new float[3], new float[3], existing));

        StagedGroup group = stage(shards);

        assertThat(group.kernel()).isEqualTo("adagrad");
        assertThat(group.slotNames()).containsExactly("sum");
        assertThat(group.slots()[0][0]).containsExactly(0.25f, 0.25f);
        assertThat(group.created()[0][0]).isTrue();
        assertThat(shards.get(0).state().tensors()).as("untouched until commit").isEmpty();
        assertThat(group.slots()[0][1]).isSameAs(sum);
        assertThat(group.created()[0][1]).isFalse();
        assertThat(group.layout().ends()).containsExactly(2, ClContext.CHUNK + 3);
    }

    @Test
    void eachShardsScalarsSitAtItsOwnOffset() {
        Optimizer slow = Optimizers.create("Adam", Map.of("lr", 0.001));
        Optimizer fast = Optimizers.create("AdamW", Map.of("lr", 0.1));
        List<ShardStep> shards = List.of(
                new ShardStep(slow, new float[1], new float[1], new OptimizerState()),
                new ShardStep(fast, new float[1], new float[1], new OptimizerState()));
        StagedGroup group = stage(shards);
        for (int j = 0; j < 2; j++) {
            float[] expected = OptimizerKernels.pack(group.scalars().get(j)).scalars();
            float[] actual = java.util.Arrays.copyOfRange(
                    group.packed(), j * OptimizerKernels.NSC, j * OptimizerKernels.NSC + expected.length);
            assertThat(actual).containsExactly(expected);
        }
        assertThat(group.packed()).hasSize(2 * OptimizerKernels.NSC);
    }

    @Test
    void shardsOfAnotherKernelAreRejected() {
        List<ShardStep> shards = List.of(
                new ShardStep(Optimizers.create("Adam", Map.of()), new float[1], new float[1], new OptimizerState()),
                new ShardStep(Optimizers.create("Lion", Map.of()), new float[1], new float[1], new OptimizerState()));
        assertThatThrownBy(() -> stage(shards)).hasMessageContaining("lion");
    }

    private static StagedGroup stage(List<ShardStep> shards) {
        List<StepScalars> scalars =
                shards.stream().map(s -> s.optimizer().scalars(s.state())).toList();
        return StagedGroup.of(
                shards, scalars, scalars.stream().map(OptimizerKernels::pack).toList());
    }
}
