package io.gradstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/**
 * The embedded broker is configured to write its log to disk every {@link EmbeddedKafka#FLUSH_INTERVAL_MS} rather than
 * leave it to the kernel's write-back, and to pace its log cleaner: both made the latency tail of a co-located job
 * (docs/benchmarks.md, "Page-cache write-back"); an override restores Kafka's default, and the compose broker has the
 * same settings. The effect itself is measured by {@code bench pipeline}.
 */
class EmbeddedKafkaFlushITCase {

    @Test
    void theBrokerFlushesItsLogEveryHalfSecondAndPacesItsCleaner() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Config broker = brokerConfig(admin);
            assertThat(broker.get("log.flush.interval.ms").value()).isEqualTo("500");
            assertThat(broker.get("log.flush.scheduler.interval.ms").value()).isEqualTo("100");
            assertThat(Double.parseDouble(
                            broker.get("log.cleaner.io.max.bytes.per.second").value()))
                    .isEqualTo(50.0 * 1024 * 1024);
        }
    }

    @Test
    void anOverrideRestoresKafkasDefault() throws Exception {
        String never = String.valueOf(Long.MAX_VALUE);
        Path dir = Files.createTempDirectory("gradstream-kafka-flush-");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0, true, Map.of("log.flush.interval.ms", never));
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            assertThat(brokerConfig(admin).get("log.flush.interval.ms").value()).isEqualTo(never);
        }
    }

    private static Config brokerConfig(Admin admin) throws Exception {
        ConfigResource node = new ConfigResource(ConfigResource.Type.BROKER, "1");
        return admin.describeConfigs(List.of(node))
                .all()
                .get(60, TimeUnit.SECONDS)
                .get(node);
    }

    @Test
    void theComposeBrokerHasTheSameSettings() throws Exception {
        Path file = Path.of("").toAbsolutePath();
        while (!Files.exists(file.resolve("docker/kafka/server.properties"))) {
            file = file.getParent();
            assertThat(file).as("repository root above the working folder").isNotNull();
        }
        Properties compose = new Properties();
        try (var in = Files.newBufferedReader(file.resolve("docker/kafka/server.properties"))) {
            compose.load(in);
        }
        assertThat(compose.getProperty("log.flush.interval.ms"))
                .isEqualTo(String.valueOf(EmbeddedKafka.FLUSH_INTERVAL_MS));
        assertThat(compose.getProperty("log.flush.scheduler.interval.ms"))
                .isEqualTo(String.valueOf(EmbeddedKafka.FLUSH_INTERVAL_MS / 5));
        assertThat(compose.getProperty("log.cleaner.io.max.bytes.per.second"))
                .isEqualTo(String.valueOf(EmbeddedKafka.CLEANER_BYTES_PER_SECOND));
    }
}
