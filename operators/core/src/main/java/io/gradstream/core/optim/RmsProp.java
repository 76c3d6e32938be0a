package io.gradstream.core.optim;

/**
 * torch.optim.RMSprop (1.13; Hinton's lecture 6e, centered variant from Graves 2013, arXiv:1308.0850).
 * {@code sq = α·sq + ((1−α)·g)·g; avg = sqrt(sq − ga·ga if centered else sq) + eps;
 * buf = μ·buf + g/avg, p = p − lr·buf (momentum) or p = p + (−lr·g)/avg}.
 */
final class RmsProp extends AbstractOptimizer {
    static final String NAME = "RMSprop";

    private final double alpha;
    private final double eps;
    private final double weightDecay;
    private final double momentum;
    private final boolean centered;

    RmsProp(Hyperparameters given) {
        super(NAME, given, defaults("lr", 1e-2, "alpha", 0.99, "eps", 1e-8, "weight_decay", 0.0, "momentum", 0.0,
                "centered", false));
        alpha = hp().number("alpha", 0.99);
        eps = hp().number("eps", 1e-8);
        weightDecay = hp().number("weight_decay", 0);
        momentum = hp().number("momentum", 0);
        centered = hp().flag("centered", false);
        atLeast("eps", eps, 0);
        atLeast("momentum", momentum, 0);
        atLeast("weight_decay", weightDecay, 0);
        atLeast("alpha", alpha, 0);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] sq = state.tensorOrFill("square_avg", n, 0f);
        final float[] buf = momentum > 0 ? state.tensorOrFill("momentum_buffer", n, 0f) : null;
        final float[] ga = centered ? state.tensorOrFill("grad_avg", n, 0f) : null;
        state.advance();

        final float sign = gradSign();
        final float wd = (float) weightDecay;
        final boolean addL2 = weightDecay != 0;
        final float a = (float) alpha;
        final float oneMinusA = (float) (1 - alpha);
        final float epsF = (float) eps;
        final float negLr = (float) -lr;
        final float mom = (float) momentum;
        for (int i = 0; i < n; i++) {
            float gi = sign * g[i];
            if (addL2) {
                gi = gi + wd * p[i];
            }
            float s = sq[i] * a + (oneMinusA * gi) * gi;
            sq[i] = s;
            float avg;
            if (centered) {
                float gAvg = ga[i] * a + oneMinusA * gi;
                ga[i] = gAvg;
                avg = (float) Math.sqrt(s + (-1f * gAvg) * gAvg);
            } else {
                avg = (float) Math.sqrt(s);
            }
            avg = avg + epsF;
            if (buf != null) {
                float b = buf[i] * mom + gi / avg;
                buf[i] = b;
                p[i] = p[i] + negLr * b;
            } else {
                p[i] = p[i] + (negLr * gi) / avg;
            }
        }
    }
}
