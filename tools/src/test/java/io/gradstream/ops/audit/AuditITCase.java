package io.gradstream.ops.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.cli.GradstreamCli;
import io.gradstream.local.LocalGradstream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradstream audit} against real deployments: {@code gradstream local} as it comes (open) fails the audit. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AuditITCase {

    @Test
    void anOpenLocalDeploymentFails(@TempDir Path dir) throws Exception {
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, 1, 1, dir.resolve("work"), new Configuration()))) {
            Run run = audit(
                    "--bootstrap-servers",
                    local.settings().bootstrapServers(),
                    "--flink-url",
                    local.webUrl(),
                    "--json");
            System.out.println(run.text);
            assertThat(run.exit).as(run.text).isEqualTo(1);
            JsonNode report = new ObjectMapper().readTree(run.text);
            assertThat(report.path("verdict").asText()).isEqualTo("FAIL");
            Map<String, String> verdicts = verdicts(report);
            assertThat(verdicts)
                    .containsEntry("kafka access", "FAIL")
                    .containsEntry("kafka listeners", "FAIL")
                    .containsEntry("kafka authorizer", "FAIL")
                    // gradstream local binds its REST API to 127.0.0.1.
                    .containsEntry("flink rest", "PASS")
                    .containsEntry("worker permissions", "WARN")
                    .containsEntry("models", "INFO");
        }
    }

    record Run(int exit, String text) {}

    static Run audit(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "audit";
        System.arraycopy(args, 0, all, 1, args.length);
        int exit = GradstreamCli.execute(new PrintWriter(out), new PrintWriter(err), all);
        return new Run(exit, out + err.toString());
    }

    /** The verdict of each area (the first finding of an area wins). */
    static Map<String, String> verdicts(JsonNode report) {
        Map<String, String> m = new HashMap<>();
        for (JsonNode f : report.path("findings")) {
            m.putIfAbsent(f.path("area").asText(), f.path("verdict").asText());
        }
        return m;
    }
}
