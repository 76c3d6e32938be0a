package io.gradstream.core.shard;

/**
 * One worker's decoded gradient for one shard.
 *
 * @param baseVersion the shard version the gradient was computed on
 * @param numExamples the contribution's weight in the example-weighted mean
 * @param loss the worker's reported loss, or NaN when it reported none
 * @param publishedAtMs wall-clock publish time, for latency metrics only
 */
public record Contribution(
        String workerId,
        long workerStep,
        long baseVersion,
        long numExamples,
        float[] gradient,
        double loss,
        long publishedAtMs) {}
