package io.gradstream.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The soak's verdict from its samples: FLAT when heap used after GC does not grow over the second half of the run,
 * the job never restarted, and checkpoints kept completing without getting slower; GROWING otherwise, with the reasons.
 */
public final class SoakAnalysis {

    /** One sample of the soak, as the CSV holds it; {@code checkpointId} is -1 before the first completed one. */
    public record Sample(
            double seconds,
            double heapAfterGcMiB,
            long stateBytes,
            long checkpointId,
            long checkpointMillis,
            long checkpointsCompleted,
            long checkpointsFailed,
            long restarts,
            long lag,
            long rejected,
            long updates,
            double updatesPerSecond) {}

    /**
     * What counts as growth.
     *
     * @param maxHeapSlopeMiBPerMinute heap-after-GC slope above which (and significantly above 0) the heap grows
     * @param maxCheckpointGapSeconds longest time without a newly completed checkpoint
     */
    public record Thresholds(double maxHeapSlopeMiBPerMinute, double maxCheckpointGapSeconds) {}

    /** A least-squares line {@code y = intercept + slope * x} and the standard error of its slope. */
    public record Fit(double slope, double intercept, double slopeError, int points) {
        /** Whether the slope is more than two standard errors above zero. */
        public boolean significantlyPositive() {
            return points >= 3 && slope > 2 * slopeError;
        }
    }

    /** The outcome; {@code heap} is in MiB per minute, {@code checkpoints} in ms per minute. */
    public record Verdict(
            boolean flat,
            Fit heap,
            Fit checkpoints,
            long restarts,
            long failedCheckpoints,
            double longestCheckpointGapSeconds,
            double medianCheckpointMillis,
            double secondHalfFromSeconds,
            List<String> reasons) {

        public String word() {
            return flat ? "FLAT" : "GROWING";
        }

        public String summary() {
            return String.format(
                    Locale.ROOT,
                    "%s: heap after GC %+.3f MiB/min (± %.3f, %d samples of the second "
                            + "half), checkpoint duration %+.1f ms/min (± %.1f, median %.0f ms), longest gap between "
                            + "checkpoints %.0f s, %d failed checkpoints, %d restarts%s",
                    word(),
                    heap.slope(),
                    heap.slopeError(),
                    heap.points(),
                    checkpoints.slope(),
                    checkpoints.slopeError(),
                    medianCheckpointMillis,
                    longestCheckpointGapSeconds,
                    failedCheckpoints,
                    restarts,
                    reasons.isEmpty() ? "" : "; " + String.join("; ", reasons));
        }
    }

    private SoakAnalysis() {}

    /** Ordinary least squares of y on x; a flat zero line when fewer than two distinct x are given. */
    public static Fit fit(double[] x, double[] y) {
        int n = x.length;
        if (n != y.length) {
            throw new IllegalArgumentException(n + " x values, " + y.length + " y values");
        }
        if (n == 0) {
            return new Fit(0, 0, 0, 0);
        }
        double mx = Arrays.stream(x).average().orElse(0);
        double my = Arrays.stream(y).average().orElse(0);
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < n; i++) {
            sxx += (x[i] - mx) * (x[i] - mx);
            sxy += (x[i] - mx) * (y[i] - my);
        }
        if (sxx == 0) {
            return new Fit(0, my, 0, n);
        }
        double slope = sxy / sxx;
        double intercept = my - slope * mx;
        double residuals = 0;
        for (int i = 0; i < n; i++) {
            double r = y[i] - (intercept + slope * x[i]);
            residuals += r * r;
        }
        double error = n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : 0;
        return new Fit(slope, intercept, error, n);
    }

    /**
     * Judges the samples of the steady phase (in time order). The heap is judged over the second half only: the
     * first half holds the JIT's warm-up, caches filling and the first checkpoints, which are growth that stops.
     */
    public static Verdict judge(List<Sample> samples, Thresholds t) {
        if (samples.size() < 4) {
            throw new IllegalArgumentException("need at least 4 samples to judge a trend, got " + samples.size());
        }
        double start = samples.get(0).seconds();
        double end = samples.get(samples.size() - 1).seconds();
        double half = (start + end) / 2;
        List<Sample> second = samples.stream().filter(s -> s.seconds() >= half).toList();
        Fit heap = fit(
                second.stream().mapToDouble(s -> s.seconds() / 60).toArray(),
                second.stream().mapToDouble(Sample::heapAfterGcMiB).toArray());

        // One point per completed checkpoint (samples repeat the latest until the next completes).
        List<double[]> durations = new ArrayList<>();
        long lastId = -1;
        for (Sample s : second) {
            if (s.checkpointId() >= 0 && s.checkpointId() != lastId) {
                durations.add(new double[] {s.seconds() / 60, s.checkpointMillis()});
                lastId = s.checkpointId();
            }
        }
        Fit checkpoints = fit(
                durations.stream().mapToDouble(d -> d[0]).toArray(),
                durations.stream().mapToDouble(d -> d[1]).toArray());
        double median = median(durations.stream().mapToDouble(d -> d[1]).toArray());

        double gap = longestGap(samples);
        Sample first = samples.get(0);
        Sample last = samples.get(samples.size() - 1);
        long restarts = last.restarts();
        long failed = last.checkpointsFailed() - first.checkpointsFailed();

        List<String> reasons = new ArrayList<>();
        if (heap.slope() > t.maxHeapSlopeMiBPerMinute() && heap.significantlyPositive()) {
            reasons.add(String.format(
                    Locale.ROOT,
                    "heap after GC grows %.3f MiB/min (threshold %.3f)",
                    heap.slope(),
                    t.maxHeapSlopeMiBPerMinute()));
        }
        if (restarts > 0) {
            reasons.add(restarts + " restarts");
        }
        // Slower checkpoints mean growing state or a growing backlog: a significant slope that adds half of the
        // fitted duration at the start of the second half (and at least a second) by its end.
        double rise = checkpoints.slope() * (end - half) / 60;
        double from = checkpoints.intercept() + checkpoints.slope() * half / 60;
        if (checkpoints.significantlyPositive() && rise > Math.max(1000, from / 2)) {
            reasons.add(String.format(
                    Locale.ROOT,
                    "checkpoint duration rises %.0f ms over the second half (from " + "%.0f ms)",
                    rise,
                    from));
        }
        if (gap > t.maxCheckpointGapSeconds()) {
            reasons.add(String.format(
                    Locale.ROOT,
                    "no checkpoint completed for %.0f s (limit %.0f s)",
                    gap,
                    t.maxCheckpointGapSeconds()));
        }
        if (failed > 0) {
            reasons.add(failed + " checkpoints failed");
        }
        return new Verdict(reasons.isEmpty(), heap, checkpoints, restarts, failed, gap, median, half, reasons);
    }

    /**
     * The longest time in which the completed-checkpoint count did not move, from the first sample to the last; a
     * run without any completed checkpoint has the whole run as its gap.
     */
    static double longestGap(List<Sample> samples) {
        double since = samples.get(0).seconds();
        long count = samples.get(0).checkpointsCompleted();
        double longest = 0;
        for (Sample s : samples) {
            if (s.checkpointsCompleted() != count) {
                count = s.checkpointsCompleted();
                since = s.seconds();
            }
            longest = Math.max(longest, s.seconds() - since);
        }
        return longest;
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return 0;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
