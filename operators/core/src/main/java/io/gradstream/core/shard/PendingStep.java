package io.gradstream.core.shard;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A SYNC step being gathered: the running example-weighted sum {@code Σ n_k·g_k} (for a private model the plain sum
 * of clipped contributions) in float32, one array whatever the number of workers, and who contributed. Contributions to a shard arrive in its Kafka partition's order, so the
 * summation order -- and the result, bit for bit -- is the same when a restored job replays them.
 */
public final class PendingStep {
    float[] weightedSum;
    long examples;
    double lossSum;
    long lossExamples;
    long latestPublishedAtMs;
    long earliestPublishedAtMs;
    final Set<String> workers = new LinkedHashSet<>();

    public boolean isEmpty() {
        return workers.isEmpty();
    }

    public int count() {
        return workers.size();
    }

    public long examples() {
        return examples;
    }

    public Set<String> workers() {
        return java.util.Collections.unmodifiableSet(workers);
    }

    /** The running sum, or null before the first contribution (for serializers). */
    public float[] weightedSum() {
        return weightedSum;
    }

    public double lossSum() {
        return lossSum;
    }

    public long lossExamples() {
        return lossExamples;
    }

    public long latestPublishedAtMs() {
        return latestPublishedAtMs;
    }

    /** Earliest publishedAtMs of the contributions (0 when none told): with the latest, the aggregation wait. */
    public long earliestPublishedAtMs() {
        return earliestPublishedAtMs;
    }

    /** Restores a pending step from its serialized parts. */
    public static PendingStep restore(
            float[] weightedSum,
            long examples,
            double lossSum,
            long lossExamples,
            long latestPublishedAtMs,
            long earliestPublishedAtMs,
            Set<String> workers) {
        PendingStep p = new PendingStep();
        p.weightedSum = weightedSum;
        p.examples = examples;
        p.lossSum = lossSum;
        p.lossExamples = lossExamples;
        p.latestPublishedAtMs = latestPublishedAtMs;
        p.earliestPublishedAtMs = earliestPublishedAtMs;
        p.workers.addAll(workers);
        return p;
    }

    void clear() {
        weightedSum = null;
        examples = 0;
        lossSum = 0;
        lossExamples = 0;
        latestPublishedAtMs = 0;
        earliestPublishedAtMs = 0;
        workers.clear();
    }
}
