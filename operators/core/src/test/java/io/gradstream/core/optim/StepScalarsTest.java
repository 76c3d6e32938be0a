package io.gradstream.core.optim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The scalars and slot layout each optimizer publishes for other backends: they must describe exactly what its own
 * step does (the slots it creates, in order; the scalar slots it sets), and computing them must not touch the state.
 */
class StepScalarsTest {

    static Stream<Arguments> configurations() {
        return Stream.of(
                Arguments.of("SGD", Map.of("lr", 0.1), List.of()),
                Arguments.of("SGD", Map.of("lr", 0.1, "momentum", 0.9), List.of("momentum_buffer")),
                Arguments.of("Adam", Map.of(), List.of("exp_avg", "exp_avg_sq")),
                Arguments.of("AdamW", Map.of("amsgrad", true), List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
                Arguments.of("RMSprop", Map.of(), List.of("square_avg")),
                Arguments.of("RMSprop", Map.of("centered", true), List.of("square_avg", "grad_avg")),
                Arguments.of("RMSprop", Map.of("momentum", 0.9), List.of("square_avg", "momentum_buffer")),
                Arguments.of(
                        "RMSprop",
                        Map.of("momentum", 0.9, "centered", true),
                        List.of("square_avg", "momentum_buffer", "grad_avg")),
                Arguments.of("Adagrad", Map.of("initial_accumulator_value", 0.5), List.of("sum")),
                Arguments.of("Adamax", Map.of(), List.of("exp_avg", "exp_inf")),
                Arguments.of("NAdam", Map.of(), List.of("exp_avg", "exp_avg_sq")),
                Arguments.of("RAdam", Map.of(), List.of("exp_avg", "exp_avg_sq")),
                Arguments.of("LAMB", Map.of(), List.of("exp_avg", "exp_avg_sq")),
                Arguments.of("Lion", Map.of(), List.of("exp_avg")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("configurations")
    void slotsAreWhatTheStepCreatesInThatOrder(String name, Map<String, Object> hp, List<String> expected) {
        Optimizer o = Optimizers.create(name, hp);
        assertThat(o.slots()).extracting(Slot::name).containsExactlyElementsOf(expected);
        OptimizerState s = new OptimizerState();
        o.step(new float[] {0.5f, -1f}, new float[] {0.1f, 0.2f}, s);
        assertThat(s.tensors().keySet()).containsExactlyElementsOf(expected);
        for (Slot slot : o.slots()) {
            assertThat(s.tensor(slot.name())).hasSize(2);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("configurations")
    void scalarsOnlyReadTheStateAndNameTheScalarSlotsTheStepSets(
            String name, Map<String, Object> hp, List<String> slots) {
        Optimizer o = Optimizers.create(name, hp);
        OptimizerState s = new OptimizerState();
        float[] p = {0.5f, -1f};
        for (int t = 0; t < 3; t++) {
            OptimizerState before = s.copy();
            StepScalars k = o.scalars(s);
            assertThat(s.toStateDict()).usingRecursiveComparison().isEqualTo(before.toStateDict());
            assertThat(o.scalars(s)).as("deterministic").isEqualTo(k);
            o.step(p, new float[] {0.1f, 0.2f}, s);
            k.scalarSlots()
                    .forEach(
                            (slot, value) -> assertThat(s.scalar(slot)).as(slot).isEqualTo(value));
        }
    }

    @Test
    void adamBiasCorrectionsFollowTheStepNumber() {
        Optimizer adam = Optimizers.create("Adam", Map.of("lr", 0.1, "betas", List.of(0.5, 0.75)));
        OptimizerState s = new OptimizerState();
        s.setStep(1); // the next step is t = 2
        StepScalars.Adam k = (StepScalars.Adam) adam.scalars(s);
        assertThat(k.negStepSize()).isEqualTo((float) -(0.1 / (1 - 0.25)));
        assertThat(k.biasCorrection2Sqrt()).isEqualTo((float) Math.sqrt(1 - 0.5625));
        assertThat(k.decayFactor()).as("no decoupled decay: exactly 1").isEqualTo(1f);
        assertThat(k.amsgrad()).isFalse();
    }

    @Test
    void adamWFoldsItsDecayIntoOneFactorAndAdamIntoTheGradient() {
        StepScalars.Adam w = (StepScalars.Adam) Optimizers.create("AdamW", Map.of("lr", 0.1, "weight_decay", 0.5))
                .scalars(new OptimizerState());
        assertThat(w.decoupledDecay()).isTrue();
        assertThat(w.decayFactor()).isEqualTo((float) (1 - 0.1 * 0.5));
        assertThat(w.addL2()).isFalse();
        StepScalars.Adam a = (StepScalars.Adam) Optimizers.create("Adam", Map.of("lr", 0.1, "weight_decay", 0.5))
                .scalars(new OptimizerState());
        assertThat(a.decoupledDecay()).isFalse();
        assertThat(a.addL2()).isTrue();
        assertThat(a.weightDecay()).isEqualTo(0.5f);
    }

    @Test
    void sgdFirstMomentumStepDependsOnTheBufferNotTheStepCount() {
        Optimizer sgd = Optimizers.create("SGD", Map.of("lr", 0.1, "momentum", 0.9));
        OptimizerState s = new OptimizerState();
        s.setStep(5);
        assertThat(((StepScalars.Sgd) sgd.scalars(s)).firstMomentumStep()).isTrue();
        s.putTensor("momentum_buffer", new float[1]);
        assertThat(((StepScalars.Sgd) sgd.scalars(s)).firstMomentumStep()).isFalse();
    }

    @Test
    void maximizeFlipsTheGradientSign() {
        for (String name : Optimizers.NAMES) {
            StepScalars min = Optimizers.create(name, Map.of("lr", 0.1)).scalars(new OptimizerState());
            StepScalars max =
                    Optimizers.create(name, Map.of("lr", 0.1, "maximize", true)).scalars(new OptimizerState());
            assertThat(max).as(name).isNotEqualTo(min);
            assertThat(max.toString()).as(name).contains("gradSign=-1.0");
            assertThat(min.toString()).as(name).contains("gradSign=1.0");
        }
    }

    @Test
    void lambTrustRatioIsOneWhenEitherNormIsZero() {
        assertThat(StepScalars.Lamb.trustRatio(0, 4)).isEqualTo(1f);
        assertThat(StepScalars.Lamb.trustRatio(4, 0)).isEqualTo(1f);
        assertThat(StepScalars.Lamb.trustRatio(16, 4)).isEqualTo(2f);
    }

    @Test
    void adagradSlotStartsAtTheInitialAccumulatorValue() {
        Optimizer adagrad = Optimizers.create("Adagrad", Map.of("initial_accumulator_value", 0.25));
        assertThat(adagrad.slots()).containsExactly(new Slot("sum", 0.25f));
    }
}
