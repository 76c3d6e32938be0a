package io.gradstream.core.schedule;

/**
 * A position in a learning-rate schedule: {@link #lr()} is the rate for optimizer step {@link #index()} (0 = the
 * first step), and {@link #step()} moves to the next one, exactly as {@code scheduler.step()} does after each
 * {@code optimizer.step()} in torch. Not thread-safe; replaying a fresh cursor reproduces the same values.
 */
public interface LrCursor {

    /** Number of {@link #step()} calls so far (torch's {@code last_epoch}). */
    long index();

    /** The learning rate for the optimizer step at {@link #index()}. */
    double lr();

    /** The momentum (or {@code betas[0]}) the schedule sets for this step, or NaN when it does not cycle momentum. */
    double momentum();

    /** Advances to the next optimizer step. */
    void step();

    /** Advances {@code n} steps. */
    default void advance(long n) {
        for (long i = 0; i < n; i++) {
            step();
        }
    }
}
