package io.gradstream.job;

import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Shared set-up of the integration tests: MiniCluster settings that keep Flink's scratch folders under target/, and
 * a Kafka consumer that reads a topic from the beginning as the job's downstream consumers do.
 */
public final class TestClusters {
    private TestClusters() {}

    public static Configuration keepFilesInTarget() {
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
    public static <T extends org.apache.avro.specific.SpecificRecordBase> List<T> readAll(
            String bootstrap, String topic, Class<T> type, int expected) throws java.io.IOException {
        return readAll(readCommitted(bootstrap, topic), type, expected);
    }

    /** As {@link #readAll(String, String, Class, int)}, from a consumer already subscribed; closes it. */
    public static <T extends org.apache.avro.specific.SpecificRecordBase> List<T> readAll(
            KafkaConsumer<byte[], byte[]> consumer, Class<T> type, int expected) throws java.io.IOException {
        io.gradstream.schemas.AvroRecords<T> avro = new io.gradstream.schemas.AvroRecords<>(type);
        List<T> out = new java.util.ArrayList<>();
        long deadline = System.currentTimeMillis() + 30_000;
        try (var c = consumer) {
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

    /**
     * Creates gradstream's five topics with their default names (gradients with two partitions, parameters
     * compacted) on a broker, as the client {@code client} (a principal's settings; empty for a plain broker).
     */
    public static void createTopics(String bootstrap, java.util.Map<String, String> client) throws Exception {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(
                io.gradstream.kafka.KafkaClients.config(bootstrap, client))) {
            admin.createTopics(List.of(
                            new org.apache.kafka.clients.admin.NewTopic("control", 1, (short) 1),
                            new org.apache.kafka.clients.admin.NewTopic("gradients", 2, (short) 1),
                            new org.apache.kafka.clients.admin.NewTopic("parameters", 1, (short) 1)
                                    .configs(io.gradstream.kafka.KafkaIo.parametersTopicConfig()),
                            new org.apache.kafka.clients.admin.NewTopic("rejected", 1, (short) 1),
                            new org.apache.kafka.clients.admin.NewTopic("status", 1, (short) 1)))
                    .all()
                    .get();
        }
    }

    /** Sends the workload's CREATE to {@code control} and its gradients to {@code gradients}. */
    public static void publish(String bootstrap, Workload work) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(
                p,
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(
                            "control", work.create.key, work.create.value))
                    .get();
            for (io.gradstream.operators.RawRecord r : work.gradients) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("gradients", r.key, r.value));
            }
            producer.flush();
        }
    }

    /**
     * The newest update of each shard in {@code parameters}, read until every shard reached the workload's last step
     * or 60 s passed.
     */
    public static java.util.Map<Integer, io.gradstream.schemas.ParameterUpdate> latestParameters(
            String bootstrap, Workload work) throws java.io.IOException {
        return latestParameters(readCommitted(bootstrap, "parameters"), work);
    }

    /** As {@link #latestParameters(String, Workload)}, from a consumer subscribed to the parameters; closes it. */
    public static java.util.Map<Integer, io.gradstream.schemas.ParameterUpdate> latestParameters(
            KafkaConsumer<byte[], byte[]> parameters, Workload work) throws java.io.IOException {
        java.util.Map<Integer, io.gradstream.schemas.ParameterUpdate> latest = new java.util.HashMap<>();
        io.gradstream.schemas.AvroRecords<io.gradstream.schemas.ParameterUpdate> avro =
                new io.gradstream.schemas.AvroRecords<>(io.gradstream.schemas.ParameterUpdate.class);
        try (var consumer = parameters) {
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline
                    && !(latest.size() == work.shards()
                            && latest.values().stream().allMatch(u -> u.getVersion() == work.steps))) {
                for (var r : consumer.poll(java.time.Duration.ofMillis(200))) {
                    io.gradstream.schemas.ParameterUpdate u = avro.decode(r.value());
                    latest.merge(u.getShard(), u, (x, y) -> x.getVersion() >= y.getVersion() ? x : y);
                }
            }
        }
        return latest;
    }

    /** Reads {@code topic} from the earliest offset with isolation.level=read_committed, in its own group. */
    public static KafkaConsumer<byte[], byte[]> readCommitted(String bootstrap, String topic) {
        return readCommitted(bootstrap, java.util.Map.of(), "verify-" + topic, topic);
    }

    /** As {@link #readCommitted(String, String)}, with a client's settings (a principal's) and group. */
    public static KafkaConsumer<byte[], byte[]> readCommitted(
            String bootstrap, java.util.Map<String, String> client, String group, String topic) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("group.id", group);
        var c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }
}
