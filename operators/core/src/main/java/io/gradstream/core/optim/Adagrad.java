package io.gradstream.core.optim;

import java.util.List;

/**
 * torch.optim.Adagrad (1.13, dense path; Duchi et al. 2011). {@code clr = lr / (1 + (t−1)·lr_decay);
 * sum = sum + g·g; p = p + (−clr·g) / (sqrt(sum) + eps)}, with {@code sum} starting at
 * {@code initial_accumulator_value}.
 */
final class Adagrad extends AbstractOptimizer {
    static final String NAME = "Adagrad";

    private final double lrDecay;
    private final double weightDecay;
    private final double initialAccumulatorValue;
    private final double eps;
    private final Slot sumSlot;

    Adagrad(Hyperparameters given) {
        super(
                NAME,
                given,
                defaults(
                        "lr",
                        1e-2,
                        "lr_decay",
                        0.0,
                        "weight_decay",
                        0.0,
                        "initial_accumulator_value",
                        0.0,
                        "eps",
                        1e-10));
        lrDecay = hp().number("lr_decay", 0);
        weightDecay = hp().number("weight_decay", 0);
        initialAccumulatorValue = hp().number("initial_accumulator_value", 0);
        eps = hp().number("eps", 1e-10);
        atLeast("lr_decay", lrDecay, 0);
        atLeast("weight_decay", weightDecay, 0);
        atLeast("initial_accumulator_value", initialAccumulatorValue, 0);
        atLeast("eps", eps, 0);
        sumSlot = new Slot("sum", (float) initialAccumulatorValue);
    }

    @Override
    public List<Slot> slots() {
        return List.of(sumSlot);
    }

    @Override
    public StepScalars.Adagrad scalars(OptimizerState state) {
        final long t = state.step() + 1;
        final double clr = lr / (1 + (t - 1) * lrDecay);
        return new StepScalars.Adagrad(gradSign(), (float) weightDecay, weightDecay != 0, (float) -clr, (float) eps);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] sum = state.tensorOrFill(sumSlot, n);
        final StepScalars.Adagrad k = scalars(state);
        state.advance();
        for (int i = 0; i < n; i++) {
            float gi = k.gradSign() * g[i];
            if (k.addL2()) {
                gi = gi + k.weightDecay() * p[i];
            }
            float s = sum[i] + gi * gi;
            sum[i] = s;
            float std = (float) Math.sqrt(s) + k.eps();
            p[i] = p[i] + (k.negClr() * gi) / std;
        }
    }
}
