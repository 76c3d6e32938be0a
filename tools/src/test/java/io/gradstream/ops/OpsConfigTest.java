package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.util.TimeUtils;
import org.junit.jupiter.api.Test;

/**
 * The cluster configuration, the compose stack, Prometheus and the Kubernetes manifests agree with each other and
 * with the job: the same settings where they repeat one another, the documented keys, ports only on loopback.
 */
class OpsConfigTest {

    @Test
    void configYamlIsReadTheSameByFlinkAndByJobConfig() throws Exception {
        Configuration flink = GlobalConfiguration.loadConfiguration(
                OpsFiles.path("flink-conf").toString());
        Configuration ours = JobConfig.fromFile(OpsFiles.path("flink-conf/config.yaml"));
        assertThat(ours.keySet()).isEqualTo(flink.keySet());
        for (String key : ours.keySet()) {
            assertThat(ours.getString(key, null)).as(key).isEqualTo(flink.getString(key, null));
        }
        assertThat(flink.toMap())
                .containsEntry("execution.checkpointing.mode", "EXACTLY_ONCE")
                .containsEntry("execution.checkpointing.storage", "filesystem")
                .containsEntry("execution.checkpointing.incremental", "true")
                .containsEntry("state.backend.type", "rocksdb")
                .containsEntry("restart-strategy.type", "exponential-delay")
                .containsEntry("pipeline.generic-types", "false")
                .containsEntry(
                        "metrics.reporter.prom.factory.class",
                        "org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
                .containsKeys(
                        "execution.checkpointing.interval",
                        "execution.checkpointing.dir",
                        "jobmanager.memory.process.size",
                        "taskmanager.memory.process.size");
    }

    @Test
    void readmeDocumentsEveryKeyOfTheJobWithItsDefault() {
        Map<String, String> documented = new TreeMap<>();
        Matcher row =
                Pattern.compile("(?m)^\\| `([^`]+)` \\| `([^`]*)` \\|").matcher(OpsFiles.text("flink-conf/README.md"));
        while (row.find()) {
            documented.put(row.group(1), row.group(2));
        }
        for (ConfigOption<?> option : GradstreamOptions.ALL) {
            assertThat(documented).as("flink-conf/README.md rows").containsKey(option.key());
            String text = documented.get(option.key());
            if (!option.hasDefaultValue()) {
                assertThat(text).as("documented default of %s", option.key()).isEqualTo("none");
                continue;
            }
            Object value = option.defaultValue() instanceof Duration ? TimeUtils.parseDuration(text) : text;
            assertThat(value)
                    .as("documented default of %s", option.key())
                    .isEqualTo(
                            option.defaultValue() instanceof Duration
                                    ? option.defaultValue()
                                    : String.valueOf(option.defaultValue()));
        }
    }

    @Test
    void kubernetesSettingsMatchConfigYaml() throws Exception {
        Map<String, String> cluster = GlobalConfiguration.loadConfiguration(
                        OpsFiles.path("flink-conf").toString())
                .toMap();
        JsonNode spec = OpsFiles.yaml("docker/k8s/flinkdeployment.yaml").path("spec");
        // Paths differ on purpose (a volume per deployment); everything else the two set must be equal.
        Set<String> differ = Set.of("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir");
        List<String> compared = new ArrayList<>();
        spec.path("flinkConfiguration").fields().forEachRemaining(e -> {
            if (cluster.containsKey(e.getKey()) && !differ.contains(e.getKey())) {
                assertThat(e.getValue().asText()).as(e.getKey()).isEqualTo(cluster.get(e.getKey()));
                compared.add(e.getKey());
            }
        });
        assertThat(compared)
                .contains(
                        "state.backend.type",
                        "execution.checkpointing.mode",
                        "metrics.reporter.prom.factory.class",
                        "metrics.reporter.prom.port",
                        "restart-strategy.type");
        assertThat(spec.path("flinkVersion").asText()).isEqualTo("v2_2");
    }

    @Test
    void kubernetesRunsTheJarAndEntryClassTheImageHas() throws Exception {
        JsonNode job =
                OpsFiles.yaml("docker/k8s/flinkdeployment.yaml").path("spec").path("job");
        String jar = job.path("jarURI").asText();
        assertThat(jar).startsWith("local://");
        // The base image's FLINK_HOME is /opt/flink.
        String dockerfile = OpsFiles.text("docker/Dockerfile").replace("$FLINK_HOME", "/opt/flink");
        assertThat(dockerfile).contains(" " + jar.substring("local://".length()) + "\n");
        Class<?> entry = Class.forName(job.path("entryClass").asText());
        assertThat(entry.getMethod("main", String[].class)).isNotNull();
        assertThat(OpsFiles.text("jobs/pom.xml")).contains("<mainClass>" + entry.getName() + "</mainClass>");
    }

    @Test
    void theImagePreloadsTheJdksSignalChaining() {
        // Without it every JVM of the image refuses OpenCL (docs/opencl.md, "Signal chaining"); the build fails
        // when the base image's JDK has no libjsig.so.
        String dockerfile = OpsFiles.text("docker/Dockerfile");
        assertThat(dockerfile)
                .contains("\nENV LD_PRELOAD=${JAVA_HOME}/lib/libjsig.so\n", "\nRUN test -f \"$LD_PRELOAD\"\n");
    }

    @Test
    void kubernetesLogConfigurationIsFlinkConfsWithoutComments() {
        String inline = OpsFiles.yaml("docker/k8s/flinkdeployment.yaml")
                .path("spec")
                .path("logConfiguration")
                .path("log4j-console.properties")
                .asText();
        assertThat(inline.strip()).isEqualTo(withoutComments(OpsFiles.text("flink-conf/log4j-console.properties")));
    }

    private static String withoutComments(String properties) {
        return properties
                .lines()
                .filter(l -> !l.isBlank() && !l.stripLeading().startsWith("#"))
                .reduce((a, b) -> a + "\n" + b)
                .orElse("");
    }

    @Test
    void composePublishesPortsOnLoopbackOnly() {
        JsonNode services = OpsFiles.yaml("docker/compose.yaml").path("services");
        List<String> published = new ArrayList<>();
        services.fields().forEachRemaining(s -> s.getValue().path("ports").forEach(p -> published.add(p.asText())));
        assertThat(published).isNotEmpty().allSatisfy(p -> assertThat(p).startsWith("127.0.0.1:"));
        assertThat(published).contains("127.0.0.1:8081:8081", "127.0.0.1:9090:9090", "127.0.0.1:3000:3000");
    }

    @Test
    void prometheusScrapesEveryFlinkServiceOnTheReporterPort() throws Exception {
        String port = GlobalConfiguration.loadConfiguration(
                        OpsFiles.path("flink-conf").toString())
                .toMap()
                .get("metrics.reporter.prom.port");
        Set<String> flinkServices = new TreeSet<>();
        OpsFiles.yaml("docker/compose.yaml").path("services").fields().forEachRemaining(s -> {
            if (s.getValue().path("image").asText().startsWith("gradstream:")) {
                flinkServices.add(s.getKey());
            }
        });
        assertThat(flinkServices).contains("jobmanager", "taskmanager-1", "taskmanager-2");
        Set<String> targets = new TreeSet<>();
        for (JsonNode scrape : OpsFiles.yaml("docker/prometheus/prometheus.yml").path("scrape_configs")) {
            if (scrape.path("job_name").asText().startsWith("flink-")) {
                scrape.path("static_configs").forEach(c -> c.path("targets").forEach(t -> targets.add(t.asText())));
            }
        }
        Set<String> expected = new TreeSet<>();
        flinkServices.forEach(s -> expected.add(s + ":" + port));
        assertThat(targets).isEqualTo(expected);
    }
}
