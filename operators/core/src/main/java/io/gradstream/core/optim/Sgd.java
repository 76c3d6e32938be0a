package io.gradstream.core.optim;

import java.util.List;

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
        super(
                NAME,
                given,
                defaults("lr", null, "momentum", 0.0, "dampening", 0.0, "weight_decay", 0.0, "nesterov", false));
        momentum = hp().number("momentum", 0);
        dampening = hp().number("dampening", 0);
        weightDecay = hp().number("weight_decay", 0);
        nesterov = hp().flag("nesterov", false);
        atLeast("momentum", momentum, 0);
        atLeast("weight_decay", weightDecay, 0);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new InvalidHyperparameterException(
                    "nesterov",
                    true,
                    "Nesterov momentum requires a momentum > 0 and zero dampening, got momentum=" + momentum
                            + ", dampening=" + dampening);
        }
    }

    @Override
    public List<Slot> slots() {
        return momentum == 0 ? List.of() : List.of(Slot.MOMENTUM_BUFFER);
    }

    @Override
    public StepScalars.Sgd scalars(OptimizerState state) {
        return new StepScalars.Sgd(
                gradSign(),
                (float) weightDecay,
                weightDecay != 0,
                (float) -lr,
                momentum != 0,
                (float) momentum,
                state.tensor(Slot.MOMENTUM_BUFFER.name()) == null,
                nesterov,
                (float) (1 - dampening));
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final StepScalars.Sgd k = scalars(state);
        state.advance();
        if (!k.hasMomentum()) {
            for (int i = 0; i < n; i++) {
                float d = k.gradSign() * g[i];
                if (k.addL2()) {
                    d = d + k.weightDecay() * p[i];
                }
                p[i] = p[i] + k.negLr() * d;
            }
            return;
        }
        float[] buf = state.tensor(Slot.MOMENTUM_BUFFER.name());
        if (k.firstMomentumStep()) {
            // torch's first momentum step: buf = clone(d), no dampening.
            buf = new float[n];
            state.putTensor(Slot.MOMENTUM_BUFFER.name(), buf);
            for (int i = 0; i < n; i++) {
                float d = k.gradSign() * g[i];
                if (k.addL2()) {
                    d = d + k.weightDecay() * p[i];
                }
                buf[i] = d;
                float u = k.nesterov() ? d + k.momentum() * d : d;
                p[i] = p[i] + k.negLr() * u;
            }
            return;
        }
        if (buf.length != n) {
            throw new IllegalArgumentException("momentum_buffer has " + buf.length + " elements but params have " + n);
        }
        for (int i = 0; i < n; i++) {
            float d = k.gradSign() * g[i];
            if (k.addL2()) {
                d = d + k.weightDecay() * p[i];
            }
            float b = buf[i] * k.momentum() + k.oneMinusDampening() * d;
            buf[i] = b;
            float u = k.nesterov() ? d + k.momentum() * b : b;
            p[i] = p[i] + k.negLr() * u;
        }
    }
}
