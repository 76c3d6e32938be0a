package io.gradstream.core.privacy;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model's differential-privacy settings, validated once by {@link Builder#build()}: the unit of privacy, the clip
 * norm C, the noise multiplier sigma (given, or derived from a target epsilon over planned steps as Opacus'
 * {@code make_private_with_epsilon}), delta, the sampling of participants, and the optional epsilon budget.
 * It answers the accounting questions of the pipeline (epsilon of a ledger, whether one more step fits the budget)
 * with its {@link Accountant}: the RDP of the sampled Gaussian mechanism (Mironov et al. 2019, arXiv:1908.10530) over
 * Opacus' orders, or the PRV accountant (Gopi, Lee, Wutschitz 2021, arXiv:2106.02848) whose upper bound it reports.
 *
 * <p>Settings that would silently give a meaningless guarantee are refused, not warned about: delta &gt;= 1/N (a
 * mechanism that publishes one random participant's data in the clear satisfies it), a sampling rate that disagrees
 * with the expected participants and the population, a non-positive clip, a budget the first step already exceeds.
 * Not thread-safe (caches RDP curves and PRV epsilons: every shard of a subtask asks about the same ledgers).
 */
public final class PrivacyPolicy {

    /** What one unit of privacy is. */
    public enum Unit {
        /** Each gradient message is one participant's update (client-level DP); the service clips it to C. */
        CONTRIBUTION,
        /** Each example is protected; workers clip every example to C and send the sum, the service checks it. */
        EXAMPLE
    }

    /** Relative disagreement of sampleRate x populationSize and expectedPerStep tolerated (rounding only). */
    static final double CONSISTENCY_TOLERANCE = 1e-9;

    private final Unit unit;
    private final double clipNorm;
    private final double noiseMultiplier;
    private final double delta;
    private final double sampleRate;
    private final double expectedPerStep;
    private final double populationSize;
    private final double targetEpsilon;
    private final Accountant accountant;
    private final PrvEvaluator prv;
    /** PRV's epsilons of this policy's ledgers (null for RDP). */
    private final PrvEpsilons prvEpsilons;

    private final double[] orders = RdpAccountant.defaultOrders();
    private final Map<Long, double[]> stepCurves = new HashMap<>();

    private PrivacyPolicy(
            Builder b, double noiseMultiplier, double sampleRate, double expectedPerStep, double populationSize) {
        this.unit = b.unit;
        this.clipNorm = b.clipNorm;
        this.noiseMultiplier = noiseMultiplier;
        this.delta = b.delta;
        this.sampleRate = sampleRate;
        this.expectedPerStep = expectedPerStep;
        this.populationSize = populationSize;
        this.targetEpsilon = b.targetEpsilon;
        this.accountant = b.accountant;
        this.prv = b.prv;
        this.prvEpsilons = b.prv == null ? null : new PrvEpsilons(b.prv, b.delta);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Unit unit() {
        return unit;
    }

    /** C: the L2 bound of one unit's whole contribution, over all shards. */
    public double clipNorm() {
        return clipNorm;
    }

    public double noiseMultiplier() {
        return noiseMultiplier;
    }

    public double delta() {
        return delta;
    }

    /** q: the probability that a given participant (unit) takes part in a step. */
    public double sampleRate() {
        return sampleRate;
    }

    /** The denominator of every step: q N contributions (CONTRIBUTION) or examples (EXAMPLE). */
    public double expectedPerStep() {
        return expectedPerStep;
    }

    public double populationSize() {
        return populationSize;
    }

    public boolean hasBudget() {
        return !Double.isNaN(targetEpsilon);
    }

    /** The epsilon budget, NaN when there is none. */
    public double targetEpsilon() {
        return targetEpsilon;
    }

    /** The accountant of {@link #epsilon} and of the budget. */
    public Accountant accountant() {
        return accountant;
    }

    /**
     * Epsilon of the steps in {@code ledger} under this policy's accountant (RDP: Opacus' conversion; PRV: an upper
     * bound, see {@link #prvEpsilon}); 0 for an empty ledger, infinity where PRV cannot bound it (a loss domain too
     * wide or a grid too large for this JVM), so that a budget then refuses the step rather than fail the job.
     */
    public double epsilon(PrivacyLedger ledger) {
        if (ledger.phases().isEmpty()) {
            return 0;
        }
        return accountant == Accountant.PRV ? prvEpsilon(ledger.phases()) : rdpEpsilon(ledger.phases());
    }

    /**
     * The longest plan whose noise multiplier the PRV accountant derives at CREATE: the search evaluates PRV a few
     * dozen times at the planned steps, about a second each at this length, and a control record must not stall the
     * job for longer.
     */
    public static final long PRV_MAX_PLANNED_STEPS = 10_000;

    /**
     * PRV's upper bound, at the step count rounded up as {@link PrvEpsilons} describes; where that bound would exceed
     * the budget, the exact bound of the steps is used instead, so the budget stops at the same step as with exact
     * evaluation and no reported epsilon of an applied step exceeds the target.
     */
    private double prvEpsilon(List<RdpAccountant.Phase> phases) {
        double bound = prvEpsilons.atRoundedSteps(phases);
        if (!hasBudget() || bound <= targetEpsilon) {
            return bound;
        }
        return prvEpsilons.exact(phases);
    }

    private double rdpEpsilon(List<RdpAccountant.Phase> phases) {
        double[] total = new double[orders.length];
        for (RdpAccountant.Phase p : phases) {
            double[] curve = stepCurve(p.noiseMultiplier(), p.sampleRate());
            for (int i = 0; i < total.length; i++) {
                total[i] += curve[i] * p.steps();
            }
        }
        return RdpAccountant.epsilon(orders, total, delta, RdpAccountant.Conversion.OPACUS)
                .epsilon();
    }

    /** The ledger after one more step with this policy's noise and sampling, accounted with its accountant. */
    public PrivacyLedger afterStep(PrivacyLedger ledger) {
        return ledger.plusStep(noiseMultiplier, sampleRate).accountedWith(accountant);
    }

    /** Whether one more step keeps epsilon within the budget (always, without a budget). */
    public boolean allowsStep(PrivacyLedger ledger) {
        return !hasBudget() || epsilon(afterStep(ledger)) <= targetEpsilon;
    }

    /** The RDP curve of one step; per-step curves are the expensive part (fractional orders sum long series). */
    private double[] stepCurve(double sigma, double q) {
        long key = Double.doubleToLongBits(sigma) * 31 + Double.doubleToLongBits(q);
        double[] curve = stepCurves.get(key);
        if (curve == null || stepCurves.size() > 64) {
            curve = RdpAccountant.rdp(q, sigma, 1, orders);
            if (stepCurves.size() > 64) {
                stepCurves.clear();
            }
            stepCurves.put(key, curve);
        }
        return curve;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "PrivacyPolicy[accountant=%s, unit=%s, clipNorm=%s, noiseMultiplier=%s, delta=%s, "
                        + "sampleRate=%s, expectedPerStep=%s, populationSize=%s, targetEpsilon=%s]",
                accountant,
                unit,
                clipNorm,
                noiseMultiplier,
                delta,
                sampleRate,
                expectedPerStep,
                populationSize,
                targetEpsilon);
    }

    /**
     * Collects the settings; {@link #build()} checks them together. Sampling needs two of sampleRate (q),
     * expectedPerStep (L) and populationSize (N), related by L = q N; noise needs noiseMultiplier, or targetEpsilon
     * with plannedSteps.
     */
    public static final class Builder {
        private Unit unit = Unit.CONTRIBUTION;
        private double clipNorm = Double.NaN;
        private double noiseMultiplier = Double.NaN;
        private double targetEpsilon = Double.NaN;
        private long plannedSteps;
        private double delta = Double.NaN;
        private double sampleRate = Double.NaN;
        private double expectedPerStep = Double.NaN;
        private double populationSize = Double.NaN;
        private Accountant accountant = Accountant.RDP;
        private PrvEvaluator prv;

        private Builder() {}

        /** The PRV accountant's evaluator ({@code PrvPolicyEvaluator.INSTANCE}); required for {@link Accountant#PRV}. */
        public Builder prvEvaluator(PrvEvaluator evaluator) {
            this.prv = evaluator;
            return this;
        }

        /** RDP unless given: what every policy was before accountants were selectable. */
        public Builder accountant(Accountant accountant) {
            this.accountant = java.util.Objects.requireNonNull(accountant, "accountant must not be null");
            return this;
        }

        public Builder unit(Unit unit) {
            this.unit = java.util.Objects.requireNonNull(unit, "unit must not be null");
            return this;
        }

        public Builder clipNorm(double c) {
            this.clipNorm = c;
            return this;
        }

        /** NaN: derive it from the target epsilon and planned steps. */
        public Builder noiseMultiplier(double sigma) {
            this.noiseMultiplier = sigma;
            return this;
        }

        /** NaN: no budget. */
        public Builder targetEpsilon(double eps) {
            this.targetEpsilon = eps;
            return this;
        }

        /** 0: not given. */
        public Builder plannedSteps(long steps) {
            this.plannedSteps = steps;
            return this;
        }

        public Builder delta(double delta) {
            this.delta = delta;
            return this;
        }

        /** NaN: not given. */
        public Builder sampleRate(double q) {
            this.sampleRate = q;
            return this;
        }

        /** NaN: not given. */
        public Builder expectedPerStep(double l) {
            this.expectedPerStep = l;
            return this;
        }

        /** NaN (or 0): not given. */
        public Builder populationSize(double n) {
            this.populationSize = n == 0 ? Double.NaN : n;
            return this;
        }

        /** @throws IllegalArgumentException naming the setting, its value and the rule it breaks */
        public PrivacyPolicy build() {
            require(
                    clipNorm > 0 && Double.isFinite(clipNorm),
                    "clipNorm must be finite and > 0, got " + clipNorm
                            + " (a non-positive clip bounds nothing, so no noise level would protect anyone)");
            require(delta > 0 && delta < 1, "delta must be in (0, 1), got " + delta);
            require(accountant != Accountant.PRV || prv != null, "the PRV accountant needs its evaluator");
            boolean hasQ = !Double.isNaN(sampleRate);
            boolean hasL = !Double.isNaN(expectedPerStep);
            boolean hasN = !Double.isNaN(populationSize);
            require(!hasQ || (sampleRate > 0 && sampleRate <= 1), "sampleRate must be in (0, 1], got " + sampleRate);
            require(
                    !hasL || (expectedPerStep > 0 && Double.isFinite(expectedPerStep)),
                    "expectedPerStep must be finite and > 0, got " + expectedPerStep);
            require(
                    !hasN || (populationSize >= 1 && Double.isFinite(populationSize)),
                    "populationSize must be >= 1, got " + populationSize);
            int given = (hasQ ? 1 : 0) + (hasL ? 1 : 0) + (hasN ? 1 : 0);
            require(
                    given >= 2,
                    "sampling needs two of sampleRate, expectedPerStep and populationSize "
                            + "(expectedPerStep = sampleRate x populationSize); got " + given);
            double q = sampleRate;
            double l = expectedPerStep;
            double n = populationSize;
            if (given == 3) {
                double implied = q * n;
                require(
                        Math.abs(implied - l) <= CONSISTENCY_TOLERANCE * l,
                        String.format(
                                Locale.ROOT,
                                "inconsistent sampling: sampleRate %s x populationSize %s = %s, but expectedPerStep is %s",
                                q,
                                n,
                                implied,
                                l));
            } else if (!hasQ) {
                require(l <= n, "expectedPerStep " + l + " exceeds populationSize " + n);
                q = l / n;
            } else if (!hasL) {
                l = q * n;
            } else {
                n = l / q;
            }
            require(
                    delta < 1 / n,
                    String.format(
                            Locale.ROOT,
                            "delta %s must be < 1/populationSize = %s "
                                    + "(populationSize %s): with delta >= 1/N, publishing one random participant's data in the clear "
                                    + "would meet the guarantee",
                            delta,
                            1 / n,
                            n));
            boolean hasTarget = !Double.isNaN(targetEpsilon);
            require(
                    !hasTarget || (targetEpsilon > 0 && Double.isFinite(targetEpsilon)),
                    "targetEpsilon must be finite and > 0, got " + targetEpsilon);
            require(plannedSteps >= 0, "plannedSteps must be >= 0, got " + plannedSteps);
            double sigma = noiseMultiplier;
            if (Double.isNaN(sigma)) {
                require(
                        hasTarget && plannedSteps > 0,
                        "noise needs noiseMultiplier, or targetEpsilon with " + "plannedSteps to derive it");
                require(
                        accountant != Accountant.PRV || plannedSteps <= PRV_MAX_PLANNED_STEPS,
                        "plannedSteps " + plannedSteps + " is above " + PRV_MAX_PLANNED_STEPS + ", the most the PRV "
                                + "accountant calibrates noise for here (each evaluation of a longer plan takes "
                                + "seconds, and the search needs dozens); give noiseMultiplier (e.g. from 'gradstream "
                                + "privacy noise-multiplier --accountant prv'), or calibrate with accountant RDP");
                sigma = accountant == Accountant.PRV
                        ? prv.noiseMultiplier(targetEpsilon, delta, q, plannedSteps)
                        : RdpAccountant.noiseMultiplierFor(targetEpsilon, delta, q, plannedSteps);
            } else {
                require(
                        sigma > 0 && sigma <= RdpAccountant.MAX_NOISE_MULTIPLIER,
                        "noiseMultiplier must be in (0, " + RdpAccountant.MAX_NOISE_MULTIPLIER + "], got " + sigma);
                require(
                        plannedSteps == 0,
                        "plannedSteps only derives noiseMultiplier from targetEpsilon; give "
                                + "noiseMultiplier or plannedSteps, not both");
            }
            PrivacyPolicy p = new PrivacyPolicy(this, sigma, q, l, n);
            if (hasTarget) {
                double first = p.epsilon(p.afterStep(PrivacyLedger.EMPTY));
                require(
                        first <= targetEpsilon,
                        String.format(
                                Locale.ROOT,
                                "targetEpsilon %s is exceeded by the "
                                        + "first step (%s epsilon %s with noiseMultiplier %s, sampleRate %s, delta %s); "
                                        + "raise noiseMultiplier",
                                targetEpsilon,
                                accountant,
                                first,
                                sigma,
                                q,
                                delta));
            }
            return p;
        }

        private static void require(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
