package io.gradstream.core.shard;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.ftrl.FtrlShardState;
import io.gradstream.core.privacy.ftrl.TreeLedger;

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
 *
 * <p>For a DP-FTRL model ({@link ShardPrivacy#isFtrl()}; Kairouz et al. 2021, arXiv:2103.00039) the contributions are
 * clipped and summed the same way, and the optimizer update is replaced by {@code DpFtrl.step} on that sum with
 * tree-aggregated noise; its learning rate is the optimizer's (scheduled) one, its divisor the expected count. The step
 * runs at once on this thread (never on a batched backend): {@link Applied#work()} is null.
 */
public final class ShardStepper {

    /** What happened to an offered contribution. */
    public sealed interface Outcome permits Rejected, Accepted, Applied {}

    /** Refused; nothing in the state changed. */
    public record Rejected(RejectCode code, String detail) implements Outcome {}

    /** Added to the SYNC step being gathered. */
    public record Accepted(int contributions, int expected) implements Outcome {}

    /**
     * A step was applied: version, ledger and pending sum have advanced to {@code step.version()}, and {@code work} is
     * the optimizer loop that moves the parameters and slots there, or null for a DP-FTRL step, which has run already
     * (its result is still to be checked, {@link #checkResult}). {@link #offer} has run it; after {@link #prepare}
     * the caller runs it (alone, or batched on a {@code StepBackend}) before anyone reads the shard again, between
     * {@code undo.keep} and a check of the result ({@link #runChecked} does all three).
     */
    public record Applied(StepResult step, ShardStep work, StepUndo undo) implements Outcome {}

    /**
     * @param version the shard's version after the step
     * @param meanLoss example-weighted mean of the reported losses, NaN when none reported one
     * @param epsilon privacy spent by this shard's steps so far, NaN for a model without privacy
     * @param budgetExhausted whether the privacy budget leaves no room for another step
     * @param aggregationWaitMs latest minus earliest publishedAtMs of the step's contributions: how long the first
     *     worker's gradient waited for the last (by the workers' clocks; 0 for one contribution)
     */
    public record StepResult(
            long version,
            int contributions,
            long examples,
            double meanLoss,
            long latestPublishedAtMs,
            double epsilon,
            boolean budgetExhausted,
            long aggregationWaitMs) {}

    private ShardStepper() {}

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
    public static Outcome offer(
            ShardState state, Contribution c, AggregationPolicy policy, Optimizer optimizer, ShardPrivacy dp) {
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
    public static Outcome prepare(
            ShardState state, Contribution c, AggregationPolicy policy, Optimizer optimizer, ShardPrivacy dp) {
        Rejected invalid = ContributionChecks.validate(state, c, policy, dp);
        if (invalid != null) {
            return invalid;
        }
        if (dp != null && dp.policy().unit() == PrivacyPolicy.Unit.CONTRIBUTION) {
            double norm = Clipping.clipInPlace(c.gradient(), dp.threshold());
            dp.clips().record(norm > dp.threshold());
        }
        if (policy.mode() == AggregationPolicy.Mode.ASYNC && dp == null) {
            state.workerWatermarks().put(c.workerId(), c.workerStep());
            return apply(
                    state,
                    optimizer,
                    c.gradient(),
                    1,
                    c.numExamples(),
                    Double.isNaN(c.loss()) ? Double.NaN : c.loss(),
                    c.publishedAtMs(),
                    null,
                    0);
        }
        Rejected overflow = ContributionChecks.overflows(state.pending(), c, dp != null);
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
        if (a.work() != null) {
            a.undo().keep(state, null);
            run(a.work());
        }
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
        return new Rejected(
                RejectCode.NON_FINITE_RESULT,
                "step " + a.step().version() + " would leave element "
                        + bad + " of the parameters and optimizer slots non-finite; the shard stays at version "
                        + state.version() + " and the step's " + a.step().contributions()
                        + " contribution(s) are dropped");
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
        if (dp != null && dp.isFtrl()) {
            return applyFtrl(s, optimizer, dp);
        }
        if (dp != null) {
            // The noise of (model incarnation, tensor, shard, version before the step): a replay after a restore
            // redraws it; another life of the model id draws other noise.
            ShardKey k = dp.key();
            dp.mechanism()
                    .privatize(
                            mean,
                            dp.policy().clipNorm(),
                            dp.policy().expectedPerStep(),
                            dp.noiseModel(),
                            k.tensor(),
                            k.shard(),
                            s.version());
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

    private static Applied apply(
            ShardState s,
            Optimizer optimizer,
            float[] gradient,
            int contributions,
            long examples,
            double meanLoss,
            long latestPublishedAtMs,
            ShardPrivacy dp,
            long aggregationWaitMs) {
        // The loop only moves parameters and slots, so it may run later, batched, as long as it runs before the shard
        // is read again; version and ledger advance now.
        ShardStep work = new ShardStep(optimizer, s.params(), gradient, s.optimizer());
        StepUndo undo = new StepUndo(s.version(), s.ledger(), s.treeLedger());
        s.advanceVersion();
        double epsilon = Double.NaN;
        boolean exhausted = false;
        if (dp != null) {
            PrivacyPolicy p = dp.policy();
            s.recordPrivateStep(p.afterStep(s.ledger()));
            epsilon = dp.epsilon(s);
            exhausted = !dp.allowsStep(s);
        }
        return new Applied(
                new StepResult(
                        s.version(),
                        contributions,
                        examples,
                        meanLoss,
                        latestPublishedAtMs,
                        epsilon,
                        exhausted,
                        aggregationWaitMs),
                work,
                undo);
    }

    /**
     * The DP-FTRL step of the pending (clipped, unweighted) sum: kept for undo, then {@code DpFtrl.step} moves the
     * parameters and the tree state, and the tree ledger records the released node(s).
     */
    private static Applied applyFtrl(ShardState s, Optimizer optimizer, ShardPrivacy dp) {
        PendingStep p = s.pending();
        PrivacyPolicy policy = dp.policy();
        TreeLedger next = dp.treeLedgerAfterStep(s);
        StepUndo undo = new StepUndo(s.version(), s.ledger(), s.treeLedger());
        undo.keep(s, null);
        if (s.ftrl() == null) {
            s.ftrl(FtrlShardState.initial(s.params()), s.treeLedger());
        }
        dp.ftrl()
                .step(
                        s.ftrl(),
                        p.weightedSum,
                        optimizer.learningRate(),
                        policy.noiseMultiplier() * policy.clipNorm(),
                        policy.expectedPerStep(),
                        dp.nodeNoise(),
                        s.params());
        s.advanceVersion();
        s.ftrl(s.ftrl(), next);
        double meanLoss = p.lossExamples == 0 ? Double.NaN : p.lossSum / p.lossExamples;
        long wait = p.earliestPublishedAtMs == 0 ? 0 : p.latestPublishedAtMs - p.earliestPublishedAtMs;
        StepResult r = new StepResult(
                s.version(),
                p.count(),
                p.examples,
                meanLoss,
                p.latestPublishedAtMs,
                dp.epsilon(s),
                !dp.allowsStep(s),
                wait);
        p.clear();
        return new Applied(r, null, undo);
    }
}
