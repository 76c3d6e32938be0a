package io.gradstream.core.schedule;

import io.gradstream.core.optim.Hyperparameters;

/**
 * An immutable learning-rate schedule with torch.optim.lr_scheduler's semantics and hyperparameter names. Values are
 * produced by {@link LrCursor}s that replay torch's recursive (chainable) update rules, so they equal torch's
 * {@code get_last_lr()} to the last bit where the JDK's {@code Math.cos}/{@code Math.pow} agree with C's libm.
 */
public interface LrSchedule {

    /** The canonical name, e.g. {@code StepLR}. */
    String name();

    Hyperparameters hyperparameters();

    /**
     * A cursor at step 0 of an optimizer whose configured learning rate is {@code baseLr} and momentum (or
     * {@code betas[0]}) is {@code baseMomentum} (NaN when it has neither).
     */
    LrCursor start(double baseLr, double baseMomentum);

    /** The learning rate at step {@code index}, by replaying from step 0 (what a restored operator does). */
    default double lrAt(double baseLr, long index) {
        LrCursor c = start(baseLr, Double.NaN);
        c.advance(index);
        return c.lr();
    }
}
