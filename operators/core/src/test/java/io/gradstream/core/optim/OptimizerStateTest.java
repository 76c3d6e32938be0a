package io.gradstream.core.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptimizerStateTest {

    @Test
    void stateDictRoundTripContinuesTheTrajectoryBitForBit() {
        Optimizer nadam = Optimizers.create("NAdam", Map.of("lr", 0.01));
        float[] p = {0.5f, -1f, 2f};
        float[] g = {0.1f, 0.2f, -0.3f};
        OptimizerState s = new OptimizerState();
        nadam.step(p, g, s);
        nadam.step(p, g, s);

        Map<String, Object> dict = s.toStateDict();
        assertThat(dict).containsOnlyKeys("step", "exp_avg", "exp_avg_sq", "mu_product");
        assertThat(dict.get("step")).isEqualTo(2L);
        OptimizerState restored = OptimizerState.fromStateDict(dict);

        float[] p2 = p.clone();
        nadam.step(p, g, s);
        nadam.step(p2, g, restored);
        assertThat(p2).containsExactly(p);
        assertThat(restored.tensor("exp_avg")).containsExactly(s.tensor("exp_avg"));
    }

    @Test
    void torchShapedEntriesAreAccepted() {
        Map<String, Object> torch = new HashMap<>();
        torch.put("step", 25.0); // a float32 scalar tensor in torch 1.13
        torch.put("exp_avg", List.of(1.0, 2.5));
        torch.put("exp_avg_sq", new double[] {0.25, 4});
        torch.put("momentum_buffer", null);
        OptimizerState s = OptimizerState.fromStateDict(torch);
        assertThat(s.step()).isEqualTo(25);
        assertThat(s.tensor("exp_avg")).containsExactly(1f, 2.5f);
        assertThat(s.tensor("exp_avg_sq")).containsExactly(0.25f, 4f);
        assertThat(s.tensor("momentum_buffer")).isNull();
    }

    @Test
    void malformedEntriesAreRejectedWithTheSlotName() {
        assertThatThrownBy(() -> OptimizerState.fromStateDict(Map.of("step", 2.5)))
                .hasMessageContaining("step")
                .hasMessageContaining("2.5");
        assertThatThrownBy(() -> OptimizerState.fromStateDict(Map.of("exp_avg", List.of(1.0, "x"))))
                .hasMessageContaining("exp_avg[1]");
        assertThatThrownBy(() -> OptimizerState.fromStateDict(Map.of("exp_avg", "abc")))
                .hasMessageContaining("exp_avg")
                .hasMessageContaining("String");
        assertThatThrownBy(() -> OptimizerState.fromStateDict(Map.of("step", -1)))
                .hasMessageContaining("step");
    }
}
