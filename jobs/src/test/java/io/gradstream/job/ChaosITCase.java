package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once under chaos: a private model trains through a Kafka broker in its own JVM on a standalone Flink
 * cluster of separate JVMs while task failures are injected at seeded random points, the TaskManager process is
 * SIGKILLed and replaced, and the broker is restarted; the read_committed output must still hold every version of
 * every shard exactly once, bit-identical to the failure-free computation and with its exact ε.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ChaosITCase {
    private static final double SIGMA = 1.1;
    private static final double Q = 2.0 / 1000;
    private static final double DELTA = 1e-5;
    private static final int LENGTH = 210;
    private static final int SHARD_SIZE = 40;
    private static final int SHARDS = 6;
    private static final int WORKERS = 2;
    private static final int STEPS = 16;
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

    /** What the test does to the running job; the first three make a task throw, where the name says. */
    enum Kind {
        RECORD,
        SNAPSHOT,
        CHECKPOINT_COMPLETE,
        KILL_TASK_MANAGER,
        RESTART_KAFKA;

        boolean inTask() {
            return this == RECORD || this == SNAPSHOT || this == CHECKPOINT_COMPLETE;
        }
    }

    /**
     * One failure: before step {@code step}'s gradients are published (task failures), or {@code delayMs} after
     * (a process), with {@code after} gradient records a subtask must have seen before a task failure may fire.
     */
    record Event(int id, int step, Kind kind, int after, int delayMs) {
        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "#%d step %d %s%s",
                    id,
                    step,
                    kind,
                    kind.inTask()
                            ? " after " + after + " record(s)"
                            : " " + delayMs + " ms after the step's gradients");
        }
    }

    /** Six failures at distinct steps: one of each task failure kind and one more at random, a TM kill, a restart. */
    static List<Event> schedule(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Kind[] taskKinds = {Kind.RECORD, Kind.SNAPSHOT, Kind.CHECKPOINT_COMPLETE};
        List<Kind> kinds = new ArrayList<>(List.of(
                Kind.RECORD,
                Kind.SNAPSHOT,
                Kind.CHECKPOINT_COMPLETE,
                taskKinds[rnd.nextInt(3)],
                Kind.KILL_TASK_MANAGER,
                Kind.RESTART_KAFKA));
        List<Integer> steps = new ArrayList<>();
        for (int s = 1; s < STEPS; s++) {
            steps.add(s);
        }
        for (int i = kinds.size() - 1; i > 0; i--) {
            Collections.swap(kinds, i, rnd.nextInt(i + 1));
        }
        for (int i = steps.size() - 1; i > 0; i--) {
            Collections.swap(steps, i, rnd.nextInt(i + 1));
        }
        List<Integer> chosen = new ArrayList<>(steps.subList(0, kinds.size()));
        Collections.sort(chosen);
        List<Event> out = new ArrayList<>();
        for (int i = 0; i < kinds.size(); i++) {
            out.add(new Event(i + 1, chosen.get(i), kinds.get(i), 1 + rnd.nextInt(2), rnd.nextInt(400)));
        }
        return out;
    }

    @Test
    void exactlyOnceSurvivesTaskFailuresAKilledTaskManagerAndABrokerRestart(@TempDir Path dir) throws Exception {
        // A new schedule every run explores more failure points; the assertions hold for each, and the seed replays it.
        long seed = Long.getLong("gradstream.chaos.seed", new SplittableRandom().nextLong());
        List<Event> schedule = schedule(seed);
        Map<Integer, Event> byStep = new HashMap<>();
        schedule.forEach(e -> byStep.put(e.step(), e));
        long t0 = System.nanoTime();
        log(t0, "seed " + seed + " (rerun with -Dgradstream.chaos.seed=" + seed + "); schedule: " + schedule);

        Path seedFile = Files.writeString(dir.resolve("dp-seed"), "chaos-secret-" + seed + "\n");
        double target = RdpAccountant.epsilon(SIGMA, Q, STEPS, DELTA, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        ModelSpec spec = ModelSpec.newBuilder(
                        Records.spec("Adam", Map.of("lr", 0.01), SHARD_SIZE, Records.sync(WORKERS), LENGTH))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(2.0)
                        .setNoiseMultiplier(SIGMA)
                        .setDelta(DELTA)
                        .setExpectedPerStep(2.0)
                        .setPopulationSize(1000L)
                        .setTargetEpsilon(target)
                        .setSeedFile(seedFile.toString())
                        .build())
                .build();
        Training training = new Training(spec, seed);

        Path markers = Files.createDirectories(dir.resolve("chaos"));
        RestartableKafka kafka = RestartableKafka.format(dir.resolve("kafka"));
        StandaloneFlinkCluster flink = new StandaloneFlinkCluster(
                dir.resolve("flink"),
                2,
                Map.of(
                        // A killed TaskManager is noticed by its failed heartbeat RPCs, within about a second.
                        "heartbeat.interval",
                        "500 ms",
                        "heartbeat.timeout",
                        "10 s",
                        // Room for every failure of the run, the broker's outage included, in the history checked
                        // below.
                        "web.exception-history-size",
                        "100",
                        // The REST API caches job details and checkpoint statistics for 3 s; the test waits on both.
                        "web.refresh-interval",
                        "200 ms",
                        "rest.cache.checkpoint-statistics.timeout",
                        "200 ms",
                        "web.checkpoints.history",
                        "200"));
        OutputCollector outputs = null;
        JobClient job = null;
        try {
            // All three JVMs start at once: on two cores, starting them one after another would double the wait.
            kafka.start();
            flink.startJobManager();
            flink.startTaskManager();
            kafka.awaitReady(Duration.ofSeconds(60));
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                admin.createTopics(List.of(
                                new NewTopic("control", 1, (short) 1),
                                new NewTopic("gradients", 2, (short) 1),
                                new NewTopic("parameters", 1, (short) 1).configs(KafkaIo.parametersTopicConfig()),
                                new NewTopic("rejected", 1, (short) 1),
                                new NewTopic("status", 1, (short) 1)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
            }
            outputs = new OutputCollector(kafka.bootstrapServers());
            flink.awaitTaskManagers(1, Duration.ofSeconds(60));
            log(t0, "broker, JobManager and TaskManager up");

            Properties pp = new Properties();
            pp.put("bootstrap.servers", kafka.bootstrapServers());
            try (var producer =
                    new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                RawRecord create = Records.create("m", spec);
                producer.send(new ProducerRecord<>("control", create.key, create.value))
                        .get(30, TimeUnit.SECONDS);

                Configuration conf = new Configuration();
                conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
                conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
                conf.set(GradstreamOptions.GROUP_ID, "chaos");
                conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, "chaos");
                // Longer than any outage here (a TaskManager replaced, a broker restarted: well under 30 s), so a
                // transaction pre-committed by a completed checkpoint is still open when the restored job commits
                // it; far below the broker's transaction.max.timeout.ms (15 min). A transaction the restored job
                // failed to abort would hold back read_committed readers for this long: the step wait fails first.
                conf.set(GradstreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(2));
                // hashmap by default (the fastest restore); -Dgradstream.chaos.state-backend=rocksdb for RocksDB.
                conf.setString("state.backend.type", System.getProperty("gradstream.chaos.state-backend", "hashmap"));
                conf.setString("execution.checkpointing.interval", "500 ms");
                conf.setString(
                        "execution.checkpointing.dir",
                        dir.resolve("checkpoints").toUri().toString());
                // A failed checkpoint (the SNAPSHOT failures) fails the job instead of being skipped.
                conf.setString("execution.checkpointing.tolerable-failed-checkpoints", "0");
                conf.setString("restart-strategy.type", "fixed-delay");
                conf.setString("restart-strategy.fixed-delay.attempts", "100");
                conf.setString("restart-strategy.fixed-delay.delay", "500 ms");
                StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(
                        "127.0.0.1", flink.restPort(), JobConfig.withDefaults(conf));
                env.setParallelism(2);
                String markerDir = markers.toString();
                job = GradstreamJob.kafka(JobSettings.from(conf))
                        .withGradientTap(s -> s.map(new ChaosTap(markerDir)).name("chaos injection"))
                        .start(env, "chaos test");
                String jobId = job.getJobID().toHexString();
                log(t0, "job " + jobId + " submitted (state backend " + conf.getString("state.backend.type", "") + ")");
                OutputCollector out = outputs;
                awaitVersion(out, 0, flink, jobId, t0);

                // A worker's loop: publish step t on the version it saw, wait for version t, go on.
                for (int t = 1; t <= STEPS; t++) {
                    Event e = byStep.get(t);
                    boolean taskFailure = e != null && e.kind().inTask();
                    if (taskFailure) {
                        ChaosTap.arm(markers, e);
                        log(t0, "armed " + e);
                    }
                    for (RawRecord r : training.step(t)) {
                        producer.send(new ProducerRecord<>("gradients", r.key, r.value));
                    }
                    producer.flush();
                    if (e != null && e.kind() == Kind.KILL_TASK_MANAGER) {
                        Thread.sleep(e.delayMs());
                        ChildJvm victim = flink.taskManager();
                        long killedAt = System.currentTimeMillis();
                        victim.kill();
                        log(t0, e + ": SIGKILLed " + victim.name + " (pid " + victim.pid() + ")");
                        ChildJvm replacement = flink.startTaskManager();
                        log(t0, "started " + replacement.name);
                        awaitRecovery(
                                flink,
                                jobId,
                                killedAt,
                                "the lost TaskManager",
                                f -> f.toLowerCase(Locale.ROOT).replace(" ", "").contains("taskmanager"),
                                t0);
                    } else if (e != null && e.kind() == Kind.RESTART_KAFKA) {
                        Thread.sleep(e.delayMs());
                        kafka.stop();
                        log(t0, e + ": broker stopped");
                        kafka.start();
                        kafka.awaitReady(Duration.ofSeconds(60));
                        log(t0, "broker up again on " + kafka.bootstrapServers());
                        awaitRecovery(flink, jobId, System.currentTimeMillis(), "the broker restart", null, t0);
                    } else if (taskFailure) {
                        Event armed = e;
                        long armedAt = System.currentTimeMillis();
                        await(
                                () -> ChaosTap.fired(markers, armed),
                                Duration.ofSeconds(60),
                                () -> armed + " never fired\n" + flink.logTails(40));
                        ChaosTap.disarm(markers);
                        log(t0, e + ": fired");
                        awaitRecovery(
                                flink,
                                jobId,
                                armedAt,
                                "failure #" + e.id(),
                                f -> f.contains("chaos: injected failure #" + armed.id() + " "),
                                t0);
                    }
                    awaitVersion(out, t, flink, jobId, t0);
                }
                log(t0, "all shards at version " + STEPS);
                await(() -> !out.status().isEmpty(), Duration.ofSeconds(30), () -> "no status event");
                // A duplicate would be committed by one of the next checkpoints: wait for a few of them.
                Thread.sleep(2000);
                log(t0, checkpointSummary(flink, jobId));
                List<String> failures = failureHistory(flink, jobId);
                log(
                        t0,
                        failures.size() + " job failures in Flink's exception history:\n  "
                                + String.join("\n  ", failures));

                assertExactlyOnce(out, training, target);
                // Each task failure and the lost TaskManager failed the job (the broker restart may have, too).
                assertThat(failures).as("job failures").hasSizeGreaterThanOrEqualTo(5);
                assertThat(failures)
                        .as("the lost TaskManager in the job's exception history")
                        .anySatisfy(f -> assertThat(f.toLowerCase(Locale.ROOT).replace(" ", ""))
                                .contains("taskmanager"));
                for (Event e : schedule) {
                    if (e.kind().inTask()) {
                        assertThat(failures)
                                .as("failure %s in the job's exception history", e)
                                .anySatisfy(f -> assertThat(f).contains("chaos: injected failure #" + e.id() + " "));
                    }
                }
                assertThat(markers.resolve("armed"))
                        .as("every armed failure fired and was disarmed")
                        .doesNotExist();
            }
            log(t0, "passed");
        } catch (Throwable failure) {
            System.out.println("ChaosITCase failed (seed " + seed + ", schedule " + schedule + "); process logs:\n"
                    + flink.logTails(80) + "---- kafka ----\n" + kafka.logTail(40));
            throw failure;
        } finally {
            if (job != null) {
                try {
                    job.cancel().get(20, TimeUnit.SECONDS);
                } catch (Exception e) {
                    System.out.println("ChaosITCase: cancelling the job failed: " + e);
                }
            }
            if (outputs != null) {
                outputs.close();
            }
            flink.close();
            kafka.close();
        }
    }

    private static void assertExactlyOnce(OutputCollector out, Training training, double target) {
        Map<Integer, Map<Long, Integer>> counts = new TreeMap<>();
        for (ParameterUpdate u : out.parameters()) {
            counts.computeIfAbsent(u.getShard(), k -> new TreeMap<>()).merge(u.getVersion(), 1, Integer::sum);
            float[] expected = training.expected[u.getShard()][(int) u.getVersion()];
            assertThat(bits(Records.values(u)))
                    .as("shard %d version %d, bit for bit", u.getShard(), u.getVersion())
                    .isEqualTo(bits(expected));
            assertThat(u.getEpsilonSpent())
                    .as("epsilon of shard %d version %d", u.getShard(), u.getVersion())
                    .isEqualTo(training.epsilon[(int) u.getVersion()]);
        }
        Map<Integer, Map<Long, Integer>> once = new TreeMap<>();
        for (int s = 0; s < SHARDS; s++) {
            Map<Long, Integer> v = new TreeMap<>();
            for (long version = 0; version <= STEPS; version++) {
                v.put(version, 1);
            }
            once.put(s, v);
        }
        assertThat(counts)
                .as("how often each version of each shard was committed")
                .isEqualTo(once);
        assertThat(out.status()).as("status events").hasSize(1);
        StatusEvent status = out.status().get(0);
        assertThat(status.getType()).isEqualTo(StatusType.BUDGET_EXHAUSTED);
        assertThat(status.getVersion()).isEqualTo(STEPS);
        assertThat(status.getEpsilonSpent()).isEqualTo(target);
        assertThat(out.rejected()).as("rejected records").isEmpty();
    }

    /**
     * Waits until Flink recorded the failure (a history entry after {@code sinceMs} that {@code failure} accepts; null:
     * none expected) and then until a checkpoint triggered after it completed: the job runs again, restored, so the
     * next failure cannot hit a job that is still failing over and be lost among the cancelled tasks.
     */
    private static void awaitRecovery(
            StandaloneFlinkCluster flink, String jobId, long sinceMs, String what, Predicate<String> failure, long t0)
            throws InterruptedException {
        long[] failedAt = {sinceMs};
        if (failure != null) {
            await(
                    () -> {
                        JsonNode history = flink.getOrNull("/jobs/" + jobId + "/exceptions?maxExceptions=100");
                        if (history == null) {
                            return false;
                        }
                        for (JsonNode entry : history.path("exceptionHistory").path("entries")) {
                            long at = entry.path("timestamp").asLong();
                            if (at >= sinceMs && failure.test(describe(entry))) {
                                failedAt[0] = at;
                                return true;
                            }
                        }
                        return false;
                    },
                    Duration.ofSeconds(60),
                    () -> what + " never failed the job; history "
                            + flink.getOrNull("/jobs/" + jobId + "/exceptions?maxExceptions=100") + "\n"
                            + flink.logTails(40));
        }
        long[] checkpoint = {-1};
        await(
                () -> {
                    JsonNode stats = flink.getOrNull("/jobs/" + jobId + "/checkpoints");
                    JsonNode completed =
                            stats == null ? null : stats.path("latest").path("completed");
                    if (completed == null
                            || !completed.has("trigger_timestamp")
                            || completed.path("trigger_timestamp").asLong() <= failedAt[0]) {
                        return false;
                    }
                    checkpoint[0] = completed.path("id").asLong();
                    return true;
                },
                Duration.ofSeconds(60),
                () -> "no checkpoint completed after " + what + "; job " + flink.getOrNull("/jobs/" + jobId) + "\n"
                        + flink.logTails(40));
        log(t0, "recovered from " + what + ": checkpoint " + checkpoint[0] + " completed");
    }

    /** Checkpoint counts, and how many of the recent failed checkpoints failed with which message. */
    private static String checkpointSummary(StandaloneFlinkCluster flink, String jobId) {
        JsonNode stats = flink.getOrNull("/jobs/" + jobId + "/checkpoints");
        if (stats == null) {
            return "checkpoint statistics unavailable";
        }
        Map<String, Integer> reasons = new TreeMap<>();
        for (JsonNode c : stats.path("history")) {
            if (c.path("status").asText().equals("FAILED")) {
                reasons.merge(c.path("failure_message").asText("?"), 1, Integer::sum);
            }
        }
        return "checkpoints " + stats.path("counts") + "; failures among the last "
                + stats.path("history").size() + ": " + reasons;
    }

    /**
     * The job's failures, oldest first, from Flink's exception history: one line per failure with its exception
     * and message, the messages of its causes and concurrent exceptions appended.
     */
    private static List<String> failureHistory(StandaloneFlinkCluster flink, String jobId) {
        JsonNode history = flink.getOrNull("/jobs/" + jobId + "/exceptions?maxExceptions=100");
        assertThat(history).as("exception history of job %s", jobId).isNotNull();
        List<String> out = new ArrayList<>();
        for (JsonNode entry : history.path("exceptionHistory").path("entries")) {
            out.add(describe(entry));
        }
        Collections.reverse(out);
        return out;
    }

    /** A history entry in one line: its messages, then those of its concurrent exceptions. */
    private static String describe(JsonNode entry) {
        StringBuilder line = new StringBuilder(messages(entry));
        for (JsonNode concurrent : entry.path("concurrentExceptions")) {
            line.append(" | concurrent: ").append(messages(concurrent));
        }
        return line.toString();
    }

    /** The first line of the stack trace (exception and message) and the "Caused by:" lines. */
    private static String messages(JsonNode exception) {
        List<String> lines = new ArrayList<>();
        String[] trace = exception.path("stacktrace").asText("").split("\n");
        lines.add(trace[0].strip());
        for (String l : trace) {
            if (l.startsWith("Caused by: ")) {
                lines.add(l.strip());
            }
        }
        return String.join(" ", lines);
    }

    private static int[] bits(float[] values) {
        int[] b = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = Float.floatToRawIntBits(values[i]);
        }
        return b;
    }

    private static void awaitVersion(
            OutputCollector out, long version, StandaloneFlinkCluster flink, String jobId, long t0)
            throws InterruptedException {
        await(
                () -> out.minVersion() >= version,
                STEP_TIMEOUT,
                () -> "the shards did not all reach version " + version
                        + " within " + STEP_TIMEOUT + "; newest versions " + out.newestVersions() + "; job "
                        + flink.getOrNull("/jobs/" + jobId) + "\n" + flink.logTails(60));
        log(t0, "version " + version + " committed");
    }

    private static void await(BooleanSupplier done, Duration timeout, Supplier<String> message)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(message.get());
            }
            Thread.sleep(50);
        }
    }

    private static void log(long t0, String what) {
        System.out.printf(Locale.ROOT, "ChaosITCase %6.1f s  %s%n", (System.nanoTime() - t0) / 1e9, what);
    }

    /** The workers' gradients and the failure-free result: each shard's contributions through the core stepper. */
    static final class Training {
        final float[][][] expected = new float[SHARDS][STEPS + 1][];
        final double[] epsilon = new double[STEPS + 1];
        private final List<List<RawRecord>> steps = new ArrayList<>();

        Training(ModelSpec spec, long seed) {
            // The incarnation is where the CREATE was read: the first record of control partition 0.
            ModelConfig config = ModelConfig.of("m", spec, "control-0@0", Limits.DEFAULT, System::getenv);
            ShardState[] states = new ShardState[SHARDS];
            for (int s = 0; s < SHARDS; s++) {
                int len = Math.min(SHARD_SIZE, LENGTH - s * SHARD_SIZE);
                states[s] = ShardState.initial(config.initialValues(new ShardKey("m", "w", s), len));
                expected[s][0] = states[s].params().clone();
            }
            SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
            for (int t = 1; t <= STEPS; t++) {
                List<RawRecord> records = new ArrayList<>();
                for (int s = 0; s < SHARDS; s++) {
                    ShardKey key = new ShardKey("m", "w", s);
                    for (int w = 0; w < WORKERS; w++) {
                        float[] g = new float[states[s].params().length];
                        for (int i = 0; i < g.length; i++) {
                            g[i] = (float) (rnd.nextGaussian() * (w + 1));
                        }
                        records.add(Records.gradient("m", s, "w" + w, t, t - 1, 3, g));
                        ShardStepper.Outcome o = ShardStepper.offer(
                                states[s],
                                new Contribution("w" + w, t, t - 1, 3, g.clone(), Double.NaN, 0),
                                config.policy(),
                                config.optimizerAt(states[s].version()),
                                config.privacy(key));
                        if (o instanceof ShardStepper.Applied a) {
                            expected[s][(int) a.step().version()] =
                                    states[s].params().clone();
                            epsilon[(int) a.step().version()] = a.step().epsilon();
                        }
                    }
                    assertThat(states[s].version())
                            .as("failure-free shard %d after step %d", s, t)
                            .isEqualTo(t);
                }
                steps.add(records);
            }
        }

        List<RawRecord> step(int t) {
            return steps.get(t - 1);
        }
    }

    /**
     * The failure injection inside the job, after the gradient source. The test arms one failure at a time by writing
     * {@code armed} (id, kind, records); once a subtask has seen that many gradient records since, the matching hook
     * (the next record, snapshot or checkpoint-complete notification) throws — in the one subtask that first creates
     * {@code fired-<id>}, so each failure happens once across subtasks, attempts and TaskManager JVMs.
     */
    static final class ChaosTap extends RichMapFunction<RawRecord, RawRecord>
            implements CheckpointedFunction, CheckpointListener {
        private static final long serialVersionUID = 1L;
        private final String dir;
        private transient String armedText;
        private transient int seen;

        ChaosTap(String dir) {
            this.dir = dir;
        }

        static void arm(Path dir, Event e) throws IOException {
            Path tmp = Files.writeString(dir.resolve("armed.tmp"), e.id() + " " + e.kind() + " " + e.after());
            Files.move(tmp, dir.resolve("armed"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        static boolean fired(Path dir, Event e) {
            return Files.exists(dir.resolve("fired-" + e.id()));
        }

        static void disarm(Path dir) throws IOException {
            Files.delete(dir.resolve("armed"));
        }

        @Override
        public RawRecord map(RawRecord r) throws Exception {
            if (armed() != null) {
                seen++;
                maybeFire(Kind.RECORD);
            }
            return r;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            maybeFire(Kind.SNAPSHOT);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {
            // no state: the failure schedule lives in files, outside every attempt
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            maybeFire(Kind.CHECKPOINT_COMPLETE);
        }

        /** The armed failure's fields, or null; a newly armed one restarts the record count. */
        private String[] armed() throws IOException {
            String text;
            try {
                text = Files.readString(Path.of(dir, "armed"));
            } catch (NoSuchFileException e) {
                armedText = null;
                return null;
            }
            if (!text.equals(armedText)) {
                armedText = text;
                seen = 0;
            }
            return text.split(" ");
        }

        private void maybeFire(Kind where) throws IOException {
            String[] a = armed();
            if (a == null || Kind.valueOf(a[1]) != where || seen < Integer.parseInt(a[2])) {
                return;
            }
            try {
                Files.createFile(Path.of(dir, "fired-" + a[0]));
            } catch (FileAlreadyExistsException e) {
                return;
            }
            throw new IllegalStateException("chaos: injected failure #" + a[0] + " (" + where + ") in subtask "
                    + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        }
    }

    /** Reads parameters, status and rejected with read_committed in the background, across broker restarts. */
    static final class OutputCollector implements AutoCloseable {
        private final List<ParameterUpdate> parameters = new CopyOnWriteArrayList<>();
        private final List<StatusEvent> status = new CopyOnWriteArrayList<>();
        private final List<RejectedRecord> rejected = new CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile boolean stop;
        private volatile Throwable error;

        OutputCollector(String bootstrap) {
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
            p.put("isolation.level", "read_committed");
            KafkaConsumer<byte[], byte[]> c =
                    new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            // Assigned, not subscribed: no group coordinator to lose while the broker restarts.
            List<TopicPartition> tps = List.of(
                    new TopicPartition("parameters", 0),
                    new TopicPartition("status", 0),
                    new TopicPartition("rejected", 0));
            c.assign(tps);
            c.seekToBeginning(tps);
            AvroRecords<ParameterUpdate> updates = new AvroRecords<>(ParameterUpdate.class);
            AvroRecords<StatusEvent> events = new AvroRecords<>(StatusEvent.class);
            AvroRecords<RejectedRecord> rejections = new AvroRecords<>(RejectedRecord.class);
            thread = new Thread(
                    () -> {
                        try (c) {
                            while (!stop) {
                                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                                    switch (r.topic()) {
                                        case "parameters" -> parameters.add(updates.decode(r.value()));
                                        case "status" -> status.add(events.decode(r.value()));
                                        default -> rejected.add(rejections.decode(r.value()));
                                    }
                                }
                            }
                        } catch (Throwable t) {
                            error = t;
                        }
                    },
                    "chaos-output-reader");
            thread.setDaemon(true);
            thread.start();
        }

        List<ParameterUpdate> parameters() {
            check();
            return parameters;
        }

        List<StatusEvent> status() {
            check();
            return status;
        }

        List<RejectedRecord> rejected() {
            check();
            return rejected;
        }

        /** The lowest of the shards' newest versions; -1 until every shard published one. */
        long minVersion() {
            Map<Integer, Long> newest = newestVersions();
            return newest.size() < SHARDS
                    ? -1
                    : newest.values().stream().mapToLong(Long::longValue).min().orElse(-1);
        }

        Map<Integer, Long> newestVersions() {
            Map<Integer, Long> newest = new TreeMap<>();
            for (ParameterUpdate u : parameters()) {
                newest.merge(u.getShard(), u.getVersion(), Math::max);
            }
            return newest;
        }

        private void check() {
            if (error != null) {
                throw new AssertionError("reading the output topics failed", error);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join(10_000);
        }
    }
}
