package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.job.TestClusters;
import io.gradstream.job.Workload;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.operators.Records;
import io.gradstream.ops.FlinkRest;
import io.gradstream.schemas.ParameterUpdate;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shaded {@code -cluster.jar} on a Flink cluster whose class path is Flink's runtime only (a separate JVM, as a
 * distribution's lib/ would give it): {@code gradstream submit} uploads it, the job runs from that jar alone — its
 * Kafka connector, kafka-clients, Avro and gradstream loaded child-first — and publishes the parameters the local
 * kernel computes. In the test JVM the same jar clashes with the test class path's kafka-clients (SubmitITCase).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClusterJarITCase {
    /** What the cluster jar brings (pom.xml's include list) and test-only tools: not on the cluster's class path. */
    private static final List<String> NOT_ON_THE_CLUSTER = List.of(
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
    void theClusterJarRunsOnAClusterWithFlinksClassPathOnly() throws Exception {
        Path jar = clusterJar();
        Path tmp = Files.createDirectories(Path.of("target", "cluster-jar-it"));
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Configuration c = new Configuration();
            c.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            LocalGradstream.createTopics(JobSettings.from(c), 2);
            int restPort = EmbeddedKafka.freePort();
            Process flink = new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            "-Xmx1g",
                            "--add-opens=java.base/java.util=ALL-UNNAMED",
                            "-cp",
                            clusterClassPath(),
                            SeparateFlinkCluster.class.getName(),
                            String.valueOf(restPort),
                            tmp.toAbsolutePath().toString())
                    .redirectErrorStream(true)
                    .start();
            List<String> log = new ArrayList<>();
            try {
                String url = awaitReady(flink, log);
                var submit = cli(
                        "submit",
                        "--flink-url",
                        url,
                        "--jar",
                        jar.toString(),
                        "--parallelism",
                        "1",
                        "--set",
                        "gradstream.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                        "--set",
                        "gradstream.kafka.group-id=cluster-jar-it");
                assertThat(submit.status()).as(submit.out() + submit.err()).isZero();
                String jobId = submit.out()
                        .lines()
                        .filter(l -> l.startsWith("job id:"))
                        .map(l -> l.substring(7).strip())
                        .findFirst()
                        .orElseThrow();
                awaitRunning(new FlinkRest(url), jobId, log);

                Workload work = new Workload("Adam", Map.of("lr", 0.01), true, 40, 16, 2, 3, 13);
                TestClusters.publish(kafka.bootstrapServers(), work);
                Map<Integer, ParameterUpdate> latest = TestClusters.latestParameters(kafka.bootstrapServers(), work);
                assertThat(latest)
                        .as("newest update per shard; cluster log:\n%s", tail(log))
                        .hasSize(work.shards());
                for (int s = 0; s < work.shards(); s++) {
                    assertThat(latest.get(s).getVersion()).isEqualTo(work.steps);
                    assertThat(Records.values(latest.get(s))).as("shard %d", s).containsExactly(work.expected[s]);
                }
            } finally {
                flink.getOutputStream().close();
                if (!flink.waitFor(20, TimeUnit.SECONDS)) {
                    flink.descendants().forEach(ProcessHandle::destroyForcibly);
                    flink.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    private static Path clusterJar() throws Exception {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(f -> f.getFileName().toString().endsWith("-cluster.jar"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no target/*-cluster.jar: run mvn package first"));
        }
    }

    /** The test class path less what the job jar brings; failsafe passes it in surefire.test.class.path. */
    private static String clusterClassPath() {
        String all = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String kept = Arrays.stream(all.split(File.pathSeparator))
                .filter(e -> NOT_ON_THE_CLUSTER.stream().noneMatch(e.replace('\\', '/')::contains)
                        || e.endsWith("test-classes"))
                .collect(Collectors.joining(File.pathSeparator));
        assertThat(kept)
                .as("Flink's runtime is on the cluster's class path")
                .contains("flink-runtime")
                .doesNotContain("kafka-clients")
                .doesNotContain("flink-connector-kafka");
        return kept;
    }

    private static String awaitReady(Process flink, List<String> log) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(flink.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = new CompletableFuture<>();
        Thread reader = new Thread(
                () -> {
                    try {
                        for (String line = out.readLine(); line != null; line = out.readLine()) {
                            synchronized (log) {
                                log.add(line);
                            }
                            if (line.startsWith("READY ")) {
                                ready.complete(line.substring(6).strip());
                            }
                        }
                        ready.completeExceptionally(new AssertionError("the cluster exited: " + tail(log)));
                    } catch (Exception e) {
                        ready.completeExceptionally(e);
                    }
                },
                "cluster-log");
        reader.setDaemon(true);
        reader.start();
        return ready.get(90, TimeUnit.SECONDS);
    }

    private static void awaitRunning(FlinkRest rest, String jobId, List<String> log) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        String state = rest.jobState(jobId);
        while (!state.equals("RUNNING") && System.currentTimeMillis() < deadline) {
            assertThat(state).as("job state; cluster log:\n%s", tail(log)).isNotIn("FAILED", "CANCELED", "FINISHED");
            Thread.sleep(200);
            state = rest.jobState(jobId);
        }
        assertThat(state).as("cluster log:\n%s", tail(log)).isEqualTo("RUNNING");
    }

    private static String tail(List<String> log) {
        synchronized (log) {
            return String.join("\n", log.subList(Math.max(0, log.size() - 60), log.size()));
        }
    }
}
