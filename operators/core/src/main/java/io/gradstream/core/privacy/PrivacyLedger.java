package io.gradstream.core.privacy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a shard has spent: the noised steps it applied, as phases of (noise multiplier, sample rate, steps). It is kept
 * in the shard's keyed state next to the parameters those steps produced, so a checkpoint commits both together and a
 * restore can neither forget a release nor count one twice. Immutable.
 */
public final class PrivacyLedger {
    /** A shard that has applied no private step. */
    public static final PrivacyLedger EMPTY = new PrivacyLedger(List.of());

    private final List<RdpAccountant.Phase> phases;

    private PrivacyLedger(List<RdpAccountant.Phase> phases) {
        this.phases = phases;
    }

    /** A ledger of the given phases (from a checkpoint); adjacent phases with equal parameters are kept as given. */
    public static PrivacyLedger of(List<RdpAccountant.Phase> phases) {
        Objects.requireNonNull(phases, "phases must not be null");
        return phases.isEmpty() ? EMPTY : new PrivacyLedger(List.copyOf(phases));
    }

    public List<RdpAccountant.Phase> phases() {
        return phases;
    }

    /** Noised steps recorded. */
    public long steps() {
        long n = 0;
        for (RdpAccountant.Phase p : phases) {
            n += p.steps();
        }
        return n;
    }

    /** This ledger with one more step; it extends the last phase when the parameters are the same. */
    public PrivacyLedger plusStep(double noiseMultiplier, double sampleRate) {
        List<RdpAccountant.Phase> next = new ArrayList<>(phases);
        int last = next.size() - 1;
        if (last >= 0
                && next.get(last).noiseMultiplier() == noiseMultiplier
                && next.get(last).sampleRate() == sampleRate) {
            next.set(
                    last,
                    new RdpAccountant.Phase(
                            noiseMultiplier, sampleRate, next.get(last).steps() + 1));
        } else {
            next.add(new RdpAccountant.Phase(noiseMultiplier, sampleRate, 1));
        }
        return new PrivacyLedger(List.copyOf(next));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PrivacyLedger l && l.phases.equals(phases);
    }

    @Override
    public int hashCode() {
        return phases.hashCode();
    }

    @Override
    public String toString() {
        return "PrivacyLedger" + phases;
    }
}
