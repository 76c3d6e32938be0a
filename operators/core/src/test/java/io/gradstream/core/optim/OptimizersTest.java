package io.gradstream.core.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class OptimizersTest {

    static List<String> names() {
        return Optimizers.NAMES;
    }

    @Test
    void namesAreCaseInsensitiveAndAcceptTorchPrefix() {
        assertThat(Optimizers.create("torch.optim.AdamW", Map.of()).name()).isEqualTo("AdamW");
        assertThat(Optimizers.create("adamw", Map.of()).name()).isEqualTo("AdamW");
        assertThat(Optimizers.create("LAMB", Map.of()).name()).isEqualTo("LAMB");
    }

    @Test
    void unknownOptimizerIsNamedWithTheKnownOnes() {
        assertThatThrownBy(() -> Optimizers.create("adamx", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'adamx'")
                .hasMessageContaining("Adam, AdamW");
    }

    @Test
    void torchDefaultsAreResolved() {
        Hyperparameters adam = Optimizers.create("Adam", Map.of()).hyperparameters();
        assertThat(adam.number("lr", -1)).isEqualTo(1e-3);
        assertThat(adam.pair("betas", 0, 0)).containsExactly(0.9, 0.999);
        assertThat(adam.number("eps", -1)).isEqualTo(1e-8);
        assertThat(adam.number("weight_decay", -1)).isEqualTo(0.0);
        assertThat(Optimizers.create("AdamW", Map.of()).hyperparameters().number("weight_decay", -1))
                .isEqualTo(1e-2);
        assertThat(Optimizers.create("Adamax", Map.of()).learningRate()).isEqualTo(2e-3);
        assertThat(Optimizers.create("NAdam", Map.of()).hyperparameters().number("momentum_decay", -1))
                .isEqualTo(4e-3);
        assertThat(Optimizers.create("Adagrad", Map.of()).hyperparameters().number("eps", -1))
                .isEqualTo(1e-10);
        assertThat(Optimizers.create("RMSprop", Map.of()).hyperparameters().number("alpha", -1))
                .isEqualTo(0.99);
    }

    @Test
    void sgdRequiresALearningRateAsTorchDoes() {
        assertThatThrownBy(() -> Optimizers.create("SGD", Map.of()))
                .isInstanceOf(InvalidHyperparameterException.class)
                .hasMessageContaining("lr")
                .hasMessageContaining("required");
    }

    @ParameterizedTest
    @MethodSource("names")
    void negativeLearningRateIsRejectedWithItsNameAndValue(String name) {
        assertThatThrownBy(() -> Optimizers.create(name, Map.of("lr", -0.5)))
                .isInstanceOf(InvalidHyperparameterException.class)
                .hasMessageContaining("Invalid lr: -0.5")
                .extracting(e -> ((InvalidHyperparameterException) e).parameter())
                .isEqualTo("lr");
    }

    @ParameterizedTest
    @MethodSource("names")
    void nonFiniteValuesAreRejected(String name) {
        assertThatThrownBy(() -> Optimizers.create(name, Map.of("lr", Double.NaN)))
                .isInstanceOf(InvalidHyperparameterException.class)
                .hasMessageContaining("lr")
                .hasMessageContaining("finite");
        assertThatThrownBy(() -> Optimizers.create(name, Map.of("lr", 0.1, "weight_decay", Double.POSITIVE_INFINITY)))
                .hasMessageContaining("weight_decay")
                .hasMessageContaining("Infinity");
    }

    @Test
    void rangeChecksMatchTorch() {
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("betas", List.of(1.0, 0.999))))
                .hasMessageContaining("betas[0]")
                .hasMessageContaining("1.0");
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("betas", List.of(0.9, -0.1))))
                .hasMessageContaining("betas[1]");
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("betas", List.of(0.9))))
                .hasMessageContaining("betas")
                .hasMessageContaining("two");
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("eps", -1e-8)))
                .hasMessageContaining("eps");
        assertThatThrownBy(() -> Optimizers.create("SGD", Map.of("lr", 0.1, "momentum", -0.9)))
                .hasMessageContaining("momentum");
        assertThatThrownBy(() -> Optimizers.create("SGD", Map.of("lr", 0.1, "nesterov", true)))
                .hasMessageContaining("Nesterov");
        assertThatThrownBy(() -> Optimizers.create(
                        "SGD", Map.of("lr", 0.1, "momentum", 0.9, "dampening", 0.1, "nesterov", true)))
                .hasMessageContaining("dampening=0.1");
        assertThatThrownBy(() -> Optimizers.create("RMSprop", Map.of("alpha", -0.1)))
                .hasMessageContaining("alpha");
        assertThatThrownBy(() -> Optimizers.create("Adagrad", Map.of("lr_decay", -1)))
                .hasMessageContaining("lr_decay");
        assertThatThrownBy(() -> Optimizers.create("Adagrad", Map.of("initial_accumulator_value", -1)))
                .hasMessageContaining("initial_accumulator_value");
        assertThatThrownBy(() -> Optimizers.create("NAdam", Map.of("momentum_decay", -1)))
                .hasMessageContaining("momentum_decay");
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("lr", "fast")))
                .hasMessageContaining("'fast'");
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("amsgrad", "yes")))
                .hasMessageContaining("amsgrad");
    }

    @Test
    void unknownHyperparameterIsRejectedLikeAnUnexpectedKeywordArgument() {
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of("momentum", 0.9)))
                .isInstanceOf(InvalidHyperparameterException.class)
                .hasMessageContaining("momentum")
                .hasMessageContaining("unknown hyperparameter for Adam");
    }

    @Test
    void torchImplementationFlagsAreAccepted() {
        Optimizer o = Optimizers.create(
                "Adam", Map.of("foreach", false, "capturable", false, "fused", false, "differentiable", false));
        assertThat(o.hyperparameters().has("foreach")).isTrue();
    }

    @ParameterizedTest
    @MethodSource("names")
    void mismatchedLengthsAreRejected(String name) {
        Optimizer o = Optimizers.create(name, Map.of("lr", 0.1));
        assertThatThrownBy(() -> o.step(new float[4], new float[3], new OptimizerState()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3")
                .hasMessageContaining("4");
    }

    @Test
    void slotOfTheWrongLengthIsRejected() {
        OptimizerState s = new OptimizerState();
        s.putTensor("exp_avg", new float[2]);
        assertThatThrownBy(() -> Optimizers.create("Adam", Map.of()).step(new float[4], new float[4], s))
                .hasMessageContaining("exp_avg")
                .hasMessageContaining("2");
    }

    @Test
    void withLearningRateAndMomentumKeepEverythingElse() {
        Optimizer adam = Optimizers.create("Adam", Map.of("weight_decay", 0.1));
        Optimizer changed = adam.withLearningRate(0.5).withMomentum(0.8);
        assertThat(changed.learningRate()).isEqualTo(0.5);
        assertThat(changed.hyperparameters().pair("betas", 0, 0)).containsExactly(0.8, 0.999);
        assertThat(changed.hyperparameters().number("weight_decay", 0)).isEqualTo(0.1);
        Optimizer sgd =
                Optimizers.create("SGD", Map.of("lr", 0.1, "momentum", 0.9)).withMomentum(0.85);
        assertThat(sgd.hyperparameters().number("momentum", 0)).isEqualTo(0.85);
        assertThatThrownBy(() -> Optimizers.create("Adagrad", Map.of()).withMomentum(0.9))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("neither momentum nor betas");
    }

    @Test
    void sgdStepIsPlainArithmetic() {
        float[] p = {1f, -2f, 0.5f};
        float[] g = {0.5f, 0.25f, -1f};
        Optimizers.create("SGD", Map.of("lr", 0.5)).step(p, g, new OptimizerState());
        assertThat(p).containsExactly(0.75f, -2.125f, 1.0f);
    }

    @Test
    void sgdMomentumBufferIsCreatedOnTheFirstStepWithoutDampening() {
        Optimizer sgd = Optimizers.create("SGD", Map.of("lr", 1.0, "momentum", 0.5, "dampening", 0.5));
        OptimizerState s = new OptimizerState();
        float[] p = {0f};
        sgd.step(p, new float[] {2f}, s);
        assertThat(s.tensor("momentum_buffer")).containsExactly(2f);
        assertThat(p).containsExactly(-2f);
        sgd.step(p, new float[] {2f}, s);
        // buf = 0.5*2 + (1-0.5)*2 = 2
        assertThat(s.tensor("momentum_buffer")).containsExactly(2f);
        assertThat(p).containsExactly(-4f);
    }

    @Test
    void adamFirstStepMovesEachCoordinateByAboutLr() {
        // With m̂ = g and v̂ = g² on step 1, the update is lr·g/(|g| + eps) ≈ lr·sign(g).
        float[] p = {0f, 0f, 0f};
        OptimizerState s = new OptimizerState();
        Optimizers.create("Adam", Map.of("lr", 0.01)).step(p, new float[] {3f, -0.002f, 0f}, s);
        assertThat(p[0]).isCloseTo(-0.01f, org.assertj.core.data.Offset.offset(1e-7f));
        assertThat(p[1]).isCloseTo(0.01f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(p[2]).isEqualTo(0f);
        assertThat(s.step()).isEqualTo(1);
        assertThat(s.tensors()).containsOnlyKeys("exp_avg", "exp_avg_sq");
    }

    @Test
    void maximizeEqualsMinimizingTheNegatedGradient() {
        for (String name : Optimizers.NAMES) {
            float[] p1 = {0.3f, -1.2f, 2f};
            float[] p2 = p1.clone();
            float[] g = {0.7f, -0.1f, 3f};
            float[] negG = {-0.7f, 0.1f, -3f};
            Optimizer max = Optimizers.create(name, Map.of("lr", 0.01, "maximize", true));
            Optimizer min = Optimizers.create(name, Map.of("lr", 0.01));
            OptimizerState s1 = new OptimizerState();
            OptimizerState s2 = new OptimizerState();
            for (int t = 0; t < 3; t++) {
                max.step(p1, g, s1);
                min.step(p2, negG, s2);
            }
            assertThat(p1).as(name).containsExactly(p2);
        }
    }

    @Test
    void amsgradKeepsTheRunningMaximum() {
        Optimizer o = Optimizers.create("Adam", Map.of("amsgrad", true));
        OptimizerState s = new OptimizerState();
        float[] p = {0f};
        o.step(p, new float[] {10f}, s);
        float vAfterBig = s.tensor("exp_avg_sq")[0];
        o.step(p, new float[] {0f}, s);
        assertThat(s.tensor("exp_avg_sq")[0]).isLessThan(vAfterBig);
        assertThat(s.tensor("max_exp_avg_sq")[0]).isEqualTo(vAfterBig);
    }

    @Test
    void lambTrustRatioIsOneForZeroParameters() {
        OptimizerState s = new OptimizerState();
        Optimizers.create("LAMB", Map.of("lr", 0.1)).step(new float[] {0f, 0f}, new float[] {1f, -1f}, s);
        assertThat(s.scalar("trust_ratio")).isEqualTo(1.0);
    }

    @Test
    void stateCopyIsDeep() {
        OptimizerState s = new OptimizerState();
        Optimizers.create("Adam", Map.of()).step(new float[] {1f}, new float[] {1f}, s);
        OptimizerState c = s.copy();
        c.tensor("exp_avg")[0] = 42f;
        c.setStep(7);
        assertThat(s.tensor("exp_avg")[0]).isNotEqualTo(42f);
        assertThat(s.step()).isEqualTo(1);
        assertThat(s.tensorBytes()).isEqualTo(8);
    }
}
