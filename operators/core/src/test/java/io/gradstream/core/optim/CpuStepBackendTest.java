package io.gradstream.core.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CpuStepBackendTest {

    @Test
    void batchEqualsStepByStep() {
        Optimizer adam = Optimizers.create("Adam", Map.of("lr", 0.01));
        Optimizer sgd = Optimizers.create("SGD", Map.of("lr", 0.1, "momentum", 0.9));
        float[] p1 = {1f, -2f, 3f};
        float[] p2 = {0.5f, 0.25f};
        float[] g1 = {0.1f, 0.2f, -0.3f};
        float[] g2 = {-1f, 1f};
        float[] q1 = p1.clone();
        float[] q2 = p2.clone();
        OptimizerState s1 = new OptimizerState();
        OptimizerState s2 = new OptimizerState();
        OptimizerState r1 = new OptimizerState();
        OptimizerState r2 = new OptimizerState();
        for (int t = 0; t < 3; t++) {
            CpuStepBackend.INSTANCE.step(List.of(new ShardStep(adam, p1, g1, s1), new ShardStep(sgd, p2, g2, s2)));
            adam.step(q1, g1, r1);
            sgd.step(q2, g2, r2);
        }
        assertThat(p1).containsExactly(q1);
        assertThat(p2).containsExactly(q2);
        assertThat(s1.step()).isEqualTo(3);
        assertThat(s2.tensor("momentum_buffer")).containsExactly(r2.tensor("momentum_buffer"));
    }

    @Test
    void shardStepRejectsMismatchedLengthsUpFront() {
        Optimizer adam = Optimizers.create("Adam", Map.of());
        assertThatThrownBy(() -> new ShardStep(adam, new float[3], new float[2], new OptimizerState()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("grad has 2");
        OptimizerState s = new OptimizerState();
        s.putTensor("exp_avg", new float[2]);
        assertThatThrownBy(() -> new ShardStep(adam, new float[3], new float[3], s))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("exp_avg");
    }
}
