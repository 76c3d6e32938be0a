package io.gradstream.core.optim;

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
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill("exp_avg", n, 0f);
        final float[] v = state.tensorOrFill("exp_avg_sq", n, 0f);
        final long t = state.advance();
        final float bc1 = (float) (1 - Math.pow(h.beta1(), t));
        final float bc2 = (float) (1 - Math.pow(h.beta2(), t));
        final float sign = gradSign();
        final float b1 = (float) h.beta1();
        final float oneMinusB1 = (float) (1 - h.beta1());
        final float b2 = (float) h.beta2();
        final float oneMinusB2 = (float) (1 - h.beta2());
        final float epsF = (float) h.eps();
        final float wd = (float) h.weightDecay();

        // Pass 1 updates the moments and measures both norms; pass 2 recomputes u with the same float operations
        // (so the same values) instead of keeping an n-element scratch array per step.
        double pSq = 0;
        double uSq = 0;
        for (int i = 0; i < n; i++) {
            float gi = sign * g[i];
            float mi = b1 * m[i] + oneMinusB1 * gi;
            float vi = b2 * v[i] + (oneMinusB2 * gi) * gi;
            m[i] = mi;
            v[i] = vi;
            float u = update(mi, vi, p[i], bc1, bc2, epsF, wd);
            pSq += (double) p[i] * p[i];
            uSq += (double) u * u;
        }
        final float pNorm = (float) Math.sqrt(pSq);
        final float uNorm = (float) Math.sqrt(uSq);
        final float trustRatio = pNorm > 0 && uNorm > 0 ? pNorm / uNorm : 1f;
        state.putScalar("trust_ratio", trustRatio);
        final float scaledLr = (float) lr * trustRatio;
        for (int i = 0; i < n; i++) {
            float u = update(m[i], v[i], p[i], bc1, bc2, epsF, wd);
            p[i] = p[i] - scaledLr * u;
        }
    }

    private static float update(float m, float v, float p, float bc1, float bc2, float eps, float wd) {
        float mHat = m / bc1;
        float vHat = v / bc2;
        float r = mHat / ((float) Math.sqrt(vHat) + eps);
        return r + wd * p;
    }
}
