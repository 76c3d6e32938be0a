package io.gradstream.core.optim;

/**
 * torch.optim.RAdam (1.13; Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond",
 * arXiv:1908.03265). While the variance is intractable ({@code ρ_t ≤ 5}) the step is SGD with bias-corrected
 * momentum; afterwards it is rectified: {@code p = p − ((m̂·lr)·(sqrt(1−β2^t)/(sqrt(v)+eps)))·r_t}.
 */
final class RAdam extends AbstractOptimizer {
    static final String NAME = "RAdam";

    private final Moments h;


    RAdam(Hyperparameters given) {
        super(NAME, given, defaults("lr", 1e-3, "betas", pairOf(0.9, 0.999), "eps", 1e-8, "weight_decay", 0.0));
        h = Moments.of(hp());
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill("exp_avg", n, 0f);
        final float[] v = state.tensorOrFill("exp_avg_sq", n, 0f);
        final long t = state.advance();

        final double bc1 = 1 - Math.pow(h.beta1(), t);
        final double bc2 = 1 - Math.pow(h.beta2(), t);
        final double rhoInf = 2 / (1 - h.beta2()) - 1;
        final double rhoT = rhoInf - 2 * t * Math.pow(h.beta2(), t) / bc2;
        final boolean rectified = rhoT > 5.;
        final float rect = rectified
                ? (float) Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT))
                : 1f;
        final float bc1F = (float) bc1;
        final float lrF = (float) lr;
        final float bc2Sqrt = (float) Math.sqrt(bc2);

        final float sign = gradSign();
        final float wd = (float) h.weightDecay();
        final boolean addL2 = h.weightDecay() != 0;
        final float b1 = (float) h.beta1();
        final float oneMinusB1 = (float) (1 - h.beta1());
        final float b2 = (float) h.beta2();
        final float oneMinusB2 = (float) (1 - h.beta2());
        final float epsF = (float) h.eps();
        for (int i = 0; i < n; i++) {
            float gi = sign * g[i];
            if (addL2) {
                gi = gi + wd * p[i];
            }
            float mi = m[i] * b1 + oneMinusB1 * gi;
            float vi = v[i] * b2 + (oneMinusB2 * gi) * gi;
            m[i] = mi;
            v[i] = vi;
            float mHatLr = (mi / bc1F) * lrF;
            if (rectified) {
                // torch evaluates python_scalar / tensor as reciprocal(tensor) * scalar.
                float adaptiveLr = (1f / ((float) Math.sqrt(vi) + epsF)) * bc2Sqrt;
                p[i] = p[i] - (mHatLr * adaptiveLr) * rect;
            } else {
                p[i] = p[i] - mHatLr;
            }
        }
    }
}
