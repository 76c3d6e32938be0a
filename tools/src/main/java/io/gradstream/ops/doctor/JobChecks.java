package io.gradstream.ops.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.ops.FlinkRest;
import io.gradstream.ops.FlinkRestException;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The checks of the running gradstream job that ask Flink's REST API: its state and restarts, and the age of its last
 * completed checkpoint. Both find the job by name; the verdicts are static methods on Flink's JSON answers.
 */
final class JobChecks {
    /** States a job never leaves; among jobs of one name the doctor prefers any other. */
    static final Set<String> TERMINAL = Set.of("FINISHED", "CANCELED", "FAILED");
    /** How long to wait for the REST API's metric store, which fills asynchronously after the first request. */
    private static final long METRIC_WAIT_MS = 5_000;

    private final String flinkUrl;
    private final String jobName;
    private final JobThresholds limits;
    /** The job, looked up once and shared by both checks; null until then. */
    private Job job;
    /** Why there is no job to check (not found, Flink unreachable), once known. */
    private Check.Result noJob;

    /** What the checks need to know of the job, from {@code /jobs/overview} and {@code /jobs/:id}. */
    record Job(String id, String name, String state, long startTime, long now) {
        Duration uptime() {
            return Duration.ofMillis(Math.max(0, now - startTime));
        }
    }

    private JobChecks(String flinkUrl, String jobName, JobThresholds limits) {
        this.flinkUrl = flinkUrl;
        this.jobName = jobName;
        this.limits = limits;
    }

    static List<Check> of(String flinkUrl, String jobName, JobThresholds limits) {
        JobChecks j = new JobChecks(flinkUrl, jobName, limits);
        return List.of(Check.of("job restarts", j::restarts), Check.of("checkpoint", j::checkpoint));
    }

    private Check.Result restarts() throws FlinkRestException, InterruptedException {
        if (!find()) {
            return noJob;
        }
        FlinkRest rest = new FlinkRest(flinkUrl);
        // An ended job's metrics are gone: its state and last failure say enough.
        long restarts = TERMINAL.contains(job.state()) ? -1 : numRestarts(rest, job.id());
        String failure = null;
        if (restarts != 0 || !job.state().equals("RUNNING")) {
            failure = lastFailure(rest.get("jobs/" + job.id() + "/exceptions?maxExceptions=1"));
        }
        return restartsVerdict(job, restarts, failure, limits);
    }

    private Check.Result checkpoint() throws FlinkRestException {
        if (!find()) {
            return new Check.Result(noJob.status(), "not checked: " + noJob.detail());
        }
        if (TERMINAL.contains(job.state())) {
            // An ended job takes no checkpoints; job restarts already judges its state.
            return Check.Result.warn("not checked: job " + job.id() + " is " + job.state());
        }
        return checkpointVerdict(job, new FlinkRest(flinkUrl).get("jobs/" + job.id() + "/checkpoints"), limits);
    }

    /** Looks the job up once; false (with {@link #noJob} set) when there is none to check. */
    private boolean find() throws FlinkRestException {
        if (job != null || noJob != null) {
            return job != null;
        }
        FlinkRest rest = new FlinkRest(flinkUrl);
        JsonNode overview;
        try {
            overview = rest.get("jobs/overview");
        } catch (FlinkRestException e) {
            // This check reports the reason; the next one only refers to it.
            noJob = Check.Result.fail("Flink's REST API did not answer (see above)");
            throw e;
        }
        JsonNode chosen = select(overview, jobName);
        if (chosen == null) {
            noJob = Check.Result.warn("no job named '" + jobName + "' on " + rest.url() + " ("
                    + overview.path("jobs").size()
                    + " other job(s)); these checks look at it once it runs (gradstream submit, or "
                    + "--job-name)");
            return false;
        }
        JsonNode details = rest.get("jobs/" + chosen.path("jid").asText());
        job = new Job(
                details.path("jid").asText(),
                details.path("name").asText(),
                details.path("state").asText(),
                details.path("start-time").asLong(),
                details.path("now").asLong(System.currentTimeMillis()));
        return true;
    }

    /**
     * The job named {@code name} in Flink's {@code /jobs/overview}: the newest that has not ended, else the newest
     * that has (a FAILED job is worth reporting); null when none has that name.
     */
    static JsonNode select(JsonNode overview, String name) {
        JsonNode best = null;
        for (JsonNode j : overview.path("jobs")) {
            if (!j.path("name").asText().equals(name)) {
                continue;
            }
            if (best == null
                    || rank(j) > rank(best)
                    || rank(j) == rank(best)
                            && j.path("start-time").asLong()
                                    > best.path("start-time").asLong()) {
                best = j;
            }
        }
        return best;
    }

    private static int rank(JsonNode job) {
        return TERMINAL.contains(job.path("state").asText()) ? 0 : 1;
    }

    /** The job's {@code numRestarts} metric, or -1 when the REST API's metric store has not got it yet. */
    private static long numRestarts(FlinkRest rest, String jobId) throws FlinkRestException, InterruptedException {
        long deadline = System.currentTimeMillis() + METRIC_WAIT_MS;
        while (true) {
            for (JsonNode m : rest.get("jobs/" + jobId + "/metrics?get=numRestarts")) {
                if (m.path("id").asText().equals("numRestarts")) {
                    return Long.parseLong(m.path("value").asText("-1"));
                }
            }
            if (System.currentTimeMillis() > deadline) {
                return -1;
            }
            Thread.sleep(250);
        }
    }

    /**
     * The root cause of the newest entry of Flink's exception history ({@code /jobs/:id/exceptions}) and the task it
     * hit, or null. The root cause, because Flink often wraps a user function's exception (a source chained to a map
     * reports "Failed to deserialize consumer record").
     */
    static String lastFailure(JsonNode exceptions) {
        JsonNode entries = exceptions.path("exceptionHistory").path("entries");
        if (entries.isEmpty()) {
            return null;
        }
        JsonNode newest = entries.get(0);
        String cause = newest.path("exceptionName").asText("?");
        List<String> lines = newest.path("stacktrace")
                .asText("")
                .strip()
                .lines()
                .map(String::strip)
                .toList();
        if (!lines.isEmpty() && !lines.get(0).isEmpty()) {
            cause = lines.get(0);
        }
        for (String l : lines) {
            if (l.startsWith("Caused by: ")) {
                cause = l.substring("Caused by: ".length());
            }
        }
        String where = newest.path("taskName").asText("");
        String line = cause + (where.isEmpty() || where.equals("null") ? "" : " in " + where);
        return line.length() <= 200 ? line : line.substring(0, 200) + " ...";
    }

    /**
     * OK: RUNNING without restarts. WARN: one or more restarts, or a state on the way (CREATED, INITIALIZING,
     * CANCELLING, ...), or a job that was cancelled or finished. FAIL: {@code maxRestarts} or more restarts, a job
     * RESTARTING or FAILING now, or FAILED. {@code restarts} is -1 when unknown.
     */
    static Check.Result restartsVerdict(Job job, long restarts, String lastFailure, JobThresholds limits) {
        String count = restarts >= 0
                ? restarts + " restart(s)"
                : TERMINAL.contains(job.state())
                        ? ""
                        : "restarts unknown (Flink's metric store has no numRestarts yet)";
        String what = "job " + job.id() + " " + job.state()
                + (count.isEmpty() ? ", started " : ", " + count + " since it started ")
                + JobThresholds.human(job.uptime()) + " ago";
        String failure = lastFailure == null ? "" : "; last failure: " + lastFailure;
        switch (job.state()) {
            case "FAILED", "RESTARTING", "FAILING":
                return Check.Result.fail(what + failure);
            case "CANCELED", "FINISHED":
                return Check.Result.warn(what + ": nothing trains until it is submitted again" + failure);
            default:
                break;
        }
        if (restarts >= limits.maxRestarts()) {
            return Check.Result.fail(what + " (FAIL from " + limits.maxRestarts() + ", --max-restarts)" + failure);
        }
        if (restarts != 0 || !job.state().equals("RUNNING")) {
            return Check.Result.warn(what + failure);
        }
        return Check.Result.ok(what);
    }

    /**
     * The age of the last completed checkpoint ({@code latest.completed.latest_ack_timestamp} of Flink's
     * {@code /jobs/:id/checkpoints}, against the JobManager's clock): WARN and FAIL from the thresholds. Without one,
     * the time since the job started counts instead, so a job that never completes a checkpoint fails too.
     */
    static Check.Result checkpointVerdict(Job job, JsonNode checkpoints, JobThresholds limits) {
        JsonNode completed = checkpoints.path("latest").path("completed");
        JsonNode counts = checkpoints.path("counts");
        String tally = counts.path("completed").asLong() + " completed, "
                + counts.path("failed").asLong() + " failed, "
                + counts.path("in_progress").asLong() + " in progress";
        Duration age;
        String what;
        if (completed.isObject() && completed.has("latest_ack_timestamp")) {
            age = Duration.ofMillis(Math.max(
                    0, job.now() - completed.path("latest_ack_timestamp").asLong()));
            what = "checkpoint " + completed.path("id").asLong() + " completed " + JobThresholds.human(age)
                    + " ago (took "
                    + JobThresholds.human(Duration.ofMillis(
                            completed.path("end_to_end_duration").asLong())) + ", "
                    + mib(completed.path("state_size").asLong()) + "); " + tally;
        } else {
            age = job.uptime();
            what = "no checkpoint completed since the job started " + JobThresholds.human(age) + " ago; " + tally;
        }
        if (age.compareTo(limits.checkpointFail()) >= 0) {
            return Check.Result.fail(what + " (FAIL from " + JobThresholds.human(limits.checkpointFail())
                    + ", --checkpoint-fail): a failure now replays everything since, and EXACTLY_ONCE output waits "
                    + "for a checkpoint");
        }
        if (age.compareTo(limits.checkpointWarn()) >= 0) {
            return Check.Result.warn(
                    what + " (WARN from " + JobThresholds.human(limits.checkpointWarn()) + ", --checkpoint-warn)");
        }
        return Check.Result.ok(what);
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }
}
