package io.gradstream.core.privacy;

import java.util.Locale;

/**
 * Watches the assumption behind a DP-SGD accountant: Poisson sampling at rate q makes the expected count of
 * contributions (or examples) per step q N, the count the noise is divided by. A service cannot see how workers pick
 * their batches, but it sees the counts: when one step's count leaves [expected / factor, expected x factor], the
 * accountant's epsilon no longer describes what happened. It reports each crossing of that band once (out, and back
 * in), not every step. Not thread-safe; one per model and subtask.
 */
public final class SamplingDrift {
    /** The factor beyond which a count is reported unless configured otherwise. */
    public static final double DEFAULT_FACTOR = 2;

    private final double factor;
    private boolean drifting;
    private double ratio = Double.NaN;

    /** @param factor how far (as a ratio, &gt; 1) a step's count may be from the expected one before it is reported */
    public SamplingDrift(double factor) {
        if (!(factor > 1) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("the drift factor must be finite and > 1, got " + factor);
        }
        this.factor = factor;
    }

    /** A crossing of the band: the step's count, the expected one, and whether the count is now outside. */
    public record Crossing(double observed, double expected, double factor, boolean outside) {
        /** What operators read about a DP-SGD model: the numbers and what they mean for epsilon. */
        public String describe() {
            return describe(true);
        }

        /**
         * What operators read: for a sampled mechanism ({@code sampled}, DP-SGD) a count off the band means epsilon's
         * sampling assumption failed; for DP-FTRL, which assumes no sampling, epsilon still holds (each participant at
         * most once per tree), but the noisy sum is divided by the expected count, so the steps are scaled wrongly.
         */
        public String describe(boolean sampled) {
            if (!sampled) {
                return outside
                        ? String.format(
                                Locale.ROOT,
                                "batch drift: a step had %s contributions where the model divides by %s (its expected "
                                        + "count per step), off by more than a factor %s; DP-FTRL's epsilon does not "
                                        + "assume sampling, but its steps are scaled by that divisor: check the "
                                        + "workers' batch size",
                                num(observed),
                                num(expected),
                                num(factor))
                        : String.format(
                                Locale.ROOT,
                                "batch drift over: a step had %s contributions, within a factor %s of the expected %s",
                                num(observed),
                                num(factor),
                                num(expected));
            }
            return outside
                    ? String.format(
                            Locale.ROOT,
                            "sampling drift: a step had %s contributions where the accountant assumes %s (sample rate x "
                                    + "population), off by more than a factor %s; epsilon assumes Poisson sampling at "
                                    + "that rate and no longer describes these steps: check how workers sample",
                            num(observed),
                            num(expected),
                            num(factor))
                    : String.format(
                            Locale.ROOT,
                            "sampling drift over: a step had %s contributions, within a factor %s of the expected %s",
                            num(observed),
                            num(factor),
                            num(expected));
        }

        private static String num(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15
                    ? Long.toString((long) d)
                    : String.format(Locale.ROOT, "%.4g", d);
        }
    }

    /**
     * Records one step.
     *
     * @param observed contributions (or examples, for per-example privacy) the step aggregated
     * @param expected what the accountant assumes per step (q N)
     * @return the crossing when the step left or re-entered the band, else null
     */
    public Crossing observe(double observed, double expected) {
        if (!(expected > 0) || !(observed >= 0)) {
            return null;
        }
        ratio = observed / expected;
        boolean outside = ratio > factor || ratio < 1 / factor;
        if (outside == drifting) {
            return null;
        }
        drifting = outside;
        return new Crossing(observed, expected, factor, outside);
    }

    /** observed / expected of the last step, NaN before one. */
    public double ratio() {
        return ratio;
    }

    /** Whether the last step was outside the band. */
    public boolean drifting() {
        return drifting;
    }

    public double factor() {
        return factor;
    }
}
