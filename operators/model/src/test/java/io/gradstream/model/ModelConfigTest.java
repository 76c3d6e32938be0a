package io.gradstream.model;

import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ScheduleSpec;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelConfigTest {

    @Test
    void withoutAScheduleEveryVersionSharesOneOptimizer() {
        ModelConfig c = ModelConfig.of("m", spec(InitRule.ZEROS, 4, tensor("w", 8)));
        Optimizer first = c.optimizerAt(0);
        // Shards at different versions, in the order an ASYNC subtask meets them.
        for (long v : new long[] {5, 1, 7, 7, 2, 1000}) {
            assertThat(c.optimizerAt(v)).isSameAs(first);
        }
        assertThat(first.learningRate()).isEqualTo(0.1);
        assertThat(first.hyperparameters().number("weight_decay", 0)).isEqualTo(0.01);
    }

    @Test
    void aScheduleGivesEachVersionItsLearningRateAndReusesTheOptimizerOnlyWhileItIsUnchanged() {
        ModelSpec s = ModelSpec.newBuilder(spec(InitRule.ZEROS, 4, tensor("w", 8)))
                .setLrSchedule(ScheduleSpec.newBuilder()
                        .setName("StepLR")
                        .setHyperparameters(Map.of("step_size", 2.0, "gamma", 0.5))
                        .build())
                .build();
        ModelConfig c = ModelConfig.of("m", s);
        Optimizer v0 = c.optimizerAt(0);
        Optimizer v1 = c.optimizerAt(1);
        Optimizer v2 = c.optimizerAt(2);
        assertThat(v1).isSameAs(v0);
        assertThat(v2).isNotSameAs(v1);
        assertThat(v0.learningRate()).isEqualTo(0.1);
        assertThat(v2.learningRate()).isCloseTo(0.05, within(1e-12));
        // Back to an earlier version (another shard): its own rate again, not the last one built.
        assertThat(c.optimizerAt(0).learningRate()).isEqualTo(0.1);
        assertThat(c.optimizerAt(5).learningRate()).isCloseTo(0.025, within(1e-12));
        assertThat(c.optimizerAt(4).hyperparameters().number("weight_decay", 0)).isEqualTo(0.01);
    }
}
