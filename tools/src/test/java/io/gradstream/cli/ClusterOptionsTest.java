package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.job.JobSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterOptionsTest {

    @Test
    void configFileThenKafkaConfigThenEnvironmentThenFlags(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(
                dir.resolve("job.yaml"),
                "gradstream.kafka.bootstrap-servers: from-file:9092\n"
                        + "gradstream.kafka.security.protocol: SSL\n"
                        + "gradstream.delivery: AT_LEAST_ONCE\n");
        Path kafka = Files.writeString(
                dir.resolve("client.properties"),
                "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                        + "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                        + "username=\"job\" password=\"hunter2-sekret\";\n");
        Configuration c = ClusterOptions.layered(
                config,
                kafka,
                Map.of("GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS", "from-env:9093", "GRADSTREAM_DELIVERY", "EXACTLY_ONCE"),
                Map.of("gradstream.delivery", "AT_LEAST_ONCE"));
        JobSettings s = JobSettings.from(c);
        assertThat(s.bootstrapServers()).isEqualTo("from-env:9093");
        assertThat(s.delivery().name()).isEqualTo("AT_LEAST_ONCE");
        assertThat(s.kafkaClient())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.jaas.config", "${file:" + kafka.toAbsolutePath() + ":sasl.jaas.config}");
        assertThat(c.toMap().toString())
                .as("what submit sends as program arguments")
                .doesNotContain("hunter2-sekret");
    }

    @Test
    void aLiteralSecretInTheConfigFileIsRefused(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("job.yaml"), "gradstream.kafka.ssl.key.password: hunter2\n");
        Configuration c = ClusterOptions.layered(config, null, Map.of(), Map.of());
        assertThatThrownBy(() -> JobSettings.from(c))
                .hasMessageContaining("gradstream.kafka.ssl.key.password holds a secret")
                .hasMessageContaining("--kafka-config FILE")
                .hasMessageNotContaining("hunter2");
    }
}
