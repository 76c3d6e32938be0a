package io.gradstream.ops.model;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a topic from its beginning (or the last records of each partition) up to its end as of the start of the read,
 * bounded in records and time, without a consumer group (so it needs no group ACL and commits nothing). Reads
 * committed records only, as the job's consumers do.
 */
public final class TopicReader {

    /** How much one read may take: records in all, and wall time. */
    public record Bounds(long maxRecords, Duration maxTime) {
        /** A million records or a minute. */
        public static final Bounds DEFAULT = new Bounds(1_000_000, Duration.ofMinutes(1));
    }

    /** How a read ended: records seen, and whether it reached the end of every partition within its bounds. */
    public record Outcome(long records, boolean complete) {}

    /** The topic could not be read: it does not exist, the principal may not read it, or the brokers do not answer. */
    public static final class TopicException extends RuntimeException {
        private final boolean unauthorised;

        public TopicException(String message, boolean unauthorised, Throwable cause) {
            super(message, cause);
            this.unauthorised = unauthorised;
        }

        /** Whether the brokers refused this principal (ACLs), rather than the topic being absent or unreachable. */
        public boolean unauthorised() {
            return unauthorised;
        }
    }

    private TopicReader() {}

    /**
     * Reads {@code topic} from the beginning.
     *
     * @param client Kafka client settings, bootstrap.servers included
     */
    public static Outcome read(
            Map<String, Object> client, String topic, Bounds bounds, Consumer<ConsumerRecord<byte[], byte[]>> each) {
        return read(client, topic, -1, bounds, each);
    }

    /**
     * Reads the last {@code tail} records of each partition of {@code topic}, or all of them when {@code tail} is
     * negative.
     */
    public static Outcome read(
            Map<String, Object> client,
            String topic,
            long tail,
            Bounds bounds,
            Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Map<String, Object> c = new HashMap<>(client);
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "gradstream-cli");
        try (var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            var infos = consumer.partitionsFor(topic, Duration.ofSeconds(15));
            if (infos == null || infos.isEmpty()) {
                throw new TopicException("topic " + topic + " does not exist", false, null);
            }
            List<TopicPartition> parts = infos.stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            if (tail < 0) {
                consumer.seekToBeginning(parts);
            } else {
                Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts);
                for (TopicPartition p : parts) {
                    consumer.seek(p, Math.max(begin.get(p), end.get(p) - tail));
                }
            }
            long deadline = System.nanoTime() + bounds.maxTime().toNanos();
            long seen = 0;
            while (!done(consumer, end)) {
                if (seen >= bounds.maxRecords() || System.nanoTime() > deadline) {
                    return new Outcome(seen, false);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
                        each.accept(r);
                        seen++;
                    }
                }
            }
            return new Outcome(seen, true);
        } catch (AuthorizationException e) {
            throw new TopicException(
                    "this principal may not read topic " + topic + " (" + e.getMessage() + ")", true, e);
        } catch (KafkaException e) {
            throw new TopicException("cannot read topic " + topic + ": " + e.getMessage(), false, e);
        }
    }

    private static boolean done(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, Long> end) {
        return end.entrySet().stream().allMatch(e -> c.position(e.getKey()) >= e.getValue());
    }
}
