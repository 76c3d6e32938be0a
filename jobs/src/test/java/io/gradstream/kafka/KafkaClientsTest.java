package io.gradstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.job.JobConfig;
import io.gradstream.job.JobSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientsTest {
    private static final String FILE_PROVIDER = "org.apache.kafka.common.config.provider.FileConfigProvider";
    private static final String JAAS_REF = "${file:/etc/gradstream/kafka.properties:sasl.jaas.config}";

    private static Map<String, String> secured() {
        Map<String, String> c = new HashMap<>();
        c.put("gradstream.kafka.bootstrap-servers", "kafka:9093");
        c.put("gradstream.kafka.group-id", "g");
        c.put("gradstream.kafka.security.protocol", "SASL_SSL");
        c.put("gradstream.kafka.sasl.mechanism", "SCRAM-SHA-512");
        c.put("gradstream.kafka.config.providers", "file");
        c.put("gradstream.kafka.config.providers.file.class", FILE_PROVIDER);
        c.put("gradstream.kafka.sasl.jaas.config", JAAS_REF);
        c.put("gradstream.kafka.ssl.truststore.location", "/etc/gradstream/truststore.p12");
        c.put("gradstream.kafka.ssl.truststore.password", "${file:/etc/gradstream/kafka.properties:ts}");
        c.put("gradstream.delivery", "EXACTLY_ONCE");
        return c;
    }

    @Test
    void everyGradstreamKafkaKeyButGradstreamsOwnReachesEveryClient() {
        JobSettings s = JobSettings.from(Configuration.fromMap(secured()));
        assertThat(s.kafkaClient())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.jaas.config", JAAS_REF)
                .containsEntry("config.providers", "file")
                .doesNotContainKeys("bootstrap-servers", "group-id", "bootstrap.servers");
        assertThat(s.kafka().clientProperties()).isEqualTo(s.kafkaClient());
        assertThat(s.kafka().clientConfig())
                .containsEntry("bootstrap.servers", "kafka:9093")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
        assertThat(JobSettings.from(new Configuration()).kafkaClient()).isEmpty();
    }

    @Test
    void literalSecretsAreRefusedWithTheWayToReferenceThemAndWithoutTheValue() {
        List<Map.Entry<String, String>> literals = List.of(
                Map.entry(
                        "sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"job\" "
                                + "password=\"hunter2-sekret\";"),
                Map.entry("ssl.truststore.password", "hunter2-sekret"),
                Map.entry("ssl.key.password", "hunter2-sekret"),
                Map.entry("ssl.keystore.key", "hunter2-sekret"),
                Map.entry("sasl.oauthbearer.client.credentials.client.secret", "hunter2-sekret"),
                Map.entry("config.providers.vault.param.token", "hunter2-sekret"));
        for (var literal : literals) {
            Map<String, String> c = secured();
            c.put("gradstream.kafka." + literal.getKey(), literal.getValue());
            assertThatThrownBy(() -> JobSettings.from(Configuration.fromMap(c)))
                    .as(literal.getKey())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("gradstream.kafka." + literal.getKey())
                    .hasMessageContaining("config.providers.file.class: " + FILE_PROVIDER)
                    .hasMessageContaining("${file:/path/creds.properties:<property>}")
                    .hasMessageContaining("DirectoryConfigProvider")
                    .hasMessageNotContaining("hunter2-sekret");
        }
    }

    @Test
    void referencesFlagsAndSecretFreeJaasLinesAreAccepted() {
        assertThat(KafkaClients.holdsLiteralSecret(
                        "sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"job\" "
                                + "password=\"${file:/run/secrets/kafka:password}\";"))
                .isFalse();
        assertThat(KafkaClients.holdsLiteralSecret(
                        "sasl.jaas.config",
                        "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true "
                                + "keyTab=\"/etc/security/job.keytab\" principal=\"job@EXAMPLE.COM\";"))
                .isFalse();
        assertThat(KafkaClients.holdsLiteralSecret(
                        "sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"t\" "
                                + "password=\"${dir:/run/secrets:token}\" tokenauth=true;"))
                .isFalse();
        assertThat(KafkaClients.isSensitive("sasl.oauthbearer.token.endpoint.url"))
                .as("a URL, typed STRING by Kafka")
                .isFalse();
        assertThat(KafkaClients.isSensitive("ssl.keystore.password")).isTrue();
        assertThat(KafkaClients.holdsLiteralSecret("ssl.truststore.password", ""))
                .isFalse();
    }

    @Test
    void whatGradstreamSetsItselfAndUnknownHyphenatedKeysAreRefused() {
        for (String key : List.of("bootstrap.servers", "group.id", "isolation.level", "transaction.timeout.ms")) {
            Map<String, String> c = secured();
            c.put("gradstream.kafka." + key, "x");
            assertThatThrownBy(() -> JobSettings.from(Configuration.fromMap(c)))
                    .hasMessageContaining("gradstream.kafka." + key + " cannot be set");
        }
        Map<String, String> typo = secured();
        typo.put("gradstream.kafka.bootstrap-server", "kafka:9092");
        assertThatThrownBy(() -> JobSettings.from(Configuration.fromMap(typo)))
                .hasMessageContaining("Unknown option gradstream.kafka.bootstrap-server")
                .hasMessageContaining("gradstream.kafka.bootstrap-servers");
    }

    @Test
    void referencesNeedTheirProviderConfiguredAndAllowedByTheJvm() {
        Map<String, String> noProvider = secured();
        noProvider.remove("gradstream.kafka.config.providers");
        assertThatThrownBy(() -> JobSettings.from(Configuration.fromMap(noProvider)))
                .hasMessageContaining("config provider 'file'");
        Map<String, String> noClass = secured();
        noClass.remove("gradstream.kafka.config.providers.file.class");
        assertThatThrownBy(() -> JobSettings.from(Configuration.fromMap(noClass)))
                .hasMessageContaining("gradstream.kafka.config.providers.file.class is not set");
        String before = System.getProperty(KafkaClients.AUTOMATIC_PROVIDERS);
        try {
            System.setProperty(
                    KafkaClients.AUTOMATIC_PROVIDERS,
                    "org.apache.kafka.common.config.provider.DirectoryConfigProvider");
            assertThatThrownBy(() -> JobSettings.from(Configuration.fromMap(secured())))
                    .hasMessageContaining(KafkaClients.AUTOMATIC_PROVIDERS)
                    .hasMessageContaining("does not allow " + FILE_PROVIDER);
            System.setProperty(
                    KafkaClients.AUTOMATIC_PROVIDERS,
                    "org.apache.kafka.common.config.provider.DirectoryConfigProvider, " + FILE_PROVIDER);
            assertThat(JobSettings.from(Configuration.fromMap(secured())).kafkaClient())
                    .containsKey("sasl.jaas.config");
        } finally {
            if (before == null) {
                System.clearProperty(KafkaClients.AUTOMATIC_PROVIDERS);
            } else {
                System.setProperty(KafkaClients.AUTOMATIC_PROVIDERS, before);
            }
        }
    }

    @Test
    void aClientPropertiesFileBecomesReferencesToItself(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("worker.properties");
        Files.writeString(
                file,
                "bootstrap.servers=kafka:9093\n"
                        + "security.protocol=SASL_SSL\n"
                        + "sasl.mechanism=SCRAM-SHA-512\n"
                        + "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                        + "username=\"worker\" password=\"hunter2-sekret\";\n"
                        + "ssl.truststore.location=/tls/truststore.p12\n"
                        + "ssl.truststore.password=hunter2-sekret\n");
        Map<String, String> keys = KafkaClients.fileReferences(file);
        String path = file.toAbsolutePath().toString();
        assertThat(keys)
                .containsEntry("gradstream.kafka.bootstrap-servers", "kafka:9093")
                .containsEntry("gradstream.kafka.security.protocol", "SASL_SSL")
                .containsEntry("gradstream.kafka.sasl.jaas.config", "${file:" + path + ":sasl.jaas.config}")
                .containsEntry(
                        "gradstream.kafka.ssl.truststore.password", "${file:" + path + ":ssl.truststore.password}")
                .containsEntry("gradstream.kafka.ssl.truststore.location", "/tls/truststore.p12")
                .containsEntry("gradstream.kafka.config.providers", "file")
                .containsEntry("gradstream.kafka.config.providers.file.class", FILE_PROVIDER);
        assertThat(keys.toString()).doesNotContain("hunter2-sekret");
        assertThat(JobSettings.from(Configuration.fromMap(keys)).bootstrapServers())
                .isEqualTo("kafka:9093");
    }

    @Test
    void theEnvironmentMapsToOptionsAndKafkaProperties() {
        Map<String, String> env = Map.of(
                "GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS", "kafka:9093",
                "GRADSTREAM_KAFKA_TRANSACTIONAL_ID_PREFIX", "job-a",
                "GRADSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                "GRADSTREAM_KAFKA_CONFIG_PROVIDERS_FILE_PARAM_ALLOWED_PATHS", "/etc/gradstream",
                "GRADSTREAM_LIMITS_RECORD_BYTES", "8mb",
                "GRADSTREAM_DELIVERY", "EXACTLY_ONCE",
                "GRADSTREAM_REQUIRE_TOOLS", "1",
                "HOME", "/root");
        Map<String, String> c = JobConfig.fromEnvironment(env).toMap();
        assertThat(c)
                .containsOnly(
                        Map.entry("gradstream.kafka.bootstrap-servers", "kafka:9093"),
                        Map.entry("gradstream.kafka.transactional-id-prefix", "job-a"),
                        Map.entry("gradstream.kafka.security.protocol", "SASL_SSL"),
                        Map.entry("gradstream.kafka.config.providers.file.param.allowed.paths", "/etc/gradstream"),
                        Map.entry("gradstream.limits.record-bytes", "8mb"),
                        Map.entry("gradstream.delivery", "EXACTLY_ONCE"));
    }
}
