package io.gradstream.core.privacy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a shard has spent: the noised steps it applied, as phases of (noise multiplier, sample rate, steps), and the
 * accountant its last step was accounted with. It is kept in the shard's keyed state next to the parameters those
 * steps produced, so a checkpoint commits both together and a restore can neither forget a release nor count one
 * twice. The phases are facts about the mechanism, so any accountant can bound them (a model created again with
 * another accountant continues the ledger under its own). Immutable.
 */
public final class PrivacyLedger {
    /** A shard that has applied no private step. */
    public static final PrivacyLedger EMPTY = new PrivacyLedger(List.of(), Accountant.RDP);

    private final List<RdpAccountant.Phase> phases;
    private final Accountant accountant;

    private PrivacyLedger(List<RdpAccountant.Phase> phases, Accountant accountant) {
        this.phases = phases;
        this.accountant = Objects.requireNonNull(accountant, "accountant must not be null");
    }

    /**
     * A ledger of the given phases accounted with RDP (from a checkpoint written before accountants were
     * selectable); adjacent phases with equal parameters are kept as given.
     */
    public static PrivacyLedger of(List<RdpAccountant.Phase> phases) {
        return of(phases, Accountant.RDP);
    }

    /** A ledger of the given phases (from a checkpoint), last accounted with {@code accountant}. */
    public static PrivacyLedger of(List<RdpAccountant.Phase> phases, Accountant accountant) {
        Objects.requireNonNull(phases, "phases must not be null");
        return phases.isEmpty() && accountant == Accountant.RDP
                ? EMPTY
                : new PrivacyLedger(List.copyOf(phases), accountant);
    }

    /** The accountant the last step was accounted with (RDP for a ledger from before accountants were selectable). */
    public Accountant accountant() {
        return accountant;
    }

    /** This ledger, its steps accounted from now on with {@code next}. */
    public PrivacyLedger accountedWith(Accountant next) {
        return next == accountant ? this : new PrivacyLedger(phases, next);
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
        return new PrivacyLedger(List.copyOf(next), accountant);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PrivacyLedger l && l.phases.equals(phases) && l.accountant == accountant;
    }

    @Override
    public int hashCode() {
        return phases.hashCode() * 31 + accountant.hashCode();
    }

    @Override
    public String toString() {
        return "PrivacyLedger[" + accountant + "]" + phases;
    }
}
