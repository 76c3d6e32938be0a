package io.gradstream.job;

import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.flink.configuration.Configuration;

/**
 * Shared set-up of the integration tests: MiniCluster settings that keep Flink's scratch folders under target/, and
 * a Kafka consumer that reads a topic from the beginning as the job's downstream consumers do.
 */
final class TestClusters {
    private TestClusters() {
    }

    static Configuration keepFilesInTarget() {
        Path dir = Path.of("target", "minicluster").toAbsolutePath();
        Configuration c = new Configuration();
        c.setString("web.upload.dir", dir.resolve("web-upload").toString());
        c.setString("io.tmp.dirs", dir.resolve("io-tmp").toString());
        return c;
    }

    /**
     * Avro records of {@code topic} (read_committed) until {@code expected} arrived or 30 s passed, then one more
     * second of polling so that a record too many shows up.
     */
    static <T extends org.apache.avro.specific.SpecificRecordBase> List<T> readAll(String bootstrap, String topic,
            Class<T> type, int expected) throws java.io.IOException {
        io.gradstream.schemas.AvroRecords<T> avro = new io.gradstream.schemas.AvroRecords<>(type);
        List<T> out = new java.util.ArrayList<>();
        long deadline = System.currentTimeMillis() + 30_000;
        try (var c = readCommitted(bootstrap, topic)) {
            while (out.size() < expected && System.currentTimeMillis() < deadline) {
                for (var r : c.poll(java.time.Duration.ofMillis(200))) {
                    out.add(avro.decode(r.value()));
                }
            }
            for (var r : c.poll(java.time.Duration.ofMillis(1000))) {
                out.add(avro.decode(r.value()));
            }
        }
        return out;
    }

    /** Reads {@code topic} from the earliest offset with isolation.level=read_committed, in its own group. */
    static KafkaConsumer<byte[], byte[]> readCommitted(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("group.id", "verify-" + topic);
        var c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }
}
