package io.gradstream.ops.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.cli.GradstreamCli;
import io.gradstream.demo.DemoPrivacy;
import io.gradstream.demo.DigitsDemo;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.SecureKafka;
import io.gradstream.local.LocalGradstream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradstream audit} against real deployments: {@code gradstream local} as it comes (open) fails the audit;
 * {@code gradstream local --secure} with a private model passes it.
 */
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

    @Test
    void aSecuredLocalDeploymentWithAPrivateModelPasses(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("work");
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, 1, 1, work, new Configuration(), 0, true))) {
            SecureKafka kafka = local.secure();
            String bootstrap = local.settings().bootstrapServers();
            Path seed = Files.writeString(work.resolve("dp-seed"), "audit-seed-" + UUID.randomUUID());
            Files.setPosixFilePermissions(seed, PosixFilePermissions.fromString("rw-------"));
            var clients = new DigitsDemo.Clients(
                    KafkaClients.config(bootstrap, kafka.clientProperties(SecureKafka.OPERATOR)),
                    KafkaClients.config(bootstrap, kafka.clientProperties(SecureKafka.WORKER)),
                    work.resolve("worker-keys"));
            DigitsDemo.run(
                    local.settings(),
                    clients,
                    1,
                    5,
                    DemoPrivacy.dpSgd(8, 1e-5, 1.0, 0.05, seed),
                    new PrintWriter(new StringWriter()));

            Run run = audit(
                    "--bootstrap-servers",
                    bootstrap,
                    "--flink-url",
                    local.webUrl(),
                    "--kafka-config",
                    kafka.clientConfig(SecureKafka.ADMIN).toString(),
                    "--worker-config",
                    kafka.clientConfig(SecureKafka.WORKER).toString(),
                    "--sbom",
                    sbom(dir).toString());
            System.out.println(run.text);
            assertThat(run.exit).as(run.text).isZero();
            assertThat(run.text)
                    .contains("audit: PASS")
                    .containsPattern("PASS +kafka access +a client without credentials is refused")
                    .containsPattern("PASS +kafka listeners .*SASL_SSL")
                    .containsPattern("PASS +kafka authorizer .*StandardAuthorizer")
                    .containsPattern("PASS +worker permissions +the worker may not write control")
                    .containsPattern("PASS +model digits-[0-9a-f]+ +DP EXAMPLE.*epsilon spent [0-9.]+ of budget 8")
                    .containsPattern("PASS +secrets +.*worker.properties is rw------- \\(owner only\\)")
                    .doesNotContainPattern("(?m)^(FAIL|WARN) ");
        }
    }

    /** The SBOM of the job jar when this build made one (mvn package in jobs), else a minimal valid one. */
    private static Path sbom(Path dir) throws Exception {
        Path built = Path.of("..", "jobs", "target", "bom.json");
        if (Files.isRegularFile(built)) {
            return built;
        }
        return Files.writeString(
                dir.resolve("bom.json"),
                "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"metadata\":{\"component\":"
                        + "{\"name\":\"gradstream-jobs\",\"version\":\"test\"}},\"components\":[]}");
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
