package io.gradstream.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.optim.InvalidHyperparameterException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LrSchedulesTest {

    private static double[] lrs(LrSchedule s, double base, int n) {
        LrCursor c = s.start(base, Double.NaN);
        double[] out = new double[n];
        for (int k = 0; k < n; k++) {
            if (k > 0) {
                c.step();
            }
            out[k] = c.lr();
        }
        return out;
    }

    @Test
    void constantKeepsTheBaseRate() {
        assertThat(lrs(LrSchedules.constant(), 0.3, 4)).containsExactly(0.3, 0.3, 0.3, 0.3);
    }

    @Test
    void stepLrHalvesEveryStepSize() {
        LrSchedule s = LrSchedules.create("StepLR", Map.of("step_size", 2, "gamma", 0.5));
        assertThat(lrs(s, 1.0, 6)).containsExactly(1.0, 1.0, 0.5, 0.5, 0.25, 0.25);
    }

    @Test
    void multiStepLrCountsRepeatedMilestones() {
        LrSchedule s = LrSchedules.create("MultiStepLR", Map.of("milestones", List.of(1, 3, 3), "gamma", 0.5));
        assertThat(lrs(s, 1.0, 5)).containsExactly(1.0, 0.5, 0.5, 0.125, 0.125);
    }

    @Test
    void sequentialLrMatchesTorch113() {
        // ConstantLR(factor=0.1, total_iters=2) then ExponentialLR(gamma=0.9) from step 2. torch's docstring claims
        // 0.1, 0.1, 0.9, 0.81, 0.729, but torch 1.13 restarts the second scheduler with step(0) -- its closed form
        // at epoch 0 -- and really yields 0.1, 0.1, 1.0, 0.9, 0.81 (checked with python3-torch 1.13.1).
        LrSchedule s = LrSchedules.create(
                "SequentialLR",
                Map.of(
                        "schedulers",
                                List.of(
                                        Map.of(
                                                "scheduler",
                                                "ConstantLR",
                                                "hyperparameters",
                                                Map.of("factor", 0.1, "total_iters", 2)),
                                        Map.of("scheduler", "ExponentialLR", "hyperparameters", Map.of("gamma", 0.9))),
                        "milestones", List.of(2)));
        double[] got = lrs(s, 1.0, 5);
        assertThat(got[0]).isCloseTo(0.1, within(1e-15));
        assertThat(got[1]).isCloseTo(0.1, within(1e-15));
        assertThat(got[2]).isEqualTo(1.0);
        assertThat(got[3]).isCloseTo(0.9, within(1e-15));
        assertThat(got[4]).isCloseTo(0.81, within(1e-15));
    }

    @Test
    void oneCycleReachesMaxLrAtPctStartAndCyclesMomentumInversely() {
        LrSchedule s = LrSchedules.create(
                "OneCycleLR", Map.of("max_lr", 1.0, "total_steps", 11, "pct_start", 0.5, "anneal_strategy", "linear"));
        LrCursor c = s.start(0.5, 0.9);
        assertThat(c.lr()).isEqualTo(1.0 / 25);
        assertThat(c.momentum()).isEqualTo(0.95);
        c.advance(5); // end of phase one: step pct_start*total - 1 = 4.5 -> step 5 is in phase two
        c = s.start(0.5, 0.9);
        c.advance(4);
        assertThat(c.lr()).isLessThan(1.0).isGreaterThan(0.8);
        assertThat(c.momentum()).isLessThan(0.87);
        c.advance(6);
        assertThat(c.lr()).isCloseTo(1.0 / 25 / 1e4, within(1e-12));
        assertThat(c.momentum()).isCloseTo(0.95, within(1e-12));
        LrCursor over = c;
        assertThatThrownBy(() -> over.advance(2))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("total_steps");
    }

    @Test
    void oneCycleNeedsMomentumToCycle() {
        LrSchedule s = LrSchedules.create("OneCycleLR", Map.of("max_lr", 1.0, "total_steps", 10));
        assertThatThrownBy(() -> s.start(0.1, Double.NaN))
                .isInstanceOf(InvalidHyperparameterException.class)
                .hasMessageContaining("cycle_momentum");
    }

    @Test
    void warmRestartsRestartAtT0() {
        LrSchedule s = LrSchedules.create("CosineAnnealingWarmRestarts", Map.of("T_0", 3));
        double[] got = lrs(s, 1.0, 7);
        assertThat(got[0]).isEqualTo(1.0);
        assertThat(got[3]).isEqualTo(1.0);
        assertThat(got[6]).isEqualTo(1.0);
        assertThat(got[1]).isCloseTo(0.75, within(1e-15));
    }

    @Test
    void lrAtReplaysFromTheStart() {
        LrSchedule s = LrSchedules.create("CosineAnnealingLR", Map.of("T_max", 10));
        double[] all = lrs(s, 0.1, 30);
        for (int k = 0; k < 30; k++) {
            assertThat(s.lrAt(0.1, k)).isEqualTo(all[k]);
        }
    }

    @Test
    void invalidSchedulesAreRejectedWithTheParameter() {
        assertThatThrownBy(() -> LrSchedules.create("StepLR", Map.of())).hasMessageContaining("step_size");
        assertThatThrownBy(() -> LrSchedules.create("StepLR", Map.of("step_size", 0)))
                .hasMessageContaining("step_size");
        assertThatThrownBy(() -> LrSchedules.create("StepLR", Map.of("step_size", 2.5)))
                .hasMessageContaining("integer");
        assertThatThrownBy(() -> LrSchedules.create("LinearLR", Map.of("start_factor", 0)))
                .hasMessageContaining("start_factor");
        assertThatThrownBy(() -> LrSchedules.create("ExponentialLR", Map.of("gamma", Double.NaN)))
                .hasMessageContaining("gamma")
                .hasMessageContaining("finite");
        assertThatThrownBy(() -> LrSchedules.create("CosineAnnealingLR", Map.of("T_max", 10, "Tmax", 3)))
                .hasMessageContaining("Tmax");
        assertThatThrownBy(() -> LrSchedules.create(
                        "SequentialLR",
                        Map.of(
                                "schedulers",
                                List.of(Map.of("scheduler", "StepLR", "hyperparameters", Map.of("step_size", 1))),
                                "milestones",
                                List.of(3))))
                .hasMessageContaining("milestones");
        assertThatThrownBy(() -> LrSchedules.create("CyclicLR", Map.of()))
                .hasMessageContaining("Unknown LR schedule 'CyclicLR'");
    }
}
