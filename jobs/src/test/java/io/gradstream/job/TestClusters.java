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
