package io.gradstream.core.privacy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PRV epsilons of one policy's ledgers, evaluated as rarely as a per-step report allows: exact up to
 * {@link #EXACT_STEPS} steps, beyond that at the step count rounded up to 7 significant bits, and cached for the last
 * few ledgers (every shard of a subtask asks about the same ones). Not thread-safe.
 *
 * <p>PRV's grid grows with the square root of the steps, so one evaluation costs tens of milliseconds on the operator's
 * thread after a few hundred steps and seconds after tens of thousands. The PRV upper bound of the rounded count (at
 * most 1.6 % more steps) also bounds the true epsilon of the steps taken; the evaluations are then 64 per doubling of
 * the steps: 320 instead of 1,024 over the first 1,024 versions.
 */
final class PrvEpsilons {
    /** Up to this many steps, {@link #atRoundedSteps} is the exact bound of the steps. */
    static final long EXACT_STEPS = 128;

    private static final int CACHE = 8;

    private final PrvEvaluator prv;
    private final double delta;
    /** PRV epsilons of the last ledgers asked about: a step asks about the same two ledgers on every shard. */
    private final Map<List<RdpAccountant.Phase>, Double> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<RdpAccountant.Phase>, Double> eldest) {
            return size() > CACHE;
        }
    };

    PrvEpsilons(PrvEvaluator prv, double delta) {
        this.prv = prv;
        this.delta = delta;
    }

    /** The bound at the phases' step count rounded up ({@link #roundedUp(long)}); infinity where PRV cannot bound it. */
    double atRoundedSteps(List<RdpAccountant.Phase> phases) {
        return cached(roundedUpPhases(phases));
    }

    /** The bound of exactly these phases; infinity where PRV cannot bound it. */
    double exact(List<RdpAccountant.Phase> phases) {
        return cached(phases);
    }

    /** {@code phases} with the last phase's steps raised so that the total has at most 7 significant bits. */
    static List<RdpAccountant.Phase> roundedUpPhases(List<RdpAccountant.Phase> phases) {
        long total = 0;
        for (RdpAccountant.Phase p : phases) {
            total += p.steps();
        }
        long rounded = roundedUp(total);
        if (rounded == total) {
            return phases;
        }
        List<RdpAccountant.Phase> out = new ArrayList<>(phases);
        RdpAccountant.Phase last = out.get(out.size() - 1);
        out.set(
                out.size() - 1,
                new RdpAccountant.Phase(last.noiseMultiplier(), last.sampleRate(), last.steps() + rounded - total));
        return out;
    }

    /** {@code n}, or beyond {@link #EXACT_STEPS} the next count with at most 7 significant bits. */
    static long roundedUp(long n) {
        if (n <= EXACT_STEPS || n > (1L << 61)) {
            return n;
        }
        long unit = 1L << (63 - Long.numberOfLeadingZeros(n) - 6);
        return (n + unit - 1) / unit * unit;
    }

    private double cached(List<RdpAccountant.Phase> phases) {
        Double cached = cache.get(phases);
        if (cached != null) {
            return cached;
        }
        double eps;
        try {
            eps = prv.epsilon(phases, delta);
        } catch (IllegalArgumentException e) {
            // A loss domain too wide or a grid too large for this JVM: a budget then refuses the step.
            eps = Double.POSITIVE_INFINITY;
        }
        cache.put(List.copyOf(phases), eps);
        return eps;
    }
}
