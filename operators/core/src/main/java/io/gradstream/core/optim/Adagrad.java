package io.gradstream.core.optim;

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

    Adagrad(Hyperparameters given) {
        super(NAME, given, defaults("lr", 1e-2, "lr_decay", 0.0, "weight_decay", 0.0,
                "initial_accumulator_value", 0.0, "eps", 1e-10));
        lrDecay = hp().number("lr_decay", 0);
        weightDecay = hp().number("weight_decay", 0);
        initialAccumulatorValue = hp().number("initial_accumulator_value", 0);
        eps = hp().number("eps", 1e-10);
        atLeast("lr_decay", lrDecay, 0);
        atLeast("weight_decay", weightDecay, 0);
        atLeast("initial_accumulator_value", initialAccumulatorValue, 0);
        atLeast("eps", eps, 0);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] sum = state.tensorOrFill("sum", n, (float) initialAccumulatorValue);
        final long t = state.advance();
        final double clr = lr / (1 + (t - 1) * lrDecay);
        final float negClr = (float) -clr;
        final float sign = gradSign();
        final float wd = (float) weightDecay;
        final boolean addL2 = weightDecay != 0;
        final float epsF = (float) eps;
        for (int i = 0; i < n; i++) {
            float gi = sign * g[i];
            if (addL2) {
                gi = gi + wd * p[i];
            }
            float s = sum[i] + gi * gi;
            sum[i] = s;
            float std = (float) Math.sqrt(s) + epsF;
            p[i] = p[i] + (negClr * gi) / std;
        }
    }
}
