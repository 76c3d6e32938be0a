package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.kafka.KafkaIo;
import io.gradstream.operators.RawRecord;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded cluster jar on a standalone Flink cluster of three JVMs (a JobManager and two one-slot TaskManagers, with
 * Flink's runtime and RocksDB on their class path and nothing the jar brings), submitted through the REST API at
 * parallelism 2 with RocksDB and EXACTLY_ONCE; one TaskManager is SIGKILLed mid-run and replaced. The read_committed
 * output holds every version of every shard once, bit-identical to the local computation.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ClusterFailoverITCase {
    /** What the cluster jar brings (pom.xml's shade include list): kept off the cluster's class path. */
    private static final List<String> IN_THE_JAR = List.of(
            "/io/gradstream/",
            "/target/classes",
            "/org/apache/kafka/",
            "/flink-connector-kafka",
            "/flink-connector-base",
            "/flink-avro",
            "/org/apache/avro/",
            "/zstd-jni",
            "/lz4-java",
            "/com/fasterxml/jackson/",
            "/picocli",
            "/jocl",
            "/org/scala-lang/");

    @Test
    void theClusterJarSurvivesAKilledTaskManagerExactlyOnce(@TempDir Path dir) throws Exception {
        Path jar = clusterJar();
        Workload work = new Workload("Adam", Map.of("lr", 0.01), true, 90, 20, 2, 12, 31);
        long t0 = System.nanoTime();
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
                StandaloneFlinkCluster flink = new StandaloneFlinkCluster(
                                dir.resolve("flink"),
                                1,
                                Map.ofEntries(
                                        Map.entry("state.backend.type", "rocksdb"),
                                        // RocksDB takes its memory from the managed memory of the slot.
                                        Map.entry("taskmanager.memory.managed.size", "128m"),
                                        Map.entry("execution.checkpointing.interval", "500 ms"),
                                        Map.entry(
                                                "execution.checkpointing.dir",
                                                dir.resolve("checkpoints")
                                                        .toUri()
                                                        .toString()),
                                        Map.entry("restart-strategy.type", "fixed-delay"),
                                        Map.entry("restart-strategy.fixed-delay.attempts", "20"),
                                        Map.entry("restart-strategy.fixed-delay.delay", "500 ms"),
                                        // A killed TaskManager is noticed by failed heartbeat RPCs within a second.
                                        Map.entry("heartbeat.interval", "500 ms"),
                                        Map.entry("heartbeat.timeout", "10 s"),
                                        Map.entry("web.refresh-interval", "200 ms")))
                        .classPath(clusterClassPath())) {
            // The three JVMs start together: on two cores one after another would double the wait.
            flink.startJobManager();
            flink.startTaskManager();
            flink.startTaskManager();
            String bootstrap = kafka.bootstrapServers();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(List.of(
                                new NewTopic("control", 1, (short) 1),
                                new NewTopic("gradients", 2, (short) 1),
                                new NewTopic("parameters", 1, (short) 1).configs(KafkaIo.parametersTopicConfig()),
                                new NewTopic("rejected", 1, (short) 1),
                                new NewTopic("status", 1, (short) 1)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
            }
            flink.awaitTaskManagers(2, Duration.ofSeconds(90));
            log(t0, "JobManager and two TaskManagers up");
            String jobId = flink.submitJar(
                    jar,
                    List.of(
                            "--gradstream.kafka.bootstrap-servers",
                            bootstrap,
                            "--gradstream.delivery",
                            "EXACTLY_ONCE",
                            "--gradstream.kafka.group-id",
                            "failover",
                            "--gradstream.kafka.transactional-id-prefix",
                            "failover",
                            // Longer than the outage, so a transaction pre-committed by a checkpoint is still open
                            // when the restored job commits it.
                            "--gradstream.kafka.transaction-timeout",
                            "2 min"),
                    2);
            awaitState(flink, jobId, "RUNNING");
            log(t0, "job " + jobId + " running at parallelism 2");

            Properties pp = new Properties();
            pp.put("bootstrap.servers", bootstrap);
            int half = work.gradients.size() / 2;
            try (var producer =
                    new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                send(producer, "control", work.create);
                work.gradients.subList(0, half).forEach(r -> send(producer, "gradients", r));
                producer.flush();
                awaitMinVersion(bootstrap, work.shards(), 2, flink);
                // Mid-run: steps 3-6 may be in flight, 7-12 not yet published.
                ChildJvm victim = flink.taskManager();
                victim.kill();
                log(t0, "SIGKILLed " + victim.name + " (pid " + victim.pid() + ")");
                flink.startTaskManager();
                work.gradients.subList(half, work.gradients.size()).forEach(r -> send(producer, "gradients", r));
                producer.flush();
            }
            Map<Integer, List<ParameterUpdate>> byShard = KafkaRecoveryITCase.readCommitted(
                    TestClusters.readCommitted(bootstrap, "parameters"), work.shards(), work.steps);
            log(t0, "every shard at version " + work.steps);
            KafkaRecoveryITCase.assertEveryVersionOnceAndBitIdentical(byShard, work);
            JsonNode history = flink.getOrNull("/jobs/" + jobId + "/exceptions?maxExceptions=20");
            assertThat(history).as("exception history").isNotNull();
            assertThat(history.path("exceptionHistory")
                            .path("entries")
                            .toString()
                            .toLowerCase(Locale.ROOT)
                            .replace(" ", ""))
                    .as("the lost TaskManager failed the job, which recovered")
                    .contains("taskmanager");
            log(t0, "passed");
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> p, String topic, RawRecord r) {
        p.send(new ProducerRecord<>(topic, r.key, r.value));
    }

    private static void awaitMinVersion(String bootstrap, int shards, long version, StandaloneFlinkCluster flink)
            throws Exception {
        AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
        Map<Integer, Long> newest = new HashMap<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (var c = TestClusters.readCommitted(bootstrap, Map.of(), "failover-progress", "parameters")) {
            while (newest.size() < shards
                    || newest.values().stream().mapToLong(Long::longValue).min().orElse(-1) < version) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(
                            "not every shard at version " + version + ": " + newest + "\n" + flink.logTails(60));
                }
                for (var r : c.poll(Duration.ofMillis(100))) {
                    ParameterUpdate u = avro.decode(r.value());
                    newest.merge(u.getShard(), u.getVersion(), Math::max);
                }
            }
        }
    }

    private static void awaitState(StandaloneFlinkCluster flink, String jobId, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            JsonNode job = flink.getOrNull("/jobs/" + jobId);
            String now = job == null ? "?" : job.path("state").asText();
            if (now.equals(state)) {
                return;
            }
            assertThat(now).as("job state\n%s", flink.logTails(60)).isNotIn("FAILED", "CANCELED", "FINISHED");
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job " + jobId + " not " + state + " but " + now + "\n" + flink.logTails(60));
            }
            Thread.sleep(200);
        }
    }

    /** target/gradstream-jobs-*-cluster.jar, built by the package phase before failsafe runs. */
    private static Path clusterJar() throws Exception {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(p -> p.getFileName().toString().endsWith("-cluster.jar"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no target/*-cluster.jar: run mvn package first"));
        }
    }

    /** The test class path less what the cluster jar brings, so that the job runs from the jar alone. */
    private static String clusterClassPath() {
        String kept = Arrays.stream(ChildJvm.testClassPath().split(File.pathSeparator))
                .filter(e ->
                        IN_THE_JAR.stream().noneMatch(e.replace('\\', '/')::contains) || e.endsWith("test-classes"))
                .collect(Collectors.joining(File.pathSeparator));
        assertThat(kept)
                .as("Flink's runtime and RocksDB, without the jar's contents")
                .contains("flink-runtime")
                .contains("flink-statebackend-rocksdb")
                .doesNotContain("kafka-clients")
                .doesNotContain("flink-connector-kafka");
        return kept;
    }

    private static void log(long t0, String what) {
        System.out.printf(Locale.ROOT, "ClusterFailoverITCase %6.1f s  %s%n", (System.nanoTime() - t0) / 1e9, what);
    }
}
