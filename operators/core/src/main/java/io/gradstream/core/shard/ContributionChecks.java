package io.gradstream.core.shard;

import io.gradstream.core.numeric.FloatScan;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.shard.ShardStepper.Rejected;

/**
 * What {@link ShardStepper} checks before a contribution touches a shard: its numbers (worker step window, base version,
 * example count, element count, finiteness), de-duplication, staleness, the privacy bounds, and whether adding it to
 * the pending sum would overflow float32. Each check returns the refusal, or null; none changes the state.
 */
final class ContributionChecks {
    private ContributionChecks() {}

    static Rejected validate(ShardState s, Contribution c, AggregationPolicy policy, ShardPrivacy dp) {
        float[] g = c.gradient();
        if (g.length != s.params().length) {
            return new Rejected(
                    RejectCode.WRONG_ELEMENT_COUNT,
                    "gradient has " + g.length + " elements, the shard has " + s.params().length);
        }
        boolean exampleUnit = dp != null && dp.policy().unit() == PrivacyPolicy.Unit.EXAMPLE;
        if (exampleUnit ? c.numExamples() < 0 : c.numExamples() <= 0) {
            // A private step counts every sampled participant; one that sampled no example sends a zero sum.
            return new Rejected(
                    RejectCode.INVALID_EXAMPLE_COUNT,
                    "numExamples must be " + (exampleUnit ? ">= 0" : "> 0") + ", got " + c.numExamples());
        }
        int bad = FloatScan.firstNonFinite(g);
        if (bad >= 0) {
            return new Rejected(RejectCode.NON_FINITE, "gradient element " + bad + " is " + g[bad]);
        }
        if (Double.isInfinite(c.loss())) { // NaN means "no loss reported"
            return new Rejected(RejectCode.NON_FINITE, "loss is " + c.loss());
        }
        long version = s.version();
        if (c.baseVersion() < 0 || c.workerStep() < 0) {
            return new Rejected(
                    RejectCode.OUT_OF_RANGE,
                    "baseVersion and workerStep must be >= 0, got " + c.baseVersion() + " and " + c.workerStep());
        }
        Long watermark = s.workerWatermarks().get(c.workerId());
        if (watermark != null && c.workerStep() <= watermark) {
            return new Rejected(
                    RejectCode.DUPLICATE,
                    "worker " + c.workerId() + " step " + c.workerStep() + " is not after its last accepted step "
                            + watermark);
        }
        long reference = Math.max(watermark == null ? 0 : watermark, version);
        if (c.workerStep() - reference > policy.workerStepWindow()) {
            return new Rejected(
                    RejectCode.OUT_OF_RANGE,
                    "worker " + c.workerId() + " step " + c.workerStep()
                            + " is more than gradstream.limits.worker-step-window = " + policy.workerStepWindow()
                            + " ahead of " + (watermark == null ? "the shard's version " : "its last accepted step ")
                            + reference);
        }
        if (c.baseVersion() > version) {
            return new Rejected(
                    RejectCode.FUTURE_VERSION,
                    "baseVersion " + c.baseVersion() + " is ahead of the shard's version " + version);
        }
        if (policy.mode() == AggregationPolicy.Mode.SYNC) {
            if (c.baseVersion() < version) {
                return new Rejected(
                        RejectCode.STALE,
                        "SYNC step for version " + version + ", gradient computed on " + c.baseVersion());
            }
            if (s.pending().workers.contains(c.workerId())) {
                return new Rejected(
                        RejectCode.DUPLICATE, "worker " + c.workerId() + " already contributed to version " + version);
            }
        } else if (version - c.baseVersion() > policy.maxStaleness()) {
            return new Rejected(
                    RejectCode.STALE,
                    "staleness " + (version - c.baseVersion()) + " exceeds maxStaleness " + policy.maxStaleness());
        }
        return dp == null ? null : validatePrivate(s, c, dp);
    }

    private static Rejected validatePrivate(ShardState s, Contribution c, ShardPrivacy dp) {
        PrivacyPolicy p = dp.policy();
        if (!dp.allowsStep(s)) {
            return new Rejected(
                    RejectCode.BUDGET_EXHAUSTED,
                    "model " + dp.key().model() + " has spent epsilon "
                            + dp.epsilon(s) + " of its target " + p.targetEpsilon() + " (delta " + p.delta()
                            + "); another step would reach " + dp.epsilonAfterStep(s));
        }
        if (p.unit() == PrivacyPolicy.Unit.EXAMPLE
                && !Clipping.withinBound(c.gradient(), c.numExamples(), dp.threshold())) {
            return new Rejected(
                    RejectCode.NORM_TOO_LARGE,
                    "the sum of " + c.numExamples() + " examples has L2 norm "
                            + Clipping.norm(c.gradient()) + " on this shard, above numExamples x C_s = "
                            + c.numExamples()
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
    static Rejected overflows(PendingStep p, Contribution c, boolean unweighted) {
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
                return new Rejected(
                        RejectCode.NON_FINITE_RESULT,
                        "the aggregate's element " + i + " would be "
                                + next + " with this contribution (numExamples " + c.numExamples()
                                + "); the step is not "
                                + "applied");
            }
        }
        return null;
    }
}
