package io.gradstream.core.optim;

import java.util.List;

/**
 * torch.optim.Adamax (1.13; Kingma &amp; Ba 2015, section 7.1). {@code m = β1·m + (1−β1)·g;
 * u = max(β2·u, |g| + eps); p = p + (−lr/(1−β1^t))·m / u} -- note torch adds eps inside the max.
 */
final class Adamax extends AbstractOptimizer {
    static final String NAME = "Adamax";

    private final Moments h;

    Adamax(Hyperparameters given) {
        super(NAME, given, defaults("lr", 2e-3, "betas", pairOf(0.9, 0.999), "eps", 1e-8, "weight_decay", 0.0));
        h = Moments.of(hp());
    }

    @Override
    public List<Slot> slots() {
        return List.of(Slot.EXP_AVG, Slot.EXP_INF);
    }

    @Override
    public StepScalars.Adamax scalars(OptimizerState state) {
        final long t = state.step() + 1;
        final double clr = lr / (1 - Math.pow(h.beta1(), t));
        return new StepScalars.Adamax(
                gradSign(),
                (float) h.weightDecay(),
                h.weightDecay() != 0,
                (float) h.beta1(),
                (float) (1 - h.beta1()),
                (float) h.beta2(),
                (float) h.eps(),
                (float) -clr);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill(Slot.EXP_AVG, n);
        final float[] u = state.tensorOrFill(Slot.EXP_INF, n);
        final StepScalars.Adamax k = scalars(state);
        state.advance();
        for (int i = 0; i < n; i++) {
            float gi = k.gradSign() * g[i];
            if (k.addL2()) {
                gi = gi + k.weightDecay() * p[i];
            }
            float mi = m[i] * k.beta1() + k.oneMinusBeta1() * gi;
            float ui = Math.max(u[i] * k.beta2(), Math.abs(gi) + k.eps());
            m[i] = mi;
            u[i] = ui;
            p[i] = p[i] + (k.negClr() * mi) / ui;
        }
    }
}
