package io.gradstream.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The pipeline benchmark's baseline and Kafka plumbing: a plain consume-then-produce copy loop over records of the
 * gradients' size (what the pipe alone allows), and the benchmark's producers.
 */
final class KafkaCopyLoop {
    private KafkaCopyLoop() {}

    /**
     * Consume -> produce copy of a backlog of {@code records} records of {@code recordBytes}, as fast as one thread
     * can; MB/s over the last three quarters of it, the window the pipeline benchmark's drain uses.
     */
    static double copyLoop(
            Map<String, Object> client, int recordBytes, int records, PipelineBenchmark.Options o, int partitions)
            throws Exception {
        String in = "bench-copy-in-" + System.nanoTime();
        String out = "bench-copy-out-" + System.nanoTime();
        try (Admin admin = Admin.create(client)) {
            admin.createTopics(List.of(
                            new NewTopic(in, partitions, (short) 1)
                                    .configs(Map.of("max.message.bytes", String.valueOf(16 << 20))),
                            new NewTopic(out, partitions, (short) 1)
                                    .configs(Map.of("max.message.bytes", String.valueOf(16 << 20)))))
                    .all()
                    .get();
        }
        byte[] value = new byte[recordBytes];
        new SplittableRandom(1).nextBytes(value);
        // Written in flushed chunks: a single 2 GiB burst made the broker fall behind.
        AtomicReference<Exception> failed = new AtomicReference<>();
        try (var p = producer(client)) {
            awaitLeaders(p, in);
            for (long i = 0; i < records && failed.get() == null; i++) {
                p.send(
                        new ProducerRecord<>(in, ("k" + (i % 64)).getBytes(StandardCharsets.UTF_8), value),
                        failureInto(failed));
                if (i % 256 == 255) {
                    p.flush();
                }
            }
        }
        if (failed.get() != null) {
            throw new IllegalStateException("copy loop: filling its input topic failed: " + failed.get(), failed.get());
        }
        Properties cp = new Properties();
        cp.putAll(client);
        cp.put("group.id", "copy-" + System.nanoTime());
        cp.put("auto.offset.reset", "earliest");
        cp.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        long copied = 0;
        long windowBytes = 0;
        long start = 0;
        long deadline = System.nanoTime()
                + o.measure().toNanos()
                + o.warmup().toNanos()
                + Duration.ofMinutes(1).toNanos();
        try (var c = new KafkaConsumer<byte[], byte[]>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                var p = producer(client)) {
            c.subscribe(List.of(in));
            while (copied < records && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    p.send(new ProducerRecord<>(out, r.key(), r.value()));
                    copied++;
                    if (copied == records / 4) {
                        start = System.nanoTime();
                    } else if (copied > records / 4) {
                        windowBytes += r.value().length;
                    }
                }
            }
            p.flush();
        }
        // The copies served their purpose: delete them, so that the phases after this one do not share the page
        // cache and the disk's write-back with 2 x records of dead data.
        try (Admin admin = Admin.create(client)) {
            admin.deleteTopics(List.of(in, out)).all().get();
        }
        if (copied < records) {
            throw new IllegalStateException("copy loop: " + copied + " of " + records + " records copied in time");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return windowBytes / seconds / 1e6;
    }

    /** Waits until every partition of a topic just created has a leader in the producer's metadata. */
    static void awaitLeaders(KafkaProducer<byte[], byte[]> p, String topic) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            var partitions = p.partitionsFor(topic);
            if (!partitions.isEmpty()
                    && partitions.stream()
                            .allMatch(i -> i.leader() != null && !i.leader().isEmpty())) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("topic " + topic + " has partitions without a leader after 30 s");
    }

    /** A producer for synthetic records, on the brokers and with the settings {@code client} configures. */
    static KafkaProducer<byte[], byte[]> producer(Map<String, Object> client) {
        Properties p = new Properties();
        p.putAll(client);
        // Not idempotent: on a topic created a moment ago the first batches can get NOT_LEADER_OR_FOLLOWER even
        // after the metadata names a leader, and an idempotent producer's retries of them then fail forever with
        // out-of-order sequence numbers. A benchmark's synthetic records may be duplicated by a retry; the job's own
        // producers are not these.
        p.put("enable.idempotence", "false");
        p.put("batch.size", String.valueOf(1 << 20));
        p.put("linger.ms", "5");
        p.put("max.request.size", String.valueOf(16 << 20));
        p.put("buffer.memory", String.valueOf(256L << 20));
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static Callback failureInto(AtomicReference<Exception> failed) {
        return (meta, e) -> {
            if (e != null) {
                failed.compareAndSet(null, e);
            }
        };
    }
}
