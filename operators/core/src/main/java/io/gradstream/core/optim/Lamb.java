package io.gradstream.core.optim;

import java.util.List;

/**
 * LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning", arXiv:1904.00962, Algorithm 2 with bias
 * correction), treating one shard as one layer with φ = identity: {@code r = m̂ / (sqrt(v̂) + eps); u = r + wd·p;
 * p = p − (lr·‖p‖/‖u‖)·u}, the trust ratio set to 1 when either norm is 0. Norms are float64 sums of squares,
 * rounded once to float32.
 */
final class Lamb extends AbstractOptimizer {
    static final String NAME = "LAMB";

    private final Moments h;

    Lamb(Hyperparameters given) {
        super(NAME, given, defaults("lr", 1e-3, "betas", pairOf(0.9, 0.999), "eps", 1e-6, "weight_decay", 0.0));
        h = Moments.of(hp());
    }

    @Override
    public List<Slot> slots() {
        return List.of(Slot.EXP_AVG, Slot.EXP_AVG_SQ);
    }

    @Override
    public StepScalars.Lamb scalars(OptimizerState state) {
        final long t = state.step() + 1;
        return new StepScalars.Lamb(
                gradSign(),
                (float) h.beta1(),
                (float) (1 - h.beta1()),
                (float) h.beta2(),
                (float) (1 - h.beta2()),
                (float) h.eps(),
                (float) h.weightDecay(),
                (float) (1 - Math.pow(h.beta1(), t)),
                (float) (1 - Math.pow(h.beta2(), t)),
                (float) lr);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill(Slot.EXP_AVG, n);
        final float[] v = state.tensorOrFill(Slot.EXP_AVG_SQ, n);
        final StepScalars.Lamb k = scalars(state);
        state.advance();

        // Pass 1 updates the moments and measures both norms; pass 2 recomputes u with the same float operations
        // (so the same values) instead of keeping an n-element scratch array per step.
        double pSq = 0;
        double uSq = 0;
        for (int i = 0; i < n; i++) {
            float gi = k.gradSign() * g[i];
            float mi = k.beta1() * m[i] + k.oneMinusBeta1() * gi;
            float vi = k.beta2() * v[i] + (k.oneMinusBeta2() * gi) * gi;
            m[i] = mi;
            v[i] = vi;
            float u = update(mi, vi, p[i], k);
            pSq += (double) p[i] * p[i];
            uSq += (double) u * u;
        }
        final float trustRatio = StepScalars.Lamb.trustRatio(pSq, uSq);
        state.putScalar(StepScalars.Lamb.TRUST_RATIO, trustRatio);
        final float scaledLr = k.scaledLr(trustRatio);
        for (int i = 0; i < n; i++) {
            float u = update(m[i], v[i], p[i], k);
            p[i] = p[i] - scaledLr * u;
        }
    }

    private static float update(float m, float v, float p, StepScalars.Lamb k) {
        float mHat = m / k.biasCorrection1();
        float vHat = v / k.biasCorrection2();
        float r = mHat / ((float) Math.sqrt(vHat) + k.eps());
        return r + k.weightDecay() * p;
    }
}
