package io.gradstream.ops.doctor;

import java.time.Duration;
import java.util.Locale;

/**
 * Where the doctor's checks of the running job turn from OK to WARN and FAIL. Each limit is inclusive (a value that
 * reaches it counts), and a FAIL limit is tested before its WARN limit, so a limit of 0 makes that check fail.
 *
 * @param maxRestarts restarts of the job from which {@code job restarts} fails (one restart already warns)
 * @param checkpointWarn age of the last completed checkpoint from which {@code checkpoint} warns; also how long
 *     a job may run before its first checkpoint completes
 * @param checkpointFail the same, for FAIL
 * @param lagWarn records the job's consumer group is behind on its input topics, from which {@code consumer lag} warns
 * @param lagFail the same, for FAIL
 * @param rejectionWarnPercent share of input records written to the rejected topic, in percent, from which
 *     {@code rejections} warns
 * @param rejectionFailPercent the same, for FAIL
 * @param rejectionWindow how far back {@code rejections} counts records
 */
public record JobThresholds(
        int maxRestarts,
        Duration checkpointWarn,
        Duration checkpointFail,
        long lagWarn,
        long lagFail,
        double rejectionWarnPercent,
        double rejectionFailPercent,
        Duration rejectionWindow) {

    /** The defaults, which the alert rules in docker/prometheus/alerts.yml repeat for restarts and checkpoints. */
    public static final JobThresholds DEFAULTS = new JobThresholds(
            3, Duration.ofMinutes(5), Duration.ofMinutes(15), 100_000, 1_000_000, 5, 50, Duration.ofMinutes(5));

    public JobThresholds {
        String notNegative = "must not be negative";
        String percent = "must be a percentage from 0 to 100";
        require(maxRestarts >= 0, "--max-restarts", maxRestarts, notNegative);
        require(!checkpointWarn.isNegative(), "--checkpoint-warn", checkpointWarn, notNegative);
        require(!checkpointFail.isNegative(), "--checkpoint-fail", checkpointFail, notNegative);
        require(lagWarn >= 0, "--lag-warn", lagWarn, notNegative);
        require(lagFail >= 0, "--lag-fail", lagFail, notNegative);
        require(
                rejectionWarnPercent >= 0 && rejectionWarnPercent <= 100,
                "--rejection-warn",
                rejectionWarnPercent,
                percent);
        require(
                rejectionFailPercent >= 0 && rejectionFailPercent <= 100,
                "--rejection-fail",
                rejectionFailPercent,
                percent);
        require(rejectionWindow.toMillis() > 0, "--rejection-window", rejectionWindow, "must be positive");
    }

    private static void require(boolean ok, String flag, Object value, String requirement) {
        if (!ok) {
            throw new IllegalArgumentException("Invalid " + flag + ": '"
                    + (value instanceof Duration d ? human(d) : value) + "' (" + requirement + ")");
        }
    }

    /** A duration as people write it: {@code 750 ms}, {@code 42 s}, {@code 5 min}, {@code 2 h 5 min}, {@code 3 d}. */
    static String human(Duration d) {
        long ms = d.toMillis();
        if (ms < 0) {
            return "-" + human(d.negated());
        }
        if (ms < 1000) {
            return ms + " ms";
        }
        long s = ms / 1000;
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return s % 60 == 0 || s >= 600 ? s / 60 + " min" : s / 60 + " min " + s % 60 + " s";
        }
        if (s < 86_400) {
            return s / 3600 + " h" + (s % 3600 / 60 == 0 ? "" : " " + s % 3600 / 60 + " min");
        }
        return s / 86_400 + " d" + (s % 86_400 / 3600 == 0 ? "" : " " + s % 86_400 / 3600 + " h");
    }

    /** A percentage with the precision a threshold needs: {@code 5 %}, {@code 2.5 %}, {@code 0.04 %}. */
    static String percent(double p) {
        if (p == Math.rint(p)) {
            return String.format(Locale.ROOT, "%.0f %%", p);
        }
        return String.format(Locale.ROOT, p >= 1 ? "%.1f %%" : "%.2f %%", p);
    }
}
