package io.gradstream.core.optim;

/**
 * torch.optim.Adam and torch.optim.AdamW (1.13, single-tensor path; Kingma &amp; Ba 2015, arXiv:1412.6980;
 * Loshchilov &amp; Hutter 2019, arXiv:1711.05101). {@code m = β1·m + (1−β1)·g; v = β2·v + ((1−β2)·g)·g;
 * denom = sqrt(v or max(vmax, v)) / sqrt(1−β2^t) + eps; p = p + (−lr/(1−β1^t))·m / denom}; Adam adds
 * {@code wd·p} to the gradient, AdamW first scales {@code p} by {@code 1 − lr·wd}.
 */
final class Adam extends AbstractOptimizer {
    static final String ADAM = "Adam";
    static final String ADAMW = "AdamW";

    private final Moments h;

    private final boolean decoupled;
    private final boolean amsgrad;

    Adam(Hyperparameters given, boolean decoupled) {
        super(decoupled ? ADAMW : ADAM, given, defaults("lr", 1e-3, "betas", pairOf(0.9, 0.999), "eps", 1e-8,
                "weight_decay", decoupled ? 1e-2 : 0.0, "amsgrad", false));
        this.decoupled = decoupled;
        h = Moments.of(hp());
        amsgrad = hp().flag("amsgrad", false);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill("exp_avg", n, 0f);
        final float[] v = state.tensorOrFill("exp_avg_sq", n, 0f);
        final float[] vmax = amsgrad ? state.tensorOrFill("max_exp_avg_sq", n, 0f) : null;
        final long t = state.advance();

        // Scalars in double as torch computes them from Python floats, each rounded once to float32 where torch
        // passes it to a float32 tensor op.
        final double bc1 = 1 - Math.pow(h.beta1(), t);
        final double bc2 = 1 - Math.pow(h.beta2(), t);
        final float negStepSize = (float) -(lr / bc1);
        final float bc2Sqrt = (float) Math.sqrt(bc2);
        final float b1 = (float) h.beta1();
        final float oneMinusB1 = (float) (1 - h.beta1());
        final float b2 = (float) h.beta2();
        final float oneMinusB2 = (float) (1 - h.beta2());
        final float epsF = (float) h.eps();
        final float sign = gradSign();

        // AdamW's p = p·(1 − lr·wd) is fused into the loop (same float operations per element, one pass over
        // memory instead of two); Adam's L2 term goes into the gradient instead.
        final boolean decay = decoupled && h.weightDecay() != 0;
        final float decayFactor = (float) (1 - lr * h.weightDecay());
        final float l2 = decoupled ? 0f : (float) h.weightDecay();
        final boolean addL2 = !decoupled && h.weightDecay() != 0;
        if (amsgrad) {
            for (int i = 0; i < n; i++) {
                float pi = decay ? p[i] * decayFactor : p[i];
                float gi = sign * g[i];
                if (addL2) {
                    gi = gi + l2 * pi;
                }
                float mi = m[i] * b1 + oneMinusB1 * gi;
                float vi = v[i] * b2 + (oneMinusB2 * gi) * gi;
                float vm = Math.max(vmax[i], vi);
                m[i] = mi;
                v[i] = vi;
                vmax[i] = vm;
                float denom = (float) Math.sqrt(vm) / bc2Sqrt + epsF;
                p[i] = pi + (negStepSize * mi) / denom;
            }
        } else {
            for (int i = 0; i < n; i++) {
                float pi = decay ? p[i] * decayFactor : p[i];
                float gi = sign * g[i];
                if (addL2) {
                    gi = gi + l2 * pi;
                }
                float mi = m[i] * b1 + oneMinusB1 * gi;
                float vi = v[i] * b2 + (oneMinusB2 * gi) * gi;
                m[i] = mi;
                v[i] = vi;
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + epsF;
                p[i] = pi + (negStepSize * mi) / denom;
            }
        }
    }
}
