package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A private model through Kafka with exactly-once delivery and a failure injected after a checkpoint: the restored job
 * redraws the same noise and keeps the same ledger, so every committed version is bit-identical to a failure-free
 * computation and carries the accountant's epsilon; the budget stops the model at its target with BUDGET_EXHAUSTED
 * rejections and one status event; and the secret seed appears in no log line, metric, job configuration or
 * checkpoint file.
 */
class PrivacyRecoveryITCase {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();
    private static final String SECRET = "it-secret-" + UUID.randomUUID();
    private static final double SIGMA = 1.1;
    private static final double Q = 2.0 / 1000;
    private static final double DELTA = 1e-5;
    private static final int ALLOWED = 6;
    private static final int STEPS = 8;
    private static EmbeddedKafka kafka;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(REPORTER.addToConfiguration(new Configuration(TestClusters.keepFilesInTarget())))
            .build());

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.start();
        TestClusters.createTopics(kafka.bootstrapServers(), Map.of());
    }

    @AfterAll
    static void stopKafka() throws Exception {
        kafka.close();
    }

    @Test
    void aRestoredPrivateModelReplaysTheSameNoiseAndStopsAtItsBudget(@InjectClusterClient ClusterClient<?> cluster)
            throws Exception {
        Path dir = Path.of("target", "privacy-it", UUID.randomUUID().toString()).toAbsolutePath();
        Files.createDirectories(dir);
        Path seedFile = Files.writeString(dir.resolve("seed"), SECRET + "\n");
        double target = RdpAccountant.epsilon(SIGMA, Q, ALLOWED, DELTA, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        ModelSpec spec = ModelSpec.newBuilder(Records.spec("Adam", Map.of("lr", 0.01), 40, Records.sync(2), 90))
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

        // Workers keep publishing two steps past the budget, on the last version they saw.
        List<RawRecord> gradients = new ArrayList<>();
        Map<Integer, List<Contribution>> byShard = new HashMap<>();
        SplittableRandom rnd = new SplittableRandom(17);
        for (int t = 0; t < STEPS; t++) {
            for (int s = 0; s < 3; s++) {
                for (int w = 0; w < 2; w++) {
                    float[] g = new float[s == 2 ? 10 : 40];
                    for (int i = 0; i < g.length; i++) {
                        g[i] = (float) (rnd.nextGaussian() * (w + 1));
                    }
                    long base = Math.min(t, ALLOWED);
                    gradients.add(Records.gradient("m", s, "w" + w, t + 1, base, 3, g));
                    byShard.computeIfAbsent(s, k -> new ArrayList<>())
                            .add(new Contribution("w" + w, t + 1, base, 3, g.clone(), Double.NaN, 0));
                }
            }
        }
        float[][] expected = expected(spec, byShard);

        ConcurrentLinkedQueue<String> logLines = new ConcurrentLinkedQueue<>();
        LoggerContext logs = (LoggerContext) LogManager.getContext(false);
        AbstractAppender capture = new AbstractAppender("seed-scan", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                logLines.add(event.getMessage().getFormattedMessage()
                        + (event.getThrown() == null ? "" : " " + stackTrace(event.getThrown())));
            }
        };
        capture.start();
        // INFO is where Flink and Kafka print configurations; the console keeps its WARN threshold.
        var root = logs.getConfiguration().getRootLogger();
        var console = logs.getConfiguration().getAppender("console");
        Level before = root.getLevel();
        root.removeAppender("console");
        root.addAppender(console, Level.WARN, null);
        root.addAppender(capture, Level.INFO, null);
        root.setLevel(Level.INFO);
        logs.updateLoggers();
        JobClient job = null;
        try {
            Properties pp = new Properties();
            pp.put("bootstrap.servers", kafka.bootstrapServers());
            try (var producer =
                    new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                RawRecord create = Records.create("m", spec);
                producer.send(new ProducerRecord<>("control", create.key, create.value))
                        .get();
                for (RawRecord r : gradients) {
                    producer.send(new ProducerRecord<>("gradients", r.key, r.value));
                }
                producer.flush();
            }
            Configuration conf = new Configuration();
            conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
            conf.set(GradstreamOptions.GROUP_ID, "privacy-it");
            conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, "privacy-it");
            conf.setString("execution.checkpointing.interval", "200 ms");
            conf.setString(
                    "execution.checkpointing.dir",
                    dir.resolve("checkpoints").toUri().toString());
            // Kept after the cancel below, so the scan reads files that no longer change under it.
            conf.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
            conf.setString("restart-strategy.type", "fixed-delay");
            conf.setString("restart-strategy.fixed-delay.attempts", "3");
            conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
            env.setParallelism(2);
            KafkaRecoveryITCase.FAILED.set(false);
            job = GradstreamJob.kafka(JobSettings.from(conf))
                    .withGradientTap(s -> s.map(new KafkaRecoveryITCase.FailOnceAfterCheckpoint())
                            .name("failure injection"))
                    .start(env, "privacy recovery test");

            Map<Integer, List<ParameterUpdate>> updates = readParameters(3);
            List<RejectedRecord> rejected =
                    TestClusters.readAll(kafka.bootstrapServers(), "rejected", RejectedRecord.class, 12);
            List<StatusEvent> status = TestClusters.readAll(kafka.bootstrapServers(), "status", StatusEvent.class, 1);
            assertThat(KafkaRecoveryITCase.FAILED)
                    .as("the failure was injected")
                    .isTrue();

            for (int s = 0; s < 3; s++) {
                List<ParameterUpdate> ups = updates.get(s);
                assertThat(ups)
                        .extracting(ParameterUpdate::getVersion)
                        .as("shard %d: each version once", s)
                        .containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 4L, 5L, 6L);
                for (ParameterUpdate u : ups) {
                    double eps = u.getVersion() == 0
                            ? 0
                            : RdpAccountant.epsilon(SIGMA, Q, u.getVersion(), DELTA, RdpAccountant.Conversion.OPACUS)
                                    .epsilon();
                    assertThat(u.getEpsilonSpent())
                            .as("epsilon of shard %d version %d", s, u.getVersion())
                            .isEqualTo(eps);
                    if (u.getVersion() == ALLOWED) {
                        assertThat(Records.values(u))
                                .as("shard %d after the restore", s)
                                .containsExactly(expected[s]);
                    }
                }
            }
            assertThat(rejected)
                    .hasSize(12)
                    .allSatisfy(r -> assertThat(r.getReason()).isEqualTo(RejectReason.BUDGET_EXHAUSTED));
            assertThat(status).hasSize(1);
            assertThat(status.get(0).getType()).isEqualTo(StatusType.BUDGET_EXHAUSTED);
            assertThat(status.get(0).getVersion()).isEqualTo(ALLOWED);
            assertThat(status.get(0).getEpsilonSpent()).isEqualTo(target);

            // The seed never leaves the file: not in logs, metrics, the job's configuration or its checkpoints.
            JobID id = job.getJobID();
            List<String> metricText = new ArrayList<>();
            // Every metric of the cluster, both attempts of the job included.
            REPORTER.getMetricsByGroup()
                    .forEach((group, metrics) ->
                            metrics.forEach((name, m) -> metricText.add(group.getMetricIdentifier(name) + "="
                                    + (m instanceof Gauge<?> g ? String.valueOf(g.getValue()) : m.toString()))));
            assertThat(metricText).anySatisfy(t -> assertThat(t).contains("epsilonSpent=" + target));
            String config = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(cluster.getWebInterfaceURL() + "/jobs/" + id + "/config"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            assertThat(config).contains("privacy recovery test");
            assertThat(logLines).as("log lines captured").isNotEmpty();
            assertThat(String.join("\n", logLines)).doesNotContain(SECRET);
            assertThat(String.join("\n", metricText)).doesNotContain(SECRET);
            assertThat(config).doesNotContain(SECRET);
            job.cancel().get();
            job = null;
            byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
            List<Path> checkpointFiles;
            try (Stream<Path> files = Files.walk(dir.resolve("checkpoints"))) {
                checkpointFiles = files.filter(Files::isRegularFile).toList();
            }
            assertThat(checkpointFiles).isNotEmpty();
            for (Path f : checkpointFiles) {
                assertThat(indexOf(Files.readAllBytes(f), secret))
                        .as("secret in %s", f)
                        .isEqualTo(-1);
            }
        } finally {
            if (job != null) {
                job.cancel().get();
            }
            root.removeAppender("seed-scan");
            root.removeAppender("console");
            root.addAppender(console, null, null);
            root.setLevel(before);
            logs.updateLoggers();
            capture.stop();
        }
    }

    /** The failure-free computation: each shard's contributions in publish order through the same stepper. */
    private static float[][] expected(ModelSpec spec, Map<Integer, List<Contribution>> byShard) {
        // The model's incarnation is where its CREATE was read: the first record of control partition 0.
        ModelConfig config = ModelConfig.of("m", spec, "control-0@0", Limits.DEFAULT, System::getenv);
        float[][] out = new float[3][];
        for (int s = 0; s < 3; s++) {
            ShardKey key = new ShardKey("m", "w", s);
            ShardState state = ShardState.initial(config.initialValues(key, s == 2 ? 10 : 40));
            for (Contribution c : byShard.get(s)) {
                ShardStepper.offer(state, c, config.policy(), config.optimizerAt(state.version()), config.privacy(key));
            }
            assertThat(state.version()).isEqualTo(ALLOWED);
            out[s] = state.params();
        }
        return out;
    }

    private static Map<Integer, List<ParameterUpdate>> readParameters(int shards) throws Exception {
        AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
        Map<Integer, List<ParameterUpdate>> byShard = new HashMap<>();
        long deadline = System.currentTimeMillis() + 90_000;
        try (var c = TestClusters.readCommitted(kafka.bootstrapServers(), "parameters")) {
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    ParameterUpdate u = avro.decode(r.value());
                    byShard.computeIfAbsent(u.getShard(), k -> new ArrayList<>())
                            .add(u);
                }
                boolean done = byShard.size() == shards
                        && byShard.values().stream().allMatch(l -> l.stream().anyMatch(u -> u.getVersion() == ALLOWED));
                if (done) {
                    Thread.sleep(1500); // a duplicate after the last version would show up now
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                        ParameterUpdate u = avro.decode(r.value());
                        byShard.computeIfAbsent(u.getShard(), k -> new ArrayList<>())
                                .add(u);
                    }
                    return byShard;
                }
            }
        }
        throw new AssertionError("parameters did not reach version " + ALLOWED + ": " + byShard);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static String stackTrace(Throwable t) {
        java.io.StringWriter w = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(w));
        return w.toString();
    }
}
