package io.gradstream.core.optim;

import java.util.ArrayList;
import java.util.List;

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
    private final List<Slot> slots;

    RmsProp(Hyperparameters given) {
        super(
                NAME,
                given,
                defaults(
                        "lr",
                        1e-2,
                        "alpha",
                        0.99,
                        "eps",
                        1e-8,
                        "weight_decay",
                        0.0,
                        "momentum",
                        0.0,
                        "centered",
                        false));
        alpha = hp().number("alpha", 0.99);
        eps = hp().number("eps", 1e-8);
        weightDecay = hp().number("weight_decay", 0);
        momentum = hp().number("momentum", 0);
        centered = hp().flag("centered", false);
        atLeast("eps", eps, 0);
        atLeast("momentum", momentum, 0);
        atLeast("weight_decay", weightDecay, 0);
        atLeast("alpha", alpha, 0);
        // The order in which an accelerator binds them: the slots this configuration creates, as torch orders them.
        List<Slot> s = new ArrayList<>(List.of(Slot.SQUARE_AVG));
        if (momentum > 0) {
            s.add(Slot.MOMENTUM_BUFFER);
        }
        if (centered) {
            s.add(Slot.GRAD_AVG);
        }
        slots = List.copyOf(s);
    }

    @Override
    public List<Slot> slots() {
        return slots;
    }

    @Override
    public StepScalars.RmsProp scalars(OptimizerState state) {
        return new StepScalars.RmsProp(
                gradSign(),
                (float) weightDecay,
                weightDecay != 0,
                (float) alpha,
                (float) (1 - alpha),
                (float) eps,
                (float) -lr,
                (float) momentum,
                momentum > 0,
                centered);
    }

    @Override
    public void step(float[] p, float[] g, OptimizerState state) {
        final int n = checkLengths(p, g);
        final float[] sq = state.tensorOrFill(Slot.SQUARE_AVG, n);
        final float[] buf = momentum > 0 ? state.tensorOrFill(Slot.MOMENTUM_BUFFER, n) : null;
        final float[] ga = centered ? state.tensorOrFill(Slot.GRAD_AVG, n) : null;
        final StepScalars.RmsProp k = scalars(state);
        state.advance();

        for (int i = 0; i < n; i++) {
            float gi = k.gradSign() * g[i];
            if (k.addL2()) {
                gi = gi + k.weightDecay() * p[i];
            }
            float s = sq[i] * k.alpha() + (k.oneMinusAlpha() * gi) * gi;
            sq[i] = s;
            float avg;
            if (k.centered()) {
                float gAvg = ga[i] * k.alpha() + k.oneMinusAlpha() * gi;
                ga[i] = gAvg;
                avg = (float) Math.sqrt(s + (-1f * gAvg) * gAvg);
            } else {
                avg = (float) Math.sqrt(s);
            }
            avg = avg + k.eps();
            if (buf != null) {
                float b = buf[i] * k.momentum() + gi / avg;
                buf[i] = b;
                p[i] = p[i] + k.negLr() * b;
            } else {
                p[i] = p[i] + (k.negLr() * gi) / avg;
            }
        }
    }
}
