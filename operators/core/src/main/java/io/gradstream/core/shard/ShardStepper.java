package io.gradstream.core.shard;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.privacy.PrivacyPolicy;

/**
 * The semantics of one shard, free of Flink: validates a contribution, de-duplicates it, aggregates it as the
 * {@link AggregationPolicy} says and applies the optimizer step when one is due. The aggregated gradient is the
 * example-weighted mean {@code Σ fl32(n_k·g_k) / N} (float32, summed in arrival order, one float division), so K
 * workers with batch b equal one worker with batch K·b; a step made of a single contribution uses its gradient as
 * it is.
 *
 * <p>With {@link ShardPrivacy} the step is DP-SGD's instead (Abadi et al. 2016, arXiv:1607.00133; McMahan et al. 2018,
 * arXiv:1710.06963): each contribution is clipped to the shard's threshold C_s (CONTRIBUTION unit) or checked to be a
 * sum of {@code numExamples} examples clipped to C_s (EXAMPLE unit), the contributions are summed without weights
 * (a weight would let one participant exceed its bound), Gaussian noise of the model's clip norm is added and the sum
 * is divided by the expected count; a step that would take epsilon past the budget is refused beforehand.
 */
public final class ShardStepper {

    /** What happened to an offered contribution. */
    public sealed interface Outcome permits Rejected, Accepted, Applied {
    }

    /** Refused; nothing in the state changed. */
    public record Rejected(RejectCode code, String detail) implements Outcome {
    }

    /** Added to the SYNC step being gathered. */
    public record Accepted(int contributions, int expected) implements Outcome {
    }

    /**
     * A step was applied: version, ledger and pending sum have advanced to {@code step.version()}, and {@code work} is
     * the optimizer loop that moves the parameters and slots there. {@link #offer} has run it; after {@link #prepare}
     * the caller runs it (alone, or batched on a {@code StepBackend}) before anyone reads the shard again, between
     * {@code undo.keep} and a check of the result ({@link #runChecked} does all three).
     */
    public record Applied(StepResult step, ShardStep work, StepUndo undo) implements Outcome {
    }

    /**
     * @param version the shard's version after the step
     * @param meanLoss example-weighted mean of the reported losses, NaN when none reported one
     * @param epsilon privacy spent by this shard's steps so far, NaN for a model without privacy
     * @param budgetExhausted whether the privacy budget leaves no room for another step
     * @param aggregationWaitMs latest minus earliest publishedAtMs of the step's contributions: how long the first
     *     worker's gradient waited for the last (by the workers' clocks; 0 for one contribution)
     */
    public record StepResult(long version, int contributions, long examples, double meanLoss,
            long latestPublishedAtMs, double epsilon, boolean budgetExhausted, long aggregationWaitMs) {
    }

    private ShardStepper() {
    }

    /**
     * Offers one contribution to a shard and runs the step's optimizer loop, if one is due.
     *
     * @param optimizer the optimizer for the shard's next step (its learning rate already scheduled for
     *     {@code state.version()})
     */
    public static Outcome offer(ShardState state, Contribution c, AggregationPolicy policy, Optimizer optimizer) {
        return offer(state, c, policy, optimizer, null);
    }

    /**
     * Offers one contribution to a shard of a private model ({@code dp} null: not private) and runs the step's
     * optimizer loop, if one is due. In the CONTRIBUTION unit the contribution's gradient array is clipped in place.
     */
    public static Outcome offer(ShardState state, Contribution c, AggregationPolicy policy, Optimizer optimizer,
            ShardPrivacy dp) {
        Outcome o = prepare(state, c, policy, optimizer, dp);
        if (o instanceof Applied a) {
            Rejected overflow = runChecked(state, a);
            if (overflow != null) {
                return overflow;
            }
        }
        return o;
    }

    /**
     * As {@link #offer(ShardState, Contribution, AggregationPolicy, Optimizer, ShardPrivacy)}, but a due step's
     * optimizer loop is returned in {@link Applied#work()} instead of run; everything else has advanced.
     */
    public static Outcome prepare(ShardState state, Contribution c, AggregationPolicy policy, Optimizer optimizer,
            ShardPrivacy dp) {
        Rejected invalid = validate(state, c, policy, dp);
        if (invalid != null) {
            return invalid;
        }
        if (dp != null && dp.policy().unit() == PrivacyPolicy.Unit.CONTRIBUTION) {
            double norm = Clipping.clipInPlace(c.gradient(), dp.threshold());
            dp.clips().record(norm > dp.threshold());
        }
        if (policy.mode() == AggregationPolicy.Mode.ASYNC && dp == null) {
            state.workerWatermarks().put(c.workerId(), c.workerStep());
            return apply(state, optimizer, c.gradient(), 1, c.numExamples(),
                    Double.isNaN(c.loss()) ? Double.NaN : c.loss(), c.publishedAtMs(), null, 0);
        }
        Rejected overflow = overflows(state.pending(), c, dp != null);
        if (overflow != null) {
            return overflow;
        }
        state.workerWatermarks().put(c.workerId(), c.workerStep());
        if (policy.mode() == AggregationPolicy.Mode.ASYNC) {
            add(state.pending(), c, true);
            return applyPending(state, optimizer, dp);
        }
        add(state.pending(), c, dp != null);
        if (state.pending().count() < policy.workers()) {
            return new Accepted(state.pending().count(), policy.workers());
        }
        return applyPending(state, optimizer, dp);
    }

    /**
     * Applies the SYNC step gathered so far, if any (the timeout policy: apply what arrived), and runs its optimizer
     * loop. Returns null when nothing is pending.
     */
    public static StepResult flush(ShardState state, Optimizer optimizer) {
        return flush(state, optimizer, null);
    }

    /** As {@link #flush(ShardState, Optimizer)} for a shard of a private model; the divisor stays the expected one. */
    public static StepResult flush(ShardState state, Optimizer optimizer, ShardPrivacy dp) {
        Applied a = prepareFlush(state, optimizer, dp);
        if (a == null || runChecked(state, a) != null) {
            return null;
        }
        return a.step();
    }

    /** As {@link #flush(ShardState, Optimizer, ShardPrivacy)} with the optimizer loop returned instead of run. */
    public static Applied prepareFlush(ShardState state, Optimizer optimizer, ShardPrivacy dp) {
        return state.pending().isEmpty() ? null : applyPending(state, optimizer, dp);
    }

    /** Runs one step's optimizer loop on this thread. */
    public static void run(ShardStep work) {
        work.optimizer().step(work.params(), work.grad(), work.state());
    }

    /**
     * Runs an applied step's loop on this thread and checks its result: a step that would leave a parameter or slot
     * Inf or NaN is taken back ({@link StepUndo#restore}) and refused.
     *
     * @return null when the step stands, else its refusal (NON_FINITE_RESULT)
     */
    public static Rejected runChecked(ShardState state, Applied a) {
        a.undo().keep(state);
        run(a.work());
        return checkResult(state, a);
    }

    /**
     * After an applied step's loop ran (here or on a backend): null when its result is finite, else the step is taken
     * back and this is its refusal.
     */
    public static Rejected checkResult(ShardState state, Applied a) {
        long bad = StepUndo.firstNonFinite(state);
        if (bad < 0) {
            return null;
        }
        a.undo().restore(state);
        return new Rejected(RejectCode.NON_FINITE_RESULT, "step " + a.step().version() + " would leave element "
                + bad + " of the parameters and optimizer slots non-finite; the shard stays at version "
                + state.version() + " and the step's " + a.step().contributions() + " contribution(s) are dropped");
    }

    private static Rejected validate(ShardState s, Contribution c, AggregationPolicy policy, ShardPrivacy dp) {
        float[] g = c.gradient();
        if (g.length != s.params().length) {
            return new Rejected(RejectCode.WRONG_ELEMENT_COUNT, "gradient has " + g.length
                    + " elements, the shard has " + s.params().length);
        }
        boolean exampleUnit = dp != null && dp.policy().unit() == PrivacyPolicy.Unit.EXAMPLE;
        if (exampleUnit ? c.numExamples() < 0 : c.numExamples() <= 0) {
            // A private step counts every sampled participant; one that sampled no example sends a zero sum.
            return new Rejected(RejectCode.INVALID_EXAMPLE_COUNT, "numExamples must be " + (exampleUnit ? ">= 0"
                    : "> 0") + ", got " + c.numExamples());
        }
        for (int i = 0; i < g.length; i++) {
            if (!Float.isFinite(g[i])) {
                return new Rejected(RejectCode.NON_FINITE, "gradient element " + i + " is " + g[i]);
            }
        }
        if (Double.isInfinite(c.loss())) { // NaN means "no loss reported"
            return new Rejected(RejectCode.NON_FINITE, "loss is " + c.loss());
        }
        long version = s.version();
        if (c.baseVersion() < 0 || c.workerStep() < 0) {
            return new Rejected(RejectCode.OUT_OF_RANGE, "baseVersion and workerStep must be >= 0, got "
                    + c.baseVersion() + " and " + c.workerStep());
        }
        Long watermark = s.workerWatermarks().get(c.workerId());
        if (watermark != null && c.workerStep() <= watermark) {
            return new Rejected(RejectCode.DUPLICATE, "worker " + c.workerId() + " step " + c.workerStep()
                    + " is not after its last accepted step " + watermark);
        }
        long reference = Math.max(watermark == null ? 0 : watermark, version);
        if (c.workerStep() - reference > policy.workerStepWindow()) {
            return new Rejected(RejectCode.OUT_OF_RANGE, "worker " + c.workerId() + " step " + c.workerStep()
                    + " is more than gradstream.limits.worker-step-window = " + policy.workerStepWindow()
                    + " ahead of " + (watermark == null ? "the shard's version " : "its last accepted step ")
                    + reference);
        }
        if (c.baseVersion() > version) {
            return new Rejected(RejectCode.FUTURE_VERSION, "baseVersion " + c.baseVersion()
                    + " is ahead of the shard's version " + version);
        }
        if (policy.mode() == AggregationPolicy.Mode.SYNC) {
            if (c.baseVersion() < version) {
                return new Rejected(RejectCode.STALE, "SYNC step for version " + version + ", gradient computed on "
                        + c.baseVersion());
            }
            if (s.pending().workers.contains(c.workerId())) {
                return new Rejected(RejectCode.DUPLICATE, "worker " + c.workerId()
                        + " already contributed to version " + version);
            }
        } else if (version - c.baseVersion() > policy.maxStaleness()) {
            return new Rejected(RejectCode.STALE, "staleness " + (version - c.baseVersion()) + " exceeds maxStaleness "
                    + policy.maxStaleness());
        }
        return dp == null ? null : validatePrivate(s, c, dp);
    }

    private static Rejected validatePrivate(ShardState s, Contribution c, ShardPrivacy dp) {
        PrivacyPolicy p = dp.policy();
        if (!p.allowsStep(s.ledger())) {
            return new Rejected(RejectCode.BUDGET_EXHAUSTED, "model " + dp.key().model() + " has spent epsilon "
                    + p.epsilon(s.ledger()) + " of its target " + p.targetEpsilon() + " (delta " + p.delta()
                    + "); another step would reach " + p.epsilon(p.afterStep(s.ledger())));
        }
        if (p.unit() == PrivacyPolicy.Unit.EXAMPLE
                && !Clipping.withinBound(c.gradient(), c.numExamples(), dp.threshold())) {
            return new Rejected(RejectCode.NORM_TOO_LARGE, "the sum of " + c.numExamples() + " examples has L2 norm "
                    + Clipping.norm(c.gradient()) + " on this shard, above numExamples x C_s = " + c.numExamples()
                    + " x " + dp.threshold() + " (clip every example to C_s on each shard before summing)");
        }
        return null;
    }

    /**
     * Refuses a contribution whose weighted gradient {@code numExamples·g}, or whose sum with the pending ones, would
     * not be finite (each gradient is finite, but a large weight or two large gradients can overflow float32), before
     * anything in the state changes. Evaluates exactly the operations of {@link #add}; checking each contribution's
     * own weighted values keeps the pending sum's later rescaling finite, so a SYNC step cannot get stuck.
     */
    private static Rejected overflows(PendingStep p, Contribution c, boolean unweighted) {
        float[] sum = p.weightedSum;
        float[] g = c.gradient();
        float n = c.numExamples();
        float n1 = p.examples;
        boolean pending = !p.isEmpty();
        boolean rescale = !unweighted && p.count() == 1;
        for (int i = 0; i < g.length; i++) {
            float w = unweighted ? g[i] : n * g[i];
            float next = w;
            if (pending) {
                next = (rescale ? n1 * sum[i] : sum[i]) + w;
            }
            if (!Float.isFinite(w) || !Float.isFinite(next)) {
                return new Rejected(RejectCode.NON_FINITE_RESULT, "the aggregate's element " + i + " would be "
                        + next + " with this contribution (numExamples " + c.numExamples() + "); the step is not "
                        + "applied");
            }
        }
        return null;
    }

    private static void add(PendingStep p, Contribution c, boolean unweighted) {
        float[] g = c.gradient();
        float n = c.numExamples();
        if (unweighted) {
            if (p.isEmpty()) {
                p.weightedSum = g.clone();
            } else {
                float[] sum = p.weightedSum;
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = sum[i] + g[i];
                }
            }
        } else if (p.isEmpty()) {
            // Kept unweighted until a second contribution arrives, so a one-contribution step is exactly g.
            p.weightedSum = g.clone();
        } else {
            float[] sum = p.weightedSum;
            if (p.count() == 1) {
                float n1 = p.examples;
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = n1 * sum[i];
                }
            }
            for (int i = 0; i < sum.length; i++) {
                sum[i] = sum[i] + n * g[i];
            }
        }
        p.examples += c.numExamples();
        if (!Double.isNaN(c.loss())) {
            p.lossSum += c.loss() * c.numExamples();
            p.lossExamples += c.numExamples();
        }
        p.latestPublishedAtMs = Math.max(p.latestPublishedAtMs, c.publishedAtMs());
        if (c.publishedAtMs() > 0 && (p.earliestPublishedAtMs == 0 || c.publishedAtMs() < p.earliestPublishedAtMs)) {
            p.earliestPublishedAtMs = c.publishedAtMs();
        }
        p.workers.add(c.workerId());
    }

    private static Applied applyPending(ShardState s, Optimizer optimizer, ShardPrivacy dp) {
        PendingStep p = s.pending();
        float[] mean = p.weightedSum;
        int count = p.count();
        if (dp != null) {
            // The noise of (model incarnation, tensor, shard, version before the step): a replay after a restore
            // redraws it; another life of the model id draws other noise.
            ShardKey k = dp.key();
            dp.mechanism().privatize(mean, dp.policy().clipNorm(), dp.policy().expectedPerStep(), dp.noiseModel(),
                    k.tensor(), k.shard(), s.version());
        } else if (count > 1) {
            float total = p.examples;
            for (int i = 0; i < mean.length; i++) {
                mean[i] = mean[i] / total;
            }
        }
        double meanLoss = p.lossExamples == 0 ? Double.NaN : p.lossSum / p.lossExamples;
        long wait = p.earliestPublishedAtMs == 0 ? 0 : p.latestPublishedAtMs - p.earliestPublishedAtMs;
        Applied r = apply(s, optimizer, mean, count, p.examples, meanLoss, p.latestPublishedAtMs, dp, wait);
        p.clear();
        return r;
    }

    private static Applied apply(ShardState s, Optimizer optimizer, float[] gradient, int contributions,
            long examples, double meanLoss, long latestPublishedAtMs, ShardPrivacy dp, long aggregationWaitMs) {
        // The loop only moves parameters and slots, so it may run later, batched, as long as it runs before the shard
        // is read again; version and ledger advance now.
        ShardStep work = new ShardStep(optimizer, s.params(), gradient, s.optimizer());
        StepUndo undo = new StepUndo(s.version(), s.ledger());
        s.advanceVersion();
        double epsilon = Double.NaN;
        boolean exhausted = false;
        if (dp != null) {
            PrivacyPolicy p = dp.policy();
            s.recordPrivateStep(p.afterStep(s.ledger()));
            epsilon = p.epsilon(s.ledger());
            exhausted = !p.allowsStep(s.ledger());
        }
        return new Applied(new StepResult(s.version(), contributions, examples, meanLoss, latestPublishedAtMs, epsilon,
                exhausted, aggregationWaitMs), work, undo);
    }
}
