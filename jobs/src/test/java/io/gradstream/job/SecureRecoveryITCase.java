package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.kafka.Folders;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.SecureKafka;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
import org.apache.flink.util.InstantiationUtil;
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
 * The exactly-once recovery test of {@link KafkaRecoveryITCase} on {@link SecureKafka}: the job runs as principal
 * {@code job} over SASL_SSL with ACLs, configured with references to its credential file only; the operator creates
 * the model, a worker publishes the gradients. After an injected failure the read_committed output holds every version
 * once, bit-identical to the failure-free computation. No SCRAM or key store password appears in the log, the metrics,
 * the Flink REST API (job and cluster configuration, exceptions), the job graph or the checkpoint files.
 */
class SecureRecoveryITCase {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();
    private static final ConcurrentLinkedQueue<String> LOG = new ConcurrentLinkedQueue<>();
    private static Path dir;
    private static SecureKafka kafka;
    private static AbstractAppender capture;
    private static Level rootLevel;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(REPORTER.addToConfiguration(new Configuration(TestClusters.keepFilesInTarget())))
            .build());

    @BeforeAll
    static void start() throws Exception {
        // Captured from before the broker starts: its start-up prints its whole configuration.
        LoggerContext logs = (LoggerContext) LogManager.getContext(false);
        capture = new AbstractAppender("secret-scan", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                StringBuilder line = new StringBuilder(event.getMessage().getFormattedMessage());
                for (Throwable t = event.getThrown(); t != null; t = t.getCause()) {
                    line.append(' ').append(t);
                }
                LOG.add(line.toString());
            }
        };
        capture.start();
        var root = logs.getConfiguration().getRootLogger();
        var console = logs.getConfiguration().getAppender("console");
        rootLevel = root.getLevel();
        root.removeAppender("console");
        root.addAppender(console, Level.WARN, null);
        root.addAppender(capture, Level.INFO, null);
        root.setLevel(Level.INFO);
        logs.updateLoggers();

        dir = Path.of("target", "secure-recovery-it", UUID.randomUUID().toString())
                .toAbsolutePath();
        kafka = SecureKafka.start(dir);
        TestClusters.createTopics(kafka.bootstrapServers(), kafka.clientProperties(SecureKafka.ADMIN));
    }

    @AfterAll
    static void stop() throws Exception {
        LoggerContext logs = (LoggerContext) LogManager.getContext(false);
        var root = logs.getConfiguration().getRootLogger();
        var console = logs.getConfiguration().getAppender("console");
        root.removeAppender("secret-scan");
        root.removeAppender("console");
        root.addAppender(console, null, null);
        root.setLevel(rootLevel);
        logs.updateLoggers();
        capture.stop();
        if (kafka != null) {
            kafka.close();
        }
        Folders.deleteTree(dir);
    }

    @Test
    void exactlyOnceOverSaslSslSurvivesAFailureAndNoSecretLeaks(@InjectClusterClient ClusterClient<?> cluster)
            throws Exception {
        Workload work = new Workload("Adam", Map.of("lr", 0.01), true, 90, 40, 2, 8, 5);
        try (var operator = producer(SecureKafka.OPERATOR)) {
            operator.send(new ProducerRecord<>("control", work.create.key, work.create.value))
                    .get();
        }
        try (var worker = producer(SecureKafka.WORKER)) {
            for (RawRecord r : work.gradients) {
                worker.send(new ProducerRecord<>("gradients", r.key, r.value));
            }
            worker.send(new ProducerRecord<>("gradients", "m/w/0".getBytes(), new byte[] {42}));
            worker.send(new ProducerRecord<>(
                    "gradients", "x/w/0".getBytes(), Records.gradient("x", 0, "a", 1, 0, 1, new float[] {1f}).value));
            worker.flush();
        }

        Configuration conf = Configuration.fromMap(KafkaClients.fileReferences(kafka.clientConfig(SecureKafka.JOB)));
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofSeconds(1));
        conf.setString("execution.checkpointing.interval", "200 ms");
        conf.setString(
                "execution.checkpointing.dir",
                dir.resolve("checkpoints").toUri().toString());
        conf.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "3");
        conf.setString("restart-strategy.fixed-delay.delay", "200 ms");
        JobSettings settings = JobSettings.from(conf);
        assertThat(settings.kafkaClient().get("sasl.jaas.config"))
                .isEqualTo("${file:" + kafka.clientConfig(SecureKafka.JOB) + ":sasl.jaas.config}");

        List<String> secrets = secrets();
        StreamExecutionEnvironment graphOnly = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        GradstreamJob.kafka(settings).build(graphOnly);
        byte[] jobGraph =
                InstantiationUtil.serializeObject(graphOnly.getStreamGraph().getJobGraph());
        assertThat(indexOf(jobGraph, kafka.clientConfig(SecureKafka.JOB).toString()))
                .as("the job graph holds the reference to the credential file")
                .isNotNegative();
        for (String secret : secrets) {
            assertThat(indexOf(jobGraph, secret))
                    .as("a secret in the job graph")
                    .isNegative();
        }

        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(2);
        KafkaRecoveryITCase.FAILED.set(false);
        JobClient job = GradstreamJob.kafka(settings)
                .withGradientTap(s ->
                        s.map(new KafkaRecoveryITCase.FailOnceAfterCheckpoint()).name("failure injection"))
                .start(env, "secure recovery test");
        try {
            var byShard = KafkaRecoveryITCase.readCommitted(
                    TestClusters.readCommitted(
                            kafka.bootstrapServers(),
                            kafka.clientProperties(SecureKafka.WORKER),
                            SecureKafka.WORKER_GROUP_PREFIX + "verify",
                            "parameters"),
                    work.shards(),
                    work.steps);
            List<RejectedRecord> rejected = TestClusters.readAll(
                    TestClusters.readCommitted(
                            kafka.bootstrapServers(),
                            kafka.clientProperties(SecureKafka.OPERATOR),
                            SecureKafka.OPERATOR_GROUP_PREFIX + "verify",
                            "rejected"),
                    RejectedRecord.class,
                    2);
            assertThat(KafkaRecoveryITCase.FAILED)
                    .as("the failure was injected")
                    .isTrue();
            KafkaRecoveryITCase.assertEveryVersionOnceAndBitIdentical(byShard, work);
            assertThat(rejected)
                    .extracting(RejectedRecord::getReason)
                    .containsExactlyInAnyOrder(RejectReason.UNDECODABLE, RejectReason.UNKNOWN_MODEL);

            JobID id = job.getJobID();
            List<String> rest = new ArrayList<>();
            for (String path : List.of(
                    "/jobs/" + id + "/config", "/jobs/" + id + "/exceptions", "/jobmanager/config", "/taskmanagers")) {
                rest.add(get(cluster.getWebInterfaceURL() + path));
            }
            // A MiniCluster test's job configuration is not the cluster's, so /jobmanager/config does not show it here;
            // LocalModeITCase checks that page of gradstream local --secure, whose configuration it is.
            assertThat(String.join("\n", rest))
                    .as("the REST API answered")
                    .contains("secure recovery test")
                    .contains("injected failure")
                    .contains("taskmanager.numberOfTaskSlots");
            List<String> metrics = new ArrayList<>();
            REPORTER.getMetricsByGroup()
                    .forEach((group, ms) -> ms.forEach((name, m) -> metrics.add(group.getMetricIdentifier(name) + "="
                            + (m instanceof Gauge<?> g ? String.valueOf(g.getValue()) : m.toString()))));
            assertThat(metrics).as("metrics captured").isNotEmpty();
            String log = String.join("\n", LOG);
            assertThat(log).as("the log captured the clients' configurations").contains("sasl.jaas.config = [hidden]");
            for (String secret : secrets) {
                assertThat(log).as("a secret in the log").doesNotContain(secret);
                assertThat(String.join("\n", metrics))
                        .as("a secret in the metrics")
                        .doesNotContain(secret);
                assertThat(String.join("\n", rest))
                        .as("a secret in the REST API")
                        .doesNotContain(secret);
            }
        } finally {
            job.cancel().get();
        }
        List<Path> checkpointFiles;
        try (Stream<Path> files = Files.walk(dir.resolve("checkpoints"))) {
            checkpointFiles = files.filter(Files::isRegularFile).toList();
        }
        assertThat(checkpointFiles).isNotEmpty();
        for (Path f : checkpointFiles) {
            byte[] bytes = Files.readAllBytes(f);
            for (String secret : secrets) {
                assertThat(indexOf(bytes, secret)).as("a secret in %s", f).isNegative();
            }
        }
    }

    /** The four SCRAM passwords and the key and trust store passwords. */
    private static List<String> secrets() throws Exception {
        List<String> secrets = new ArrayList<>();
        Pattern password = Pattern.compile("password=\"([^\"]+)\"");
        for (String p : List.of(SecureKafka.JOB, SecureKafka.OPERATOR, SecureKafka.WORKER, SecureKafka.ADMIN)) {
            Matcher m = password.matcher(kafka.clientProperties(p).get("sasl.jaas.config"));
            assertThat(m.find()).isTrue();
            secrets.add(m.group(1));
        }
        secrets.add(kafka.clientProperties(SecureKafka.JOB).get("ssl.truststore.password"));
        secrets.add(
                Files.readString(dir.resolve("tls").resolve("broker.password")).strip());
        assertThat(secrets).hasSize(6).allSatisfy(s -> assertThat(s).hasSizeGreaterThanOrEqualTo(32));
        return secrets;
    }

    private static KafkaProducer<byte[], byte[]> producer(String principal) {
        Properties p = KafkaClients.properties(kafka.bootstrapServers(), kafka.clientProperties(principal));
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static String get(String url) throws Exception {
        return HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static int indexOf(byte[] haystack, String needle) {
        byte[] n = needle.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + n.length <= haystack.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (haystack[i + j] != n[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
