package io.gradstream.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.cli.GradstreamCli;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.doctor.Check.Result;
import io.gradstream.ops.doctor.Check.Status;
import io.gradstream.ops.doctor.JobChecks.Job;
import io.gradstream.ops.doctor.JobKafkaChecks.PartitionLag;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The verdicts of the job health checks on answers shaped like Flink's REST API and Kafka's offsets: where each
 * threshold turns OK into WARN and FAIL, and how the doctor's flags set them.
 */
class JobHealthTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JobThresholds DEFAULTS = JobThresholds.DEFAULTS;
    private static final long NOW = 1_800_000_000_000L;
    private static final long MIN = 60_000;

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text.replace('\'', '"'));
    }

    private static Job job(String state, long runningMs) {
        return new Job("a1b2", "gradstream", state, NOW - runningMs, NOW);
    }

    private static JobThresholds with(int maxRestarts) {
        return new JobThresholds(
                maxRestarts,
                DEFAULTS.checkpointWarn(),
                DEFAULTS.checkpointFail(),
                DEFAULTS.lagWarn(),
                DEFAULTS.lagFail(),
                DEFAULTS.rejectionWarnPercent(),
                DEFAULTS.rejectionFailPercent(),
                DEFAULTS.rejectionWindow());
    }

    @Test
    void restartsAreOkAtZeroWarnFromOneAndFailFromTheLimit() {
        Result ok = JobChecks.restartsVerdict(job("RUNNING", 3 * MIN), 0, null, DEFAULTS);
        assertThat(ok).isEqualTo(Result.ok("job a1b2 RUNNING, 0 restart(s) since it started 3 min ago"));
        Result one = JobChecks.restartsVerdict(
                job("RUNNING", 3 * MIN), 1, "java.lang.IllegalStateException: injected in map (1/2)", DEFAULTS);
        assertThat(one.status()).isEqualTo(Status.WARN);
        assertThat(one.detail())
                .isEqualTo("job a1b2 RUNNING, 1 restart(s) since it started 3 min ago; last failure: "
                        + "java.lang.IllegalStateException: injected in map (1/2)");
        assertThat(JobChecks.restartsVerdict(job("RUNNING", MIN), 2, null, DEFAULTS)
                        .status())
                .isEqualTo(Status.WARN);
        Result three = JobChecks.restartsVerdict(job("RUNNING", MIN), 3, null, DEFAULTS);
        assertThat(three.status()).isEqualTo(Status.FAIL);
        assertThat(three.detail()).contains("3 restart(s)").contains("FAIL from 3, --max-restarts");
        assertThat(JobChecks.restartsVerdict(job("RUNNING", MIN), 0, null, with(0))
                        .status())
                .as("a limit of 0 always fails")
                .isEqualTo(Status.FAIL);
        assertThat(JobChecks.restartsVerdict(job("RUNNING", MIN), -1, null, DEFAULTS))
                .as("metric not fetched yet")
                .isEqualTo(Result.warn("job a1b2 RUNNING, restarts unknown (Flink's "
                        + "metric store has no numRestarts yet) since it started 1 min ago"));
    }

    @Test
    void aJobRestartingFailingOrFailedFailsWhateverItsCount() {
        for (String state : List.of("RESTARTING", "FAILING", "FAILED")) {
            Result r = JobChecks.restartsVerdict(job(state, MIN), 1, "java.io.IOException: disk full", DEFAULTS);
            assertThat(r.status()).as(state).isEqualTo(Status.FAIL);
            assertThat(r.detail())
                    .contains("job a1b2 " + state)
                    .endsWith("last failure: java.io.IOException: disk full");
        }
        assertThat(JobChecks.restartsVerdict(job("CANCELED", MIN), -1, null, DEFAULTS))
                .isEqualTo(Result.warn(
                        "job a1b2 CANCELED, started 1 min ago: nothing trains until it is submitted again"));
        assertThat(JobChecks.restartsVerdict(job("INITIALIZING", 0), 0, null, DEFAULTS)
                        .status())
                .isEqualTo(Status.WARN);
    }

    @Test
    void theNewestJobOfTheNameIsChosenAndOneStillRunningWinsOverOneThatEnded() throws Exception {
        JsonNode overview = json("{'jobs': ["
                + "{'jid': 'old', 'name': 'gradstream', 'state': 'CANCELED', 'start-time': 300},"
                + "{'jid': 'run', 'name': 'gradstream', 'state': 'RUNNING', 'start-time': 200},"
                + "{'jid': 'run0', 'name': 'gradstream', 'state': 'RESTARTING', 'start-time': 100},"
                + "{'jid': 'other', 'name': 'etl', 'state': 'RUNNING', 'start-time': 400}]}");
        assertThat(JobChecks.select(overview, "gradstream").path("jid").asText())
                .isEqualTo("run");
        assertThat(JobChecks.select(overview, "etl").path("jid").asText()).isEqualTo("other");
        assertThat(JobChecks.select(overview, "nope")).isNull();
        JsonNode ended = json("{'jobs': [{'jid': 'f1', 'name': 'gradstream', 'state': 'FAILED', 'start-time': 1},"
                + "{'jid': 'f2', 'name': 'gradstream', 'state': 'FAILED', 'start-time': 2}]}");
        assertThat(JobChecks.select(ended, "gradstream").path("jid").asText()).isEqualTo("f2");
    }

    @Test
    void lastFailureIsTheRootCauseOfTheNewestException() throws Exception {
        JsonNode history = json("{'exceptionHistory': {'entries': [{"
                + " 'exceptionName': 'java.lang.IllegalStateException',"
                + " 'stacktrace': 'java.lang.IllegalStateException: injected failure\\n\\tat io.x.Map.map(Map.java:1)',"
                + " 'timestamp': 5, 'taskName': 'failure injection (1/2)'}], 'truncated': false}}");
        assertThat(JobChecks.lastFailure(history))
                .isEqualTo("java.lang.IllegalStateException: injected failure in failure injection (1/2)");
        assertThat(JobChecks.lastFailure(json("{'exceptionHistory': {'entries': []}}")))
                .isNull();
        JsonNode wrapped = json("{'exceptionHistory': {'entries': [{'exceptionName': 'java.io.IOException',"
                + " 'stacktrace': 'java.io.IOException: Failed to deserialize consumer record due to"
                + "\\n\\tat a.B(B.java:1)\\nCaused by: org.x.Wrapper: wrapped\\n\\tat c.D(D.java:2)"
                + "\\nCaused by: java.lang.IllegalStateException: injected failure\\n\\t... 12 more',"
                + " 'taskName': 'Source: gradients (1/1)'}]}}");
        assertThat(JobChecks.lastFailure(wrapped))
                .as("the root cause")
                .isEqualTo("java.lang.IllegalStateException: injected failure in Source: gradients (1/1)");
    }

    private static JsonNode checkpoints(Long ackAgoMs) throws Exception {
        String completed = ackAgoMs == null
                ? "null"
                : "{'id': 42, 'status': 'COMPLETED', 'latest_ack_timestamp': " + (NOW - ackAgoMs)
                        + ", 'end_to_end_duration': 120, 'state_size': 3145728}";
        return json("{'counts': {'restored': 0, 'total': 44, 'in_progress': 1, 'completed': 42, 'failed': 1},"
                + " 'latest': {'completed': " + completed + ", 'savepoint': null, 'failed': null, 'restored': null}}");
    }

    @Test
    void checkpointAgeWarnsAndFailsFromItsThresholds() throws Exception {
        Result fresh = JobChecks.checkpointVerdict(job("RUNNING", 60 * MIN), checkpoints(3_000L), DEFAULTS);
        assertThat(fresh)
                .isEqualTo(Result.ok("checkpoint 42 completed 3 s ago (took 120 ms, 3.0 MiB); 42 completed, "
                        + "1 failed, 1 in progress"));
        Result old = JobChecks.checkpointVerdict(job("RUNNING", 60 * MIN), checkpoints(5 * MIN), DEFAULTS);
        assertThat(old.status()).isEqualTo(Status.WARN);
        assertThat(old.detail()).contains("completed 5 min ago").endsWith("(WARN from 5 min, --checkpoint-warn)");
        Result veryOld = JobChecks.checkpointVerdict(job("RUNNING", 60 * MIN), checkpoints(20 * MIN), DEFAULTS);
        assertThat(veryOld.status()).isEqualTo(Status.FAIL);
        assertThat(veryOld.detail()).contains("completed 20 min ago").contains("FAIL from 15 min, --checkpoint-fail");
        JobThresholds zero =
                new JobThresholds(3, Duration.ofMinutes(5), Duration.ZERO, 1, 1, 5, 50, Duration.ofMinutes(5));
        assertThat(JobChecks.checkpointVerdict(job("RUNNING", MIN), checkpoints(0L), zero)
                        .status())
                .isEqualTo(Status.FAIL);
    }

    @Test
    void withoutACompletedCheckpointTheJobsRunningTimeCounts() throws Exception {
        Result young = JobChecks.checkpointVerdict(job("RUNNING", 20_000), checkpoints(null), DEFAULTS);
        assertThat(young)
                .isEqualTo(Result.ok("no checkpoint completed since the job started 20 s ago; 42 completed, "
                        + "1 failed, 1 in progress"));
        assertThat(JobChecks.checkpointVerdict(job("RUNNING", 6 * MIN), checkpoints(null), DEFAULTS)
                        .status())
                .isEqualTo(Status.WARN);
        Result never = JobChecks.checkpointVerdict(job("RUNNING", 2 * 60 * MIN), checkpoints(null), DEFAULTS);
        assertThat(never.status()).isEqualTo(Status.FAIL);
        assertThat(never.detail()).startsWith("no checkpoint completed since the job started 2 h ago");
    }

    @Test
    void unreachableFlinkFailsTheJobChecksOnceWithTheReason() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        List<Doctor.Finding> f = Doctor.run(JobChecks.of("http://127.0.0.1:" + port, "gradstream", DEFAULTS));
        assertThat(f.get(0).check()).isEqualTo("job restarts");
        assertThat(f.get(0).result().status()).isEqualTo(Status.FAIL);
        assertThat(f.get(0).result().detail()).contains("127.0.0.1:" + port).contains("connection refused");
        assertThat(f.get(1))
                .isEqualTo(new Doctor.Finding(
                        "checkpoint", Result.fail("not checked: Flink's REST API did not answer (see above)")));
    }

    private static PartitionLag part(String topic, int p, Long committed, long start, long end) {
        return new PartitionLag(new TopicPartition(topic, p), committed, start, end);
    }

    @Test
    void lagSumsThePartitionsAndComparesTheTotal() {
        List<String> topics = List.of("gradients", "control");
        List<PartitionLag> small = List.of(
                part("gradients", 0, 90L, 0, 100), part("gradients", 1, 50L, 0, 50), part("control", 0, 3L, 0, 3));
        assertThat(JobKafkaChecks.lagVerdict("gradstream", topics, small, DEFAULTS))
                .isEqualTo(Result.ok(
                        "group gradstream is 10 record(s) behind (gradients 10, control 0; offsets are committed at "
                                + "checkpoints)"));
        List<PartitionLag> big = List.of(part("gradients", 0, 0L, 0, 150_000), part("control", 0, 0L, 0, 0));
        assertThat(JobKafkaChecks.lagVerdict("gradstream", topics, big, DEFAULTS)
                        .detail())
                .endsWith("(WARN from 100000, --lag-warn)");
        List<PartitionLag> huge = List.of(part("gradients", 0, 5L, 0, 2_000_000));
        assertThat(JobKafkaChecks.lagVerdict("gradstream", topics, huge, DEFAULTS)
                        .status())
                .isEqualTo(Status.FAIL);
        // A committed offset the retention has overtaken: the job restarts from the log start.
        assertThat(part("gradients", 0, 5L, 100, 120).lag()).isEqualTo(20);
    }

    @Test
    void partitionsWithRecordsButNoCommittedOffsetWarnAboutTheGroupId() {
        List<PartitionLag> none = List.of(part("gradients", 0, null, 0, 12), part("control", 0, null, 0, 0));
        Result r = JobKafkaChecks.lagVerdict("gradstream", List.of("gradients", "control"), none, DEFAULTS);
        assertThat(r.status()).isEqualTo(Status.WARN);
        assertThat(r.detail())
                .contains("is 12 record(s) behind")
                .contains("no committed offset for gradients-0:")
                .contains("gradstream.kafka.group-id is not gradstream");
        List<PartitionLag> empty = List.of(part("gradients", 0, null, 7, 7), part("control", 0, null, 0, 0));
        assertThat(JobKafkaChecks.lagVerdict("g", List.of("gradients", "control"), empty, DEFAULTS)
                        .status())
                .as("nothing to read yet")
                .isEqualTo(Status.OK);
    }

    @Test
    void rejectionShareWarnsFromFiveAndFailsFromFiftyPercent() {
        JobSettings s = JobSettings.from(new Configuration());
        assertThat(JobKafkaChecks.rejectionVerdict(s, 0, 0, DEFAULTS))
                .isEqualTo(Result.ok("no records on gradients or control in the last 5 min"));
        assertThat(JobKafkaChecks.rejectionVerdict(s, 4, 100, DEFAULTS))
                .isEqualTo(Result.ok(
                        "4 record(s) to rejected for 100 on gradients and control in the last 5 min: 4 %, 0.8/min"));
        Result warn = JobKafkaChecks.rejectionVerdict(s, 5, 100, DEFAULTS);
        assertThat(warn.status()).isEqualTo(Status.WARN);
        assertThat(warn.detail()).endsWith(": 5 %, 1.0/min (WARN from 5 %, --rejection-warn)");
        assertThat(JobKafkaChecks.rejectionVerdict(s, 50, 100, DEFAULTS).status())
                .isEqualTo(Status.FAIL);
        assertThat(JobKafkaChecks.rejectionVerdict(s, 3, 0, DEFAULTS).detail())
                .as("no input, only rejections")
                .contains(": 100 %");
        assertThat(JobKafkaChecks.rejectionVerdict(s, 1, 3, DEFAULTS).detail()).contains(": 33.3 %");
    }

    @Test
    void thresholdsRejectNegativeValuesAndPercentagesAbove100() {
        assertThatThrownBy(() -> with(-1)).hasMessage("Invalid --max-restarts: '-1' (must not be negative)");
        assertThatThrownBy(() ->
                        new JobThresholds(3, Duration.ofSeconds(-5), Duration.ZERO, 0, 0, 0, 0, Duration.ofMinutes(1)))
                .hasMessage("Invalid --checkpoint-warn: '-5 s' (must not be negative)");
        assertThatThrownBy(
                        () -> new JobThresholds(3, Duration.ZERO, Duration.ZERO, 0, 0, 101, 0, Duration.ofMinutes(1)))
                .hasMessageContaining("--rejection-warn: '101.0' (must be a percentage");
        assertThatThrownBy(() -> new JobThresholds(3, Duration.ZERO, Duration.ZERO, 0, 0, 0, 0, Duration.ZERO))
                .hasMessage("Invalid --rejection-window: '0 ms' (must be positive)");
        assertThat(JobThresholds.human(Duration.ofSeconds(150))).isEqualTo("2 min 30 s");
        assertThat(JobThresholds.human(Duration.ofHours(50))).isEqualTo("2 d 2 h");
    }

    private static String[] run(int expected, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = GradstreamCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        assertThat(rc).as(out + "\n" + err).isEqualTo(expected);
        return new String[] {out.toString(), err.toString()};
    }

    @Test
    void flagsDefaultToTheDefaultThresholdsAndAreDocumentedInHelp() {
        assertThat(parse()).isEqualTo(JobThresholds.DEFAULTS);
        assertThat(parse(
                        "--max-restarts",
                        "0",
                        "--checkpoint-warn",
                        "90s",
                        "--checkpoint-fail",
                        "2 min",
                        "--lag-warn",
                        "7",
                        "--lag-fail",
                        "8",
                        "--rejection-warn",
                        "2.5%",
                        "--rejection-fail",
                        "10",
                        "--rejection-window",
                        "1 h"))
                .isEqualTo(new JobThresholds(
                        0, Duration.ofSeconds(90), Duration.ofMinutes(2), 7, 8, 2.5, 10, Duration.ofHours(1)));

        String help = run(0, "doctor", "--help")[0];
        assertThat(help)
                .contains(
                        "--job-name=NAME",
                        "--max-restarts=N",
                        "--checkpoint-warn=DURATION",
                        "--checkpoint-fail=DURATION",
                        "--lag-warn=RECORDS",
                        "--lag-fail=RECORDS",
                        "--rejection-warn=PERCENT",
                        "--rejection-fail=PERCENT",
                        "--rejection-window=DURATION",
                        "(default: 5%)",
                        "(default: 15 min)",
                        "(default: 3)",
                        "(default: gradstream)");
        String bad = run(2, "doctor", "--checkpoint-warn", "soon")[1];
        assertThat(bad).contains("'soon' is not a duration");
        String negative = run(2, "doctor", "--max-restarts", "-1", "--skip", "java")[1];
        assertThat(negative).contains("gradstream doctor: Invalid --max-restarts: '-1' (must not be negative)");
    }

    /** The thresholds {@code gradstream doctor ARGS} would use. */
    private static JobThresholds parse(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "doctor";
        System.arraycopy(args, 0, all, 1, args.length);
        Object doctor = new picocli.CommandLine(new GradstreamCli())
                .parseArgs(all)
                .subcommand()
                .commandSpec()
                .userObject();
        try {
            var m = doctor.getClass().getDeclaredMethod("thresholds");
            m.setAccessible(true);
            return (JobThresholds) m.invoke(doctor);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
