package io.gradstream.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.operators.RawRecord;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
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

/**
 * The savepoint fixture of a release ({@code src/test/resources/savepoints/<release>/}): a canonical savepoint of the
 * Kafka job taken in the middle of {@link SavepointWorkload}, the workload's input records ({@code inputs.json}) and
 * the final parameters of an uninterrupted run of the same release ({@code golden.json}); plus what the generator and
 * {@link SavepointCompatibilityITCase} share: broker, topics, job settings and reading the outputs.
 */
final class SavepointFixture {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
    /** Topics and partition counts; the savepoint's Kafka offsets refer to these partitions. */
    static final Map<String, Integer> TOPICS = Map.of(
            "control",
            1,
            "gradients",
            SavepointWorkload.GRADIENT_PARTITIONS,
            "parameters",
            1,
            "rejected",
            1,
            "status",
            1);

    static final String GROUP_ID = "savepoint-fixture";
    static final String TRANSACTIONAL_ID_PREFIX = "savepoint-fixture";
    private static final Duration STAGE_TIMEOUT = Duration.ofSeconds(60);

    private SavepointFixture() {}

    /** A record as a producer sent it: key and value bytes. */
    record KafkaRecord(byte[] key, byte[] value) {}

    /** One stage of the workload as stored in {@code inputs.json}. */
    record StageRecords(
            int number,
            List<KafkaRecord> control,
            List<KafkaRecord> gradients,
            Map<String, Long> expectVersions,
            int expectRejected) {}

    /**
     * {@code inputs.json}: the stages, where the savepoint was taken, the end offsets of the input partitions at that
     * point, and the private model's secret (a test value) with the relative path its spec names.
     */
    record Inputs(
            String seedFile,
            String seedText,
            int parallelism,
            int savepointAfterStage,
            Map<String, Long> phase1EndOffsets,
            List<StageRecords> stages) {}

    /**
     * A shard in {@code golden.json}: the version it had in the savepoint (-1: no parameters yet) and its newest
     * update at the end of the uninterrupted run.
     */
    record ShardResult(
            String key,
            long savepointVersion,
            long version,
            String encoding,
            int elementCount,
            byte[] payload,
            Double epsilonSpent,
            int contributions,
            long examples) {

        static ShardResult of(String key, long savepointVersion, ParameterUpdate u) {
            return new ShardResult(
                    key,
                    savepointVersion,
                    u.getVersion(),
                    u.getPayload().getEncoding().name(),
                    u.getPayload().getElementCount(),
                    bytes(u.getPayload().getData()),
                    u.getEpsilonSpent(),
                    u.getContributions(),
                    u.getExamples());
        }

        /** The same, without the savepoint version (which a run cannot see). */
        String describe() {
            return key + " v" + version + " " + encoding + "x" + elementCount + " eps=" + epsilonSpent
                    + " contributions=" + contributions + " examples=" + examples + " payload="
                    + java.util.HexFormat.of().formatHex(payload);
        }
    }

    /**
     * {@code golden.json}: every shard's newest update after all stages without interruption, and every rejection
     * and status event of phase 2 and later (phase 1 has none).
     */
    record Golden(List<ShardResult> shards, List<String> rejected, List<String> status) {}

    static <T> T read(Path file, Class<T> type) throws IOException {
        return JSON.readValue(file.toFile(), type);
    }

    /** Writes the secret that the private model's spec names, relative to the working directory. */
    static void writeSeed(Inputs in) throws IOException {
        Path seed = Path.of(in.seedFile());
        Files.createDirectories(seed.toAbsolutePath().getParent());
        Files.writeString(seed, in.seedText() + "\n");
    }

    static EmbeddedKafka startBroker() throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            List<NewTopic> topics = new ArrayList<>();
            TOPICS.forEach((name, partitions) -> {
                NewTopic t = new NewTopic(name, partitions, (short) 1);
                topics.add(name.equals("parameters") ? t.configs(KafkaIo.parametersTopicConfig()) : t);
            });
            admin.createTopics(topics).all().get();
        } catch (Exception e) {
            kafka.close();
            throw e;
        }
        return kafka;
    }

    /** Sends a stage's records, commands and gradients each in order, with one (idempotent) producer. */
    static void publish(String bootstrap, StageRecords stage) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.idempotence", "true");
        try (var producer =
                new KafkaProducer<byte[], byte[]>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (KafkaRecord r : stage.control()) {
                producer.send(new ProducerRecord<>("control", r.key(), r.value()));
            }
            for (KafkaRecord r : stage.gradients()) {
                producer.send(new ProducerRecord<>("gradients", r.key(), r.value()));
            }
            producer.flush();
        }
    }

    /** End offsets of the input partitions, as {@code topic-partition}. */
    static Map<String, Long> inputEndOffsets(String bootstrap) {
        Map<String, Long> out = new TreeMap<>();
        try (var c = consumer(bootstrap)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (String t : List.of("control", "gradients")) {
                for (int i = 0; i < TOPICS.get(t); i++) {
                    parts.add(new TopicPartition(t, i));
                }
            }
            c.endOffsets(parts).forEach((tp, offset) -> out.put(tp.toString(), offset));
        }
        return out;
    }

    /**
     * Starts the Kafka job as production does ({@link GradstreamJob#kafka}, exactly-once delivery, default max
     * parallelism), restoring from {@code savepoint} when it is not null. Grace for unknown models is a hundred
     * years: the waiting room of the fixture must not expire however old the savepoint is.
     */
    static JobClient startJob(String bootstrap, String stateBackend, int parallelism, String savepoint, String name)
            throws Exception {
        Configuration conf = new Configuration();
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.GROUP_ID, GROUP_ID);
        conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, TRANSACTIONAL_ID_PREFIX);
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofMillis(SavepointWorkload.HUNDRED_YEARS_MS));
        conf.setString("execution.checkpointing.interval", "200 ms");
        conf.setString("state.backend.type", stateBackend);
        conf.setString("restart-strategy.type", "none");
        if (savepoint != null) {
            conf.setString("execution.state-recovery.path", savepoint);
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(parallelism);
        return GradstreamJob.kafka(JobSettings.from(conf)).start(env, name);
    }

    static void cancelQuietly(JobClient job) {
        try {
            if (!job.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            // Already gone: nothing to clean up.
        }
    }

    /** Reads the job's outputs (read_committed) from the start of their topics, accumulating everything seen. */
    static final class Outputs implements AutoCloseable {
        private final AvroRecords<ParameterUpdate> updates = new AvroRecords<>(ParameterUpdate.class);
        private final AvroRecords<RejectedRecord> rejections = new AvroRecords<>(RejectedRecord.class);
        private final AvroRecords<StatusEvent> statuses = new AvroRecords<>(StatusEvent.class);
        private final KafkaConsumer<byte[], byte[]> consumer;
        /** Every update per shard key, in the order read. */
        final Map<String, List<ParameterUpdate>> byShard = new TreeMap<>();

        final List<String> rejected = new ArrayList<>();
        final List<String> status = new ArrayList<>();

        Outputs(String bootstrap) {
            consumer = consumer(bootstrap);
            List<TopicPartition> parts = List.of(
                    new TopicPartition("parameters", 0),
                    new TopicPartition("rejected", 0),
                    new TopicPartition("status", 0));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
        }

        /** Polls once; true when anything arrived. */
        boolean poll(Duration d) throws IOException {
            boolean any = false;
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(d)) {
                any = true;
                switch (r.topic()) {
                    case "parameters" -> {
                        ParameterUpdate u = updates.decode(r.value());
                        byShard.computeIfAbsent(
                                        u.getModelId() + "/" + u.getTensor() + "/" + u.getShard(),
                                        k -> new ArrayList<>())
                                .add(u);
                    }
                    case "rejected" -> {
                        RejectedRecord x = rejections.decode(r.value());
                        rejected.add(x.getReason() + " " + x.getSourceTopic() + "-" + x.getPartition() + "@"
                                + x.getOffset() + " "
                                + (x.getOriginalKey() == null
                                        ? ""
                                        : new String(bytes(x.getOriginalKey()), StandardCharsets.UTF_8)));
                    }
                    default -> {
                        StatusEvent e = statuses.decode(r.value());
                        status.add(e.getType() + " " + e.getModelId() + " v" + e.getVersion() + " eps="
                                + e.getEpsilonSpent());
                    }
                }
            }
            return any;
        }

        long latestVersion(String key) {
            return byShard.getOrDefault(key, List.of()).stream()
                    .mapToLong(ParameterUpdate::getVersion)
                    .max()
                    .orElse(-1);
        }

        ParameterUpdate latest(String key) {
            return byShard.get(key).stream()
                    .max(Comparator.comparingLong(ParameterUpdate::getVersion))
                    .orElseThrow();
        }

        /** Waits until the stage's shards reach their versions and its rejections arrived; fails if the job ends. */
        void await(StageRecords stage, JobClient job) throws Exception {
            long deadline = System.nanoTime() + STAGE_TIMEOUT.toNanos();
            long nextJobCheck = 0;
            while (!reached(stage)) {
                if (rejected.size() > stage.expectRejected()) {
                    throw new AssertionError("stage " + stage.number() + ": more rejections than the "
                            + stage.expectRejected() + " expected: " + rejected);
                }
                if (System.nanoTime() > deadline) {
                    Map<String, Long> seen = new TreeMap<>();
                    stage.expectVersions().keySet().forEach(k -> seen.put(k, latestVersion(k)));
                    throw new AssertionError("stage " + stage.number() + " not done within " + STAGE_TIMEOUT
                            + ": expected versions " + stage.expectVersions() + ", newest seen " + seen + "; "
                            + rejected.size() + " of " + stage.expectRejected() + " rejections: " + rejected);
                }
                if (System.nanoTime() > nextJobCheck) {
                    requireRunning(job);
                    nextJobCheck = System.nanoTime() + 1_000_000_000L;
                }
                poll(Duration.ofMillis(200));
            }
        }

        private boolean reached(StageRecords stage) {
            return rejected.size() >= stage.expectRejected()
                    && stage.expectVersions().entrySet().stream()
                            .allMatch(e -> latestVersion(e.getKey()) >= e.getValue());
        }

        /** Polls until nothing new arrived for {@code quiet}. */
        void drain(Duration quiet) throws IOException {
            while (poll(quiet)) {
                // keep reading
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    static void requireRunning(JobClient job) throws Exception {
        JobStatus s = job.getJobStatus().get(10, TimeUnit.SECONDS);
        if (s.isGloballyTerminalState()) {
            try {
                job.getJobExecutionResult().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("the job ended " + s, e.getCause());
            }
            throw new AssertionError("the job ended " + s);
        }
    }

    static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("enable.auto.commit", "false");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    // ----------------------------------------------------------------------------------------------------------------
    // The generator

    /**
     * Generates the fixture of {@code release} into {@code out} with the code of this build. Run 1: all stages on a
     * fresh broker from an empty job; the newest update of every shard is the golden result. Run 2: a fresh broker,
     * the phase-1 stages, then stop-with-savepoint (canonical format), whose files are copied to
     * {@code out/savepoint}.
     */
    static void generate(String release, Path out, Path work) throws Exception {
        if (Files.exists(out)) {
            throw new IllegalStateException(out.toAbsolutePath() + " exists; a released fixture is never regenerated "
                    + "in place (delete it first only if it was never committed)");
        }
        List<SavepointWorkload.Stage> workload = SavepointWorkload.stages();
        List<StageRecords> stages = new ArrayList<>();
        for (SavepointWorkload.Stage s : workload) {
            stages.add(new StageRecords(
                    s.number,
                    stored(s.control),
                    stored(s.gradients),
                    new TreeMap<>(s.expectVersions),
                    s.expectRejected));
        }
        int split = SavepointWorkload.SAVEPOINT_AFTER_STAGE;
        Inputs draft = new Inputs(
                SavepointWorkload.SEED_FILE,
                SavepointWorkload.SEED_TEXT,
                SavepointWorkload.PARALLELISM,
                split,
                Map.of(),
                stages);
        writeSeed(draft);

        // Run 1: without interruption.
        Map<String, List<ParameterUpdate>> run1;
        List<String> rejected;
        List<String> status;
        try (EmbeddedKafka kafka = startBroker();
                Outputs outputs = new Outputs(kafka.bootstrapServers())) {
            JobClient job = startJob(
                    kafka.bootstrapServers(),
                    "hashmap",
                    SavepointWorkload.PARALLELISM,
                    null,
                    "savepoint fixture run 1");
            try {
                for (StageRecords s : stages) {
                    publish(kafka.bootstrapServers(), s);
                    outputs.await(s, job);
                }
                outputs.drain(Duration.ofSeconds(2));
                requireRunning(job);
            } finally {
                cancelQuietly(job);
            }
            run1 = outputs.byShard;
            rejected = outputs.rejected.stream().sorted().toList();
            status = outputs.status.stream().sorted().toList();
        }

        // Run 2: phase 1, then stop with a savepoint.
        Map<String, Long> offsets;
        Map<String, Long> savepointVersions = new TreeMap<>();
        Path savepoint;
        try (EmbeddedKafka kafka = startBroker();
                Outputs outputs = new Outputs(kafka.bootstrapServers())) {
            JobClient job = startJob(
                    kafka.bootstrapServers(),
                    "hashmap",
                    SavepointWorkload.PARALLELISM,
                    null,
                    "savepoint fixture run 2");
            try {
                for (StageRecords s : stages.subList(0, split)) {
                    publish(kafka.bootstrapServers(), s);
                    outputs.await(s, job);
                }
                offsets = inputEndOffsets(kafka.bootstrapServers());
                String location = job.stopWithSavepoint(
                                false, work.toAbsolutePath().toUri().toString(), SavepointFormatType.CANONICAL)
                        .get(2, TimeUnit.MINUTES);
                savepoint =
                        Path.of(java.net.URI.create(location.startsWith("file:") ? location : "file://" + location));
                job.getJobExecutionResult().get(1, TimeUnit.MINUTES);
            } finally {
                cancelQuietly(job);
            }
            outputs.drain(Duration.ofSeconds(2));
            if (!outputs.rejected.isEmpty() || !outputs.status.isEmpty()) {
                throw new AssertionError(
                        "phase 1 must neither reject nor report: " + outputs.rejected + " " + outputs.status);
            }
            for (String key : outputs.byShard.keySet()) {
                ParameterUpdate atSavepoint = outputs.latest(key);
                savepointVersions.put(key, atSavepoint.getVersion());
                ParameterUpdate same = run1.get(key).stream()
                        .filter(u -> u.getVersion() == atSavepoint.getVersion())
                        .findFirst()
                        .orElseThrow();
                if (!ShardResult.of(key, 0, same)
                        .describe()
                        .equals(ShardResult.of(key, 0, atSavepoint).describe())) {
                    throw new AssertionError("run 2 differs from run 1 at " + key + " v" + same.getVersion());
                }
            }
        }

        List<ShardResult> shards = new ArrayList<>();
        for (var e : run1.entrySet()) {
            ParameterUpdate last = e.getValue().stream()
                    .max(Comparator.comparingLong(ParameterUpdate::getVersion))
                    .orElseThrow();
            shards.add(ShardResult.of(e.getKey(), savepointVersions.getOrDefault(e.getKey(), -1L), last));
        }
        Files.createDirectories(out.resolve("savepoint"));
        try (Stream<Path> files = Files.walk(savepoint)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path target =
                        out.resolve("savepoint").resolve(savepoint.relativize(f).toString());
                Files.createDirectories(target.getParent());
                Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        JSON.writeValue(
                out.resolve("inputs.json").toFile(),
                new Inputs(draft.seedFile(), draft.seedText(), draft.parallelism(), split, offsets, stages));
        JSON.writeValue(out.resolve("golden.json").toFile(), new Golden(shards, rejected, status));
        Files.writeString(out.resolve("README.md"), readme(release, shards));
    }

    private static List<KafkaRecord> stored(List<RawRecord> records) {
        return records.stream().map(r -> new KafkaRecord(r.key, r.value)).toList();
    }

    private static String readme(String release, List<ShardResult> shards) throws Exception {
        String commit = git("rev-parse", "HEAD");
        String dirty = git(
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ":(top,glob)**/src/main/**",
                ":(top,glob)**/pom.xml");
        long atSavepoint =
                shards.stream().filter(s -> s.savepointVersion() >= 0).count();
        return """
                # Savepoint fixture of gradstream %s

                A canonical Flink savepoint of the gradstream Kafka job, for `SavepointCompatibilityITCase`: every
                later version must restore it and continue bit for bit. Never regenerate it: it stands for what users
                of %s have on disk. A new release adds its own folder.

                | | |
                |---|---|
                | generated from commit | `%s`%s |
                | generated at | %s |
                | Flink / Java | %s / %s |
                | job | `GradstreamJob.kafka`, parallelism %d, default max parallelism (128) |
                | settings | hashmap state backend, EXACTLY_ONCE delivery, checkpoints every 200 ms |
                | shards with state in the savepoint | %d of %d in `golden.json` |

                ## What the savepoint holds
                Operators by uid: `gradients-source` and `control-source` (Kafka splits and offsets), `shard-optimizer`
                and the three sinks `parameters-sink`, `rejected-sink`, `status-sink` (exactly-once writer and committer
                state). In `shard-optimizer`:
                - broadcast state `models` (specs: Adam+amsgrad, SGD+Nesterov+StepLR with hyperparameters updated
                  after CREATE, RMSprop with EXPLICIT init, a private two-tensor Adam, AdamW, marker models) and
                  `paused` (model `paused`);
                - keyed state `shard` (format 2 of `ShardStateSerializer`: parameters, optimizer slots exp_avg,
                  exp_avg_sq, max_exp_avg_sq, momentum_buffer, square_avg, grad_avg, step; a half-gathered SYNC step
                  for `adam` and `private`; worker watermarks; the RDP ledger of `private`), `syncDeadline` with its
                  timer (`adam`, timeout a hundred years), `waitingForModel` and `waitingSince` with a retry timer
                  (model `late`, created after the savepoint); no state for shard `explicit/w/1`, initialised later.

                The DP noise of `private` is keyed by the secret in `inputs.json`, the model id, tensor, shard and
                version (no incarnation: models restored from this savepoint keep that keying).

                ## Files
                - `savepoint/`: the savepoint (`_metadata`; small state is inlined), taken with
                  `JobClient.stopWithSavepoint(false, dir, SavepointFormatType.CANONICAL)` after stage %d.
                - `inputs.json`: every record the workload (`SavepointWorkload`) publishes, per stage: keys and values
                  as sent (base64), the versions and rejections each stage waits for, the end offsets of the input
                  partitions at the savepoint, and the private model's test secret with the relative path its spec names
                  (`%s`, relative to the `jobs` module).
                - `golden.json`: the newest `ParameterUpdate` of every shard after all stages in one uninterrupted run
                  of this release (payload base64), with each shard's version in the savepoint (-1: none), and every
                  rejection after the savepoint.

                ## How it was generated, and regenerating
                From the repository root, on the commit above:

                ```
                mvn -B -o -pl jobs -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \\
                    -Dit.test='SavepointCompatibilityITCase#generateFixture' -Dfailsafe.failIfNoSpecifiedTests=false \\
                    -Dgradstream.savepoint.generate=%s
                ```

                Run 1 publishes all stages to a fresh embedded broker and records the results; run 2 publishes stages
                1..%d to another fresh broker, waits until they are processed and stops the job with the savepoint.
                The generator refuses to write into an existing folder.

                A committed fixture is never regenerated with later code: a new release generates
                `savepoints/<its version>/` on its own commit and adds a row to the test's `@CsvSource`. To rebuild
                this folder itself (say it was lost), check out the commit above, delete the folder and run the
                command: `inputs.json` and `golden.json` come out byte-identical, the savepoint differs only in ids
                and timestamps.

                ## What the test relies on
                - The spec of model `private` names its secret by the relative path `%s`: the test writes it
                  there, with the working directory the `jobs` module (as under failsafe).
                - SYNC timeouts and the unknown-model grace are a hundred years, so the restored deadline and
                  waiting-room timers never expire, however old the savepoint; the test configures the same grace.
                - Kafka offsets: the test recreates the topics (control 1 partition, gradients 2, parameters,
                  rejected and status 1 each) and publishes the phase-1 records again before the restore; it checks
                  that the end offsets equal `phase1EndOffsets`, since the sources resume from the savepoint's
                  offsets. The producer's default partitioner (murmur2 of the key) places every record.
                - The sinks restore exactly-once state with transactional ids prefixed `savepoint-fixture-*`
                  unknown to the fresh broker; the connector tolerates that.
                - The job keeps Flink's default max parallelism (128 at parallelism 2); pinning one other than 128
                  would make the keyed state unrestorable.
                """.formatted(
                        release,
                        release,
                        commit,
                        dirty.isBlank() ? "" : " (with uncommitted changes to: " + dirty.replace('\n', ' ') + ")",
                        Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                        org.apache.flink.runtime.util.EnvironmentInformation.getVersion(),
                        System.getProperty("java.version"),
                        SavepointWorkload.PARALLELISM,
                        atSavepoint,
                        shards.size(),
                        SavepointWorkload.SAVEPOINT_AFTER_STAGE,
                        SavepointWorkload.SEED_FILE,
                        release,
                        SavepointWorkload.SAVEPOINT_AFTER_STAGE,
                        SavepointWorkload.SEED_FILE);
    }

    private static String git(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.waitFor() != 0) {
            throw new IOException("git " + String.join(" ", args) + " failed: " + text);
        }
        return text;
    }
}
