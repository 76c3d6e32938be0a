package io.gradstream.core.optim;

import java.util.List;

/**
 * torch.optim.NAdam (1.13; Dozat 2016, "Incorporating Nesterov Momentum into Adam", with the momentum schedule
 * {@code μ_t = β1·(1 − 0.5·0.96^(t·ψ))}). torch keeps {@code mu_product = Π μ_t} as a float32 scalar even for
 * float64 parameters, so this does too: its rounding is part of torch's trajectory, and so is 1.13's second
 * factor μ_t in {@code mu_product_next}.
 */
final class NAdam extends AbstractOptimizer {
    static final String NAME = "NAdam";

    private final Moments h;

    private final double momentumDecay;

    NAdam(Hyperparameters given) {
        super(
                NAME,
                given,
                defaults(
                        "lr",
                        2e-3,
                        "betas",
                        pairOf(0.9, 0.999),
                        "eps",
                        1e-8,
                        "weight_decay",
                        0.0,
                        "momentum_decay",
                        4e-3));
        h = Moments.of(hp());
        momentumDecay = hp().number("momentum_decay", 4e-3);
        atLeast("momentum_decay", momentumDecay, 0);
    }

    @Override
    public List<Slot> slots() {
        return List.of(Slot.EXP_AVG, Slot.EXP_AVG_SQ);
    }

    @Override
    public StepScalars.NAdam scalars(OptimizerState state) {
        Double storedMuProduct = state.scalar(StepScalars.NAdam.MU_PRODUCT);
        final float muProductBefore = storedMuProduct == null ? 1f : storedMuProduct.floatValue();
        final long t = state.step() + 1;

        final double bc2 = 1 - Math.pow(h.beta2(), t);
        final double mu = h.beta1() * (1. - 0.5 * Math.pow(0.96, t * momentumDecay));
        final double muNext = h.beta1() * (1. - 0.5 * Math.pow(0.96, (t + 1) * momentumDecay));
        // torch 1.13 keeps mu_product as a float32 tensor: "mu_product *= mu" is a float32 product with mu rounded
        // to float32, and "mu_product_next = mu_product * mu * mu_next" (mu applied a second time -- torch 1.13's
        // formula, fixed in later releases) is two more float32 products.
        final float muProduct = muProductBefore * (float) mu;
        final double muProductNext = (muProduct * (float) mu) * (float) muNext;
        return new StepScalars.NAdam(
                gradSign(),
                (float) h.weightDecay(),
                h.weightDecay() != 0,
                (float) h.beta1(),
                (float) (1 - h.beta1()),
                (float) h.beta2(),
                (float) (1 - h.beta2()),
                (float) h.eps(),
                (float) bc2,
                (float) (-lr * (1. - mu) / (1. - muProduct)),
                (float) ((-lr * muNext) / (1. - muProductNext)),
                muProduct);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] m = state.tensorOrFill(Slot.EXP_AVG, n);
        final float[] v = state.tensorOrFill(Slot.EXP_AVG_SQ, n);
        final StepScalars.NAdam k = scalars(state);
        state.advance();
        state.putScalar(StepScalars.NAdam.MU_PRODUCT, k.muProduct());

        for (int i = 0; i < n; i++) {
            float gi = k.gradSign() * g[i];
            if (k.addL2()) {
                gi = gi + k.weightDecay() * p[i];
            }
            float mi = m[i] * k.beta1() + k.oneMinusBeta1() * gi;
            float vi = v[i] * k.beta2() + (k.oneMinusBeta2() * gi) * gi;
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi / k.biasCorrection2()) + k.eps();
            float pi = p[i] + (k.gradCoef() * gi) / denom;
            p[i] = pi + (k.avgCoef() * mi) / denom;
        }
    }
}
