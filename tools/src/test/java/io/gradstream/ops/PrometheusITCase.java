package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.local.LocalGradstream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus server scrapes {@code gradstream local --demo} while the demo trains, and its query API returns
 * the job's per-model counters with non-zero values; every socket of the gradstream process listens on loopback only.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PrometheusITCase {
    static final String STEPS = "flink_taskmanager_job_task_operator_gradstream_model_stepsApplied";
    static final String ACCEPTED = "flink_taskmanager_job_task_operator_gradstream_model_gradientsAccepted";
    static final String SUBTASK_STEPS = "flink_taskmanager_job_task_operator_gradstream_subtaskSteps";

    @TempDir
    Path tmp;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void prometheusScrapesTheJobsModelMetrics() throws Exception {
        Path prometheus = Tools.require("/usr/bin/prometheus", "prometheus");
        int metricsPort = Sockets.freePort();
        Path dir = Files.createTempDirectory(
                Files.createDirectories(Path.of("target", "prometheus-it").toAbsolutePath()), "run-");
        Process server = null;
        try (LocalProcess local = LocalProcess.start(
                tmp,
                "--demo",
                "--steps",
                "100000",
                "--kafka-port",
                "0",
                "--web-port",
                String.valueOf(Sockets.freePort()),
                "--prometheus-port",
                String.valueOf(metricsPort))) {
            assertThat(local.awaitLine("Prometheus:", 60_000))
                    .isEqualTo("Prometheus:    http://127.0.0.1:" + metricsPort + "/metrics");

            Path config = dir.resolve("prometheus.yml");
            Files.writeString(
                    config,
                    String.join(
                            "\n",
                            "global:",
                            "  scrape_interval: 1s",
                            "  evaluation_interval: 1s",
                            "scrape_configs:",
                            "  - job_name: gradstream",
                            "    static_configs:",
                            "      - targets: ['127.0.0.1:" + metricsPort + "']",
                            ""));
            int apiPort = Sockets.freePort();
            server = new ProcessBuilder(
                            prometheus.toString(),
                            "--config.file=" + config,
                            "--web.listen-address=127.0.0.1:" + apiPort,
                            "--storage.tsdb.path=" + dir.resolve("data"))
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("prometheus.log").toFile())
                    .start();

            String api = "http://127.0.0.1:" + apiPort;
            Map<String, Double> seen = new LinkedHashMap<>();
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline
                    && !(seen.getOrDefault(STEPS, 0.0) > 0 && seen.getOrDefault(ACCEPTED, 0.0) > 0)) {
                Thread.sleep(1000);
                assertThat(server.isAlive())
                        .as("prometheus exited; see " + dir.resolve("prometheus.log"))
                        .isTrue();
                for (String metric : List.of(STEPS, ACCEPTED)) {
                    JsonNode r = query(api, "max(" + metric + "{model=~\"digits_.*\"})");
                    if (r != null && r.size() == 1) {
                        seen.put(metric, r.get(0).get("value").get(1).asDouble());
                    }
                }
            }
            assertThat(seen)
                    .as("values in Prometheus; gradstream output:\n" + local.output())
                    .containsKeys(STEPS, ACCEPTED);
            assertThat(seen.get(STEPS)).isPositive();
            assertThat(seen.get(ACCEPTED)).isPositive();
            // The scrape itself is healthy, and the series carry the model as a label.
            assertThat(query(api, "up{job=\"gradstream\"}")
                            .get(0)
                            .get("value")
                            .get(1)
                            .asText())
                    .isEqualTo("1");
            JsonNode labels = query(api, STEPS).get(0).get("metric");
            assertThat(labels.get("model").asText()).startsWith("digits_"); // Flink's filter turns '-' into '_'
            assertThat(labels.get("operator_name").asText()).isEqualTo("shard_optimizer");
            assertThat(labels.get("job_name").asText()).isEqualTo("gradstream");
            assertLoadPanelsAnswer(api);

            List<String> listening = Sockets.listening(local.process().pid());
            assertThat(listening)
                    .as("sockets gradstream local listens on")
                    .anyMatch(a -> a.endsWith("127.0.0.1]:" + metricsPort) || a.equals("127.0.0.1:" + metricsPort))
                    .allMatch(Sockets::isLoopback);
            assertThat(Sockets.listening(server.pid())).containsExactly("127.0.0.1:" + apiPort);
        } finally {
            if (server != null) {
                server.destroy();
                if (!server.waitFor(20, TimeUnit.SECONDS)) {
                    server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            LocalGradstream.delete(dir);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left.toList()).as("files left in the temporary folder").isEmpty();
        }
    }

    /**
     * The per-subtask load counters arrive with a subtask label, and the dashboard's skew expressions are valid PromQL
     * whose value, once there are two scrapes, is max/mean over the subtasks: at least 1.
     */
    private void assertLoadPanelsAnswer(String api) throws InterruptedException {
        JsonNode steps = null;
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline && (steps == null || steps.isEmpty())) {
            steps = query(api, SUBTASK_STEPS + " > 0");
            Thread.sleep(500);
        }
        assertThat(steps).as("%s in Prometheus", SUBTASK_STEPS).isNotNull().isNotEmpty();
        assertThat(steps.get(0).get("metric").has("subtask_index")).isTrue();
        List<String> skew = new ArrayList<>();
        for (JsonNode panel :
                OpsFiles.json("docker/grafana/dashboards/gradstream.json").path("panels")) {
            if (panel.path("title").asText().startsWith("Load skew")) {
                panel.path("targets").forEach(t -> skew.add(t.path("expr").asText()));
            }
        }
        assertThat(skew).hasSize(2);
        for (String expr : skew) {
            JsonNode r = query(api, expr);
            assertThat(r).as("answer to %s", expr).isNotNull();
            if (!r.isEmpty()) {
                assertThat(r.get(0).get("value").get(1).asDouble()).as(expr).isGreaterThanOrEqualTo(1.0);
            }
        }
    }

    /** The result vector of an instant query, or null while Prometheus is not answering yet. */
    private JsonNode query(String api, String promql) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(
                                    api + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8)))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? json.readTree(r.body()).get("data").get("result") : null;
        } catch (java.io.IOException notYetListening) {
            return null;
        }
    }
}
