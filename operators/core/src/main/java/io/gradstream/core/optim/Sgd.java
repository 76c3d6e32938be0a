package io.gradstream.core.optim;

/**
 * torch.optim.SGD (1.13, single-tensor path) with momentum, dampening, Nesterov momentum, L2 weight decay and
 * maximize. {@code d = g + wd·p; buf = d (first step) else buf = momentum·buf + (1 − dampening)·d;
 * d = nesterov ? d + momentum·buf : buf; p = p − lr·d}.
 */
final class Sgd extends AbstractOptimizer {
    static final String NAME = "SGD";

    private final double momentum;
    private final double dampening;
    private final double weightDecay;
    private final boolean nesterov;

    Sgd(Hyperparameters given) {
        super(NAME, given, defaults("lr", null, "momentum", 0.0, "dampening", 0.0, "weight_decay", 0.0,
                "nesterov", false));
        momentum = hp().number("momentum", 0);
        dampening = hp().number("dampening", 0);
        weightDecay = hp().number("weight_decay", 0);
        nesterov = hp().flag("nesterov", false);
        atLeast("momentum", momentum, 0);
        atLeast("weight_decay", weightDecay, 0);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new InvalidHyperparameterException("nesterov", true,
                    "Nesterov momentum requires a momentum > 0 and zero dampening, got momentum=" + momentum
                            + ", dampening=" + dampening);
        }
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        state.advance();
        final float sign = gradSign();
        final float wd = (float) weightDecay;
        final float negLr = (float) -lr;
        if (momentum == 0) {
            for (int i = 0; i < n; i++) {
                float d = sign * g[i];
                if (weightDecay != 0) {
                    d = d + wd * p[i];
                }
                p[i] = p[i] + negLr * d;
            }
            return;
        }
        final float mom = (float) momentum;
        float[] buf = state.tensor("momentum_buffer");
        if (buf == null) {
            // torch's first momentum step: buf = clone(d), no dampening.
            buf = new float[n];
            state.putTensor("momentum_buffer", buf);
            for (int i = 0; i < n; i++) {
                float d = sign * g[i];
                if (weightDecay != 0) {
                    d = d + wd * p[i];
                }
                buf[i] = d;
                float u = nesterov ? d + mom * d : d;
                p[i] = p[i] + negLr * u;
            }
            return;
        }
        if (buf.length != n) {
            throw new IllegalArgumentException("momentum_buffer has " + buf.length + " elements but params have " + n);
        }
        final float oneMinusDampening = (float) (1 - dampening);
        for (int i = 0; i < n; i++) {
            float d = sign * g[i];
            if (weightDecay != 0) {
                d = d + wd * p[i];
            }
            float b = buf[i] * mom + oneMinusDampening * d;
            buf[i] = b;
            float u = nesterov ? d + mom * b : b;
            p[i] = p[i] + negLr * u;
        }
    }
}
