package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.ops.doctor.JobThresholds;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The alert rules under Prometheus' own rule unit tester: {@code promtool test rules} feeds the series of
 * docker/prometheus/alerts_test.yml and compares the alerts that fire, with their labels and annotations, to the
 * expected ones; every alert is expected to fire in some case there, and the restart and checkpoint alerts also not to.
 */
class AlertRulesTest {
    private static final String RULES = "docker/prometheus/alerts.yml";
    private static final String TESTS = "docker/prometheus/alerts_test.yml";

    @TempDir
    Path tmp;

    /** promtool's exit status and output. */
    private record Run(int status, String output) {}

    private static Run promtool(String... args) throws IOException, InterruptedException {
        Path promtool = Tools.require("/usr/bin/promtool", "prometheus");
        List<String> command = new ArrayList<>(List.of(promtool.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static Map<String, JsonNode> rules() {
        Map<String, JsonNode> rules = new LinkedHashMap<>();
        for (JsonNode group : OpsFiles.yaml(RULES).path("groups")) {
            group.path("rules").forEach(r -> rules.put(r.path("alert").asText(), r));
        }
        return rules;
    }

    @Test
    void rulesAreValidForPrometheus() throws Exception {
        Run check = promtool("check", "rules", OpsFiles.path(RULES).toString());
        assertThat(check.status()).as(check.output()).isZero();
        assertThat(check.output()).contains("SUCCESS: " + rules().size() + " rules found");
    }

    @Test
    void unitTestsOfTheRulesPass() throws Exception {
        Run test = promtool("test", "rules", OpsFiles.path(TESTS).toString());
        assertThat(test.status()).as(test.output()).isZero();
        assertThat(test.output()).contains("SUCCESS");
    }

    @Test
    void everyAlertFiresInSomeTestAndTheJobHealthAlertsAlsoStayQuiet() {
        Set<String> fires = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        for (JsonNode test : OpsFiles.yaml(TESTS).path("tests")) {
            for (JsonNode expect : test.path("alert_rule_test")) {
                (expect.path("exp_alerts").isEmpty() ? quiet : fires)
                        .add(expect.path("alertname").asText());
            }
        }
        assertThat(fires)
                .as("alerts that some test of %s expects to fire", TESTS)
                .isEqualTo(new TreeSet<>(rules().keySet()));
        assertThat(quiet)
                .as("alerts that some test expects not to fire yet")
                .contains(
                        "GradstreamJobRestarting",
                        "GradstreamJobRestarted",
                        "GradstreamCheckpointOld",
                        "GradstreamCheckpointVeryOld");
    }

    /** A wrong expectation must fail: proves promtool compares what fires, so the passing run above means something. */
    @Test
    void aRestartAlertThatShouldNotFireFailsTheTester() throws Exception {
        Path tests = Files.writeString(
                tmp.resolve("wrong_test.yml"),
                String.join(
                        "\n",
                        "rule_files:",
                        "  - " + OpsFiles.path(RULES),
                        "evaluation_interval: 1m",
                        "tests:",
                        "  - interval: 1m",
                        "    input_series:",
                        "      - series: 'flink_jobmanager_job_numRestarts{job_id=\"j\", job_name=\"gradstream\"}'",
                        "        values: '0 1x20'",
                        "    alert_rule_test:",
                        "      - eval_time: 5m",
                        "        alertname: GradstreamJobRestarting",
                        "        exp_alerts:",
                        "          - exp_labels: {severity: critical, job_id: j, job_name: gradstream}",
                        ""));
        Run wrong = promtool("test", "rules", tests.toString());
        assertThat(wrong.status()).as(wrong.output()).isNotZero();
        assertThat(wrong.output()).contains("FAILED").contains("alertname: GradstreamJobRestarting");
    }

    /** The alerts and {@code gradstream doctor} turn WARN and FAIL (critical) at the same points. */
    @Test
    void alertThresholdsAreTheDoctorsDefaults() {
        JobThresholds d = JobThresholds.DEFAULTS;
        Map<String, JsonNode> rules = rules();
        assertThat(rules.get("GradstreamJobRestarting").path("expr").asText().strip())
                .endsWith("[15m]) >= " + d.maxRestarts());
        assertThat(rules.get("GradstreamJobRestarting")
                        .path("labels")
                        .path("severity")
                        .asText())
                .isEqualTo("critical");
        assertThat(rules.get("GradstreamJobRestarted")
                        .path("labels")
                        .path("severity")
                        .asText())
                .isEqualTo("warning");
        assertThat(rules.get("GradstreamCheckpointOld").path("expr").asText().strip())
                .endsWith(") > " + d.checkpointWarn().toSeconds());
        assertThat(rules.get("GradstreamCheckpointOld")
                        .path("labels")
                        .path("severity")
                        .asText())
                .isEqualTo("warning");
        assertThat(rules.get("GradstreamCheckpointVeryOld")
                        .path("expr")
                        .asText()
                        .strip())
                .endsWith(") > " + d.checkpointFail().toSeconds());
        assertThat(rules.get("GradstreamCheckpointVeryOld")
                        .path("labels")
                        .path("severity")
                        .asText())
                .isEqualTo("critical");
    }
}
