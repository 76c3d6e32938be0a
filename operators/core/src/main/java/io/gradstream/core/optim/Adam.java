package io.gradstream.core.optim;

import java.util.List;

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
    private final List<Slot> slots;

    Adam(Hyperparameters given, boolean decoupled) {
        super(
                decoupled ? ADAMW : ADAM,
                given,
                defaults(
                        "lr",
                        1e-3,
                        "betas",
                        pairOf(0.9, 0.999),
                        "eps",
                        1e-8,
                        "weight_decay",
                        decoupled ? 1e-2 : 0.0,
                        "amsgrad",
                        false));
        this.decoupled = decoupled;
        h = Moments.of(hp());
        amsgrad = hp().flag("amsgrad", false);
        slots = amsgrad
                ? List.of(Slot.EXP_AVG, Slot.EXP_AVG_SQ, Slot.MAX_EXP_AVG_SQ)
                : List.of(Slot.EXP_AVG, Slot.EXP_AVG_SQ);
    }

    @Override
    public List<Slot> slots() {
        return slots;
    }

    @Override
    public StepScalars.Adam scalars(OptimizerState state) {
        final long t = state.step() + 1;
        final double bc1 = 1 - Math.pow(h.beta1(), t);
        final double bc2 = 1 - Math.pow(h.beta2(), t);
        // AdamW's p = p·(1 − lr·wd) is fused into the loop (same float operations per element, one pass over memory
        // instead of two); Adam's L2 term goes into the gradient instead.
        final boolean decay = decoupled && h.weightDecay() != 0;
        return new StepScalars.Adam(
                gradSign(),
                decoupled ? 0f : (float) h.weightDecay(),
                !decoupled && h.weightDecay() != 0,
                decay,
                decay ? (float) (1 - lr * h.weightDecay()) : 1f,
                (float) h.beta1(),
                (float) (1 - h.beta1()),
                (float) h.beta2(),
                (float) (1 - h.beta2()),
                (float) -(lr / bc1),
                (float) Math.sqrt(bc2),
                (float) h.eps(),
                amsgrad);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill(Slot.EXP_AVG, n);
        final float[] v = state.tensorOrFill(Slot.EXP_AVG_SQ, n);
        final float[] vmax = amsgrad ? state.tensorOrFill(Slot.MAX_EXP_AVG_SQ, n) : null;
        final StepScalars.Adam k = scalars(state);
        state.advance();

        if (amsgrad) {
            for (int i = 0; i < n; i++) {
                float pi = k.decoupledDecay() ? p[i] * k.decayFactor() : p[i];
                float gi = k.gradSign() * g[i];
                if (k.addL2()) {
                    gi = gi + k.weightDecay() * pi;
                }
                float mi = m[i] * k.beta1() + k.oneMinusBeta1() * gi;
                float vi = v[i] * k.beta2() + (k.oneMinusBeta2() * gi) * gi;
                float vm = Math.max(vmax[i], vi);
                m[i] = mi;
                v[i] = vi;
                vmax[i] = vm;
                float denom = (float) Math.sqrt(vm) / k.biasCorrection2Sqrt() + k.eps();
                p[i] = pi + (k.negStepSize() * mi) / denom;
            }
        } else {
            for (int i = 0; i < n; i++) {
                float pi = k.decoupledDecay() ? p[i] * k.decayFactor() : p[i];
                float gi = k.gradSign() * g[i];
                if (k.addL2()) {
                    gi = gi + k.weightDecay() * pi;
                }
                float mi = m[i] * k.beta1() + k.oneMinusBeta1() * gi;
                float vi = v[i] * k.beta2() + (k.oneMinusBeta2() * gi) * gi;
                m[i] = mi;
                v[i] = vi;
                float denom = (float) Math.sqrt(vi) / k.biasCorrection2Sqrt() + k.eps();
                p[i] = pi + (k.negStepSize() * mi) / denom;
            }
        }
    }
}
