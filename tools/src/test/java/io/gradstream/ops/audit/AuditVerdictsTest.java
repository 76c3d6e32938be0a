package io.gradstream.ops.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.job.JobSettings;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.PrivacyUnit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit's judgements on given facts, one rule at a time; the audit against real brokers is AuditITCase. */
class AuditVerdictsTest {

    @Test
    void listenersWithoutTlsFailAndSaslSslPasses() {
        Finding open = KafkaAudit.listeners(Map.of(
                "advertised.listeners", "PLAINTEXT://10.0.0.1:9092",
                "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"));
        assertThat(open.verdict()).isEqualTo(Finding.Verdict.FAIL);
        assertThat(open.detail()).contains("without TLS");

        Finding named = KafkaAudit.listeners(Map.of(
                "advertised.listeners", "CLIENT://127.0.0.1:9092",
                "listener.security.protocol.map", "CLIENT:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"));
        assertThat(named.verdict()).isEqualTo(Finding.Verdict.PASS);
        assertThat(named.detail()).contains("CLIENT://127.0.0.1:9092 (SASL_SSL)");

        Finding saslClear = KafkaAudit.listeners(Map.of(
                "advertised.listeners", "CLIENT://h:9092", "listener.security.protocol.map", "CLIENT:SASL_PLAINTEXT"));
        assertThat(saslClear.verdict()).isEqualTo(Finding.Verdict.FAIL);

        Finding oneWayTls = KafkaAudit.listeners(Map.of("advertised.listeners", "SSL://h:9093"));
        assertThat(oneWayTls.verdict()).isEqualTo(Finding.Verdict.WARN);
        Finding mutualTls =
                KafkaAudit.listeners(Map.of("advertised.listeners", "SSL://h:9093", "ssl.client.auth", "required"));
        assertThat(mutualTls.verdict()).isEqualTo(Finding.Verdict.PASS);
    }

    @Test
    void anAuthorizerMustDenyByDefault() {
        assertThat(KafkaAudit.authorizer(Map.of()).verdict()).isEqualTo(Finding.Verdict.FAIL);
        assertThat(KafkaAudit.authorizer(Map.of(
                                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                                "allow.everyone.if.no.acl.found", "true"))
                        .verdict())
                .isEqualTo(Finding.Verdict.FAIL);
        assertThat(KafkaAudit.authorizer(Map.of(
                                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"))
                        .verdict())
                .isEqualTo(Finding.Verdict.PASS);
    }

    @Test
    void anAclForEveryoneOnATopicFails() {
        AclBinding job = binding("User:job", AclOperation.READ, "gradients");
        AclBinding everyone = binding("User:*", AclOperation.WRITE, "control");
        assertThat(KafkaAudit.openAcls(List.of(job)).verdict()).isEqualTo(Finding.Verdict.PASS);
        Finding open = KafkaAudit.openAcls(List.of(job, everyone));
        assertThat(open.verdict()).isEqualTo(Finding.Verdict.FAIL);
        assertThat(open.detail()).contains("User:* WRITE topic control");
    }

    @Test
    void aWorkerThatMayWriteControlOrReadRejectedFails() {
        JobSettings s = JobSettings.from(new Configuration());
        Map<String, Set<AclOperation>> good = Map.of(
                "gradients", Set.of(AclOperation.WRITE, AclOperation.DESCRIBE),
                "parameters", Set.of(AclOperation.READ, AclOperation.DESCRIBE));
        List<Finding> ok = KafkaAudit.workerVerdict("control", "rejected", s, good);
        assertThat(ok.get(0).verdict()).isEqualTo(Finding.Verdict.PASS);
        assertThat(ok).extracting(Finding::verdict).contains(Finding.Verdict.INFO);

        List<Finding> all =
                KafkaAudit.workerVerdict("control", "rejected", s, Map.of("control", Set.of(AclOperation.ALL)));
        assertThat(all.get(0).verdict()).isEqualTo(Finding.Verdict.FAIL);
        assertThat(all.get(0).detail()).contains("write control");

        List<Finding> reads =
                KafkaAudit.workerVerdict("control", "rejected", s, Map.of("rejected", Set.of(AclOperation.READ)));
        assertThat(reads.get(0).detail()).contains("read rejected");
    }

    @Test
    void flinkRestIsJudgedByTlsClientCertificatesAndBindAddress() {
        assertThat(FlinkAudit.verdict("http", Map.of()).verdict()).isEqualTo(Finding.Verdict.FAIL);
        assertThat(FlinkAudit.verdict("http", Map.of("rest.bind-address", "127.0.0.1"))
                        .verdict())
                .isEqualTo(Finding.Verdict.PASS);
        assertThat(FlinkAudit.verdict("https", Map.of("rest.bind-address", "0.0.0.0"))
                        .verdict())
                .isEqualTo(Finding.Verdict.WARN);
        assertThat(FlinkAudit.verdict(
                                "https",
                                Map.of(
                                        "security.ssl.rest.enabled", "true",
                                        "security.ssl.rest.authentication-enabled", "true"))
                        .verdict())
                .isEqualTo(Finding.Verdict.PASS);
    }

    @Test
    void aPrivateModelPassesWithinItsBudgetWithAKeyedNoise() {
        PrivacySpec p = PrivacySpec.newBuilder()
                .setUnit(PrivacyUnit.CONTRIBUTION)
                .setClipNorm(1.0)
                .setNoiseMultiplier(1.1)
                .setTargetEpsilon(3.0)
                .setDelta(1e-5)
                .setSampleRate(0.01)
                .setPopulationSize(1000L)
                .setSeedFile("/secrets/seed")
                .build();
        assertThat(ModelAudit.verdict("m", p, 1.5).verdict()).isEqualTo(Finding.Verdict.PASS);
        assertThat(ModelAudit.verdict("m", p, 1.5).detail()).contains("epsilon spent 1.5", "budget 3", "/secrets/seed");
        assertThat(ModelAudit.verdict("m", p, 3.5).verdict()).isEqualTo(Finding.Verdict.FAIL);
        p.setTargetEpsilon(null);
        assertThat(ModelAudit.verdict("m", p, 1.5).verdict()).isEqualTo(Finding.Verdict.WARN);
        assertThat(ModelAudit.verdict("m", null, null).verdict()).isEqualTo(Finding.Verdict.INFO);
    }

    @Test
    void literalSecretsAreToldFromReferences() {
        assertThat(
                        SecretAudit.isLiteralSecret(
                                "gradstream.kafka.sasl.jaas.config",
                                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"w\" password=\"x\";"))
                .isTrue();
        assertThat(SecretAudit.isLiteralSecret(
                        "gradstream.kafka.sasl.jaas.config", "${file:/run/creds/job.properties:sasl.jaas.config}"))
                .isFalse();
        assertThat(SecretAudit.isLiteralSecret("gradstream.kafka.ssl.truststore.password", "changeit"))
                .isTrue();
        assertThat(SecretAudit.isLiteralSecret("gradstream.kafka.ssl.truststore.password", "${file:/p:pw}"))
                .isFalse();
        assertThat(SecretAudit.isLiteralSecret("gradstream.kafka.security.protocol", "SASL_SSL"))
                .isFalse();
        assertThat(SecretAudit.references("${file:/a/b.properties:k} and ${dir:/c:d}"))
                .containsExactly(Path.of("/a/b.properties"), Path.of("/c"));
    }

    @Test
    void credentialFilesMustBeOwnerOnly(@TempDir Path dir) throws Exception {
        Path shared = Files.writeString(dir.resolve("shared.properties"), "sasl.mechanism=SCRAM-SHA-512\n");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-r--r--"));
        Path secret = Files.writeString(dir.resolve("secret.txt"), "pw\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path client = Files.writeString(
                dir.resolve("client.properties"), "ssl.truststore.password=${file:" + secret + ":pw}\n");
        Files.setPosixFilePermissions(client, PosixFilePermissions.fromString("rw-------"));
        assertThat(SecretAudit.permissions(shared).verdict()).isEqualTo(Finding.Verdict.FAIL);
        AuditTarget t = new AuditTarget(
                "h:1", Map.of(), null, null, Map.of("k", "v"), List.of(client), "http://127.0.0.1:1", null);
        List<Finding> found = SecretAudit.run(t);
        assertThat(found).extracting(Finding::verdict).containsOnly(Finding.Verdict.PASS);
        assertThat(found).extracting(Finding::detail).anyMatch(d -> d.startsWith(secret.toString()));
        assertThat(SecretAudit.permissions(dir.resolve("missing")).verdict()).isEqualTo(Finding.Verdict.FAIL);
    }

    @Test
    void theSbomIsSummarised(@TempDir Path dir) throws Exception {
        Path bom = Files.writeString(
                dir.resolve("bom.json"),
                "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"metadata\":{\"component\":{\"name\":\"gradstream-jobs\","
                        + "\"version\":\"0.1.0\"}},\"components\":[{\"name\":\"a\",\"licenses\":[{}]},{\"name\":\"b\"}]}");
        Finding f = SbomAudit.run(bom);
        assertThat(f.verdict()).isEqualTo(Finding.Verdict.INFO);
        assertThat(f.detail()).contains("CycloneDX 1.6", "gradstream-jobs 0.1.0", "2 components (1 with a license)");
        Files.writeString(bom, "{\"bomFormat\":\"SPDX\"}");
        assertThat(SbomAudit.run(bom).verdict()).isEqualTo(Finding.Verdict.FAIL);
    }

    @Test
    void theVerdictIsTheWorstCountedFindingAndTheJsonSaysIt() throws Exception {
        AuditReport pass = new AuditReport(List.of(Finding.pass("a", "x"), Finding.info("b", "y")));
        assertThat(pass.verdict()).isEqualTo(Finding.Verdict.PASS);
        assertThat(pass.exitStatus()).isZero();
        AuditReport warn = new AuditReport(List.of(Finding.pass("a", "x"), Finding.warn("b", "y")));
        assertThat(warn.verdict()).isEqualTo(Finding.Verdict.WARN);
        assertThat(warn.exitStatus()).isZero();
        AuditReport fail = new AuditReport(List.of(Finding.warn("a", "x"), Finding.fail("b", "multi\nline")));
        assertThat(fail.verdict()).isEqualTo(Finding.Verdict.FAIL);
        assertThat(fail.exitStatus()).isEqualTo(1);
        assertThat(fail.text())
                .containsExactly("WARN  a  x", "FAIL  b  multi; line", "audit: FAIL (0 PASS, 1 WARN, 1 FAIL, 0 INFO)");
        JsonNode json = new ObjectMapper().readTree(fail.json());
        assertThat(json.path("verdict").asText()).isEqualTo("FAIL");
        assertThat(json.path("findings").get(1).path("detail").asText()).isEqualTo("multi\nline");
    }

    private static AclBinding binding(String who, AclOperation op, String topic) {
        return new AclBinding(
                new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                new AccessControlEntry(who, "*", op, AclPermissionType.ALLOW));
    }
}
