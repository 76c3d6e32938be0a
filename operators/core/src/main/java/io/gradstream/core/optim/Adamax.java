package io.gradstream.core.optim;

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
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill("exp_avg", n, 0f);
        final float[] u = state.tensorOrFill("exp_inf", n, 0f);
        final long t = state.advance();
        final float negClr = (float) -(lr / (1 - Math.pow(h.beta1(), t)));
        final float sign = gradSign();
        final float wd = (float) h.weightDecay();
        final boolean addL2 = h.weightDecay() != 0;
        final float b1 = (float) h.beta1();
        final float oneMinusB1 = (float) (1 - h.beta1());
        final float b2 = (float) h.beta2();
        final float epsF = (float) h.eps();
        for (int i = 0; i < n; i++) {
            float gi = sign * g[i];
            if (addL2) {
                gi = gi + wd * p[i];
            }
            float mi = m[i] * b1 + oneMinusB1 * gi;
            float ui = Math.max(u[i] * b2, Math.abs(gi) + epsF);
            m[i] = mi;
            u[i] = ui;
            p[i] = p[i] + (negClr * mi) / ui;
        }
    }
}
