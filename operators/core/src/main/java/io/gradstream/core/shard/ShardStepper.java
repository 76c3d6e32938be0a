package io.gradstream.core.shard;

import io.gradstream.core.optim.Optimizer;

/**
 * The semantics of one shard, free of Flink: validates a contribution, de-duplicates it, aggregates it as the
 * {@link AggregationPolicy} says and applies the optimizer step when one is due. The aggregated gradient is the
 * example-weighted mean {@code Σ fl32(n_k·g_k) / N} (float32, summed in arrival order, one float division), so K
 * workers with batch b equal one worker with batch K·b; a step made of a single contribution uses its gradient as
 * it is.
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

    /** A step was applied; the state holds the new parameters at {@code step.version()}. */
    public record Applied(StepResult step) implements Outcome {
    }

    /**
     * @param version the shard's version after the step
     * @param meanLoss example-weighted mean of the reported losses, NaN when none reported one
     */
    public record StepResult(long version, int contributions, long examples, double meanLoss,
            long latestPublishedAtMs) {
    }

    private ShardStepper() {
    }

    /**
     * Offers one contribution to a shard.
     *
     * @param optimizer the optimizer for the shard's next step (its learning rate already scheduled for
     *     {@code state.version()})
     */
    public static Outcome offer(ShardState state, Contribution c, AggregationPolicy policy, Optimizer optimizer) {
        Rejected invalid = validate(state, c, policy);
        if (invalid != null) {
            return invalid;
        }
        state.workerWatermarks().put(c.workerId(), c.workerStep());
        if (policy.mode() == AggregationPolicy.Mode.ASYNC) {
            return new Applied(apply(state, optimizer, c.gradient(), 1, c.numExamples(),
                    Double.isNaN(c.loss()) ? Double.NaN : c.loss(), c.publishedAtMs()));
        }
        add(state.pending(), c);
        if (state.pending().count() < policy.workers()) {
            return new Accepted(state.pending().count(), policy.workers());
        }
        return new Applied(applyPending(state, optimizer));
    }

    /**
     * Applies the SYNC step gathered so far, if any (the timeout policy: apply what arrived). Returns null when
     * nothing is pending.
     */
    public static StepResult flush(ShardState state, Optimizer optimizer) {
        return state.pending().isEmpty() ? null : applyPending(state, optimizer);
    }

    private static Rejected validate(ShardState s, Contribution c, AggregationPolicy policy) {
        float[] g = c.gradient();
        if (g.length != s.params().length) {
            return new Rejected(RejectCode.WRONG_ELEMENT_COUNT, "gradient has " + g.length
                    + " elements, the shard has " + s.params().length);
        }
        if (c.numExamples() <= 0) {
            return new Rejected(RejectCode.INVALID_EXAMPLE_COUNT, "numExamples must be > 0, got " + c.numExamples());
        }
        for (int i = 0; i < g.length; i++) {
            if (!Float.isFinite(g[i])) {
                return new Rejected(RejectCode.NON_FINITE, "gradient element " + i + " is " + g[i]);
            }
        }
        if (Double.isInfinite(c.loss())) { // NaN means "no loss reported"
            return new Rejected(RejectCode.NON_FINITE, "loss is " + c.loss());
        }
        Long watermark = s.workerWatermarks().get(c.workerId());
        if (watermark != null && c.workerStep() <= watermark) {
            return new Rejected(RejectCode.DUPLICATE, "worker " + c.workerId() + " step " + c.workerStep()
                    + " is not after its last accepted step " + watermark);
        }
        long version = s.version();
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
        return null;
    }

    private static void add(PendingStep p, Contribution c) {
        float[] g = c.gradient();
        float n = c.numExamples();
        if (p.isEmpty()) {
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
        p.workers.add(c.workerId());
    }

    private static StepResult applyPending(ShardState s, Optimizer optimizer) {
        PendingStep p = s.pending();
        float[] mean = p.weightedSum;
        int count = p.count();
        if (count > 1) {
            float total = p.examples;
            for (int i = 0; i < mean.length; i++) {
                mean[i] = mean[i] / total;
            }
        }
        double meanLoss = p.lossExamples == 0 ? Double.NaN : p.lossSum / p.lossExamples;
        StepResult r = apply(s, optimizer, mean, count, p.examples, meanLoss, p.latestPublishedAtMs);
        p.clear();
        return r;
    }

    private static StepResult apply(ShardState s, Optimizer optimizer, float[] gradient, int contributions,
            long examples, double meanLoss, long latestPublishedAtMs) {
        optimizer.step(s.params(), gradient, s.optimizer());
        s.advanceVersion();
        return new StepResult(s.version(), contributions, examples, meanLoss, latestPublishedAtMs);
    }
}
