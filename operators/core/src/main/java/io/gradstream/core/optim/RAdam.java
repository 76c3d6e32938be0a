package io.gradstream.core.optim;

import java.util.List;

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
    public List<Slot> slots() {
        return List.of(Slot.EXP_AVG, Slot.EXP_AVG_SQ);
    }

    @Override
    public StepScalars.RAdam scalars(OptimizerState state) {
        final long t = state.step() + 1;
        final double bc1 = 1 - Math.pow(h.beta1(), t);
        final double bc2 = 1 - Math.pow(h.beta2(), t);
        final double rhoInf = 2 / (1 - h.beta2()) - 1;
        final double rhoT = rhoInf - 2 * t * Math.pow(h.beta2(), t) / bc2;
        final boolean rectified = rhoT > 5.;
        final float rect = rectified
                ? (float) Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT))
                : 1f;
        return new StepScalars.RAdam(
                gradSign(),
                (float) h.weightDecay(),
                h.weightDecay() != 0,
                (float) h.beta1(),
                (float) (1 - h.beta1()),
                (float) h.beta2(),
                (float) (1 - h.beta2()),
                (float) h.eps(),
                (float) bc1,
                (float) lr,
                (float) Math.sqrt(bc2),
                rect,
                rectified);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill(Slot.EXP_AVG, n);
        final float[] v = state.tensorOrFill(Slot.EXP_AVG_SQ, n);
        final StepScalars.RAdam k = scalars(state);
        state.advance();

        for (int i = 0; i < n; i++) {
            float gi = k.gradSign() * g[i];
            if (k.addL2()) {
                gi = gi + k.weightDecay() * p[i];
            }
            float mi = m[i] * k.beta1() + k.oneMinusBeta1() * gi;
            float vi = v[i] * k.beta2() + (k.oneMinusBeta2() * gi) * gi;
            m[i] = mi;
            v[i] = vi;
            float mHatLr = (mi / k.biasCorrection1()) * k.lr();
            if (k.rectified()) {
                // torch evaluates python_scalar / tensor as reciprocal(tensor) * scalar.
                float adaptiveLr = (1f / ((float) Math.sqrt(vi) + k.eps())) * k.biasCorrection2Sqrt();
                p[i] = p[i] - (mHatLr * adaptiveLr) * k.rectification();
            } else {
                p[i] = p[i] - mHatLr;
            }
        }
    }
}
