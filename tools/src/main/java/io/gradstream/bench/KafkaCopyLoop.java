package io.gradstream.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The pipeline benchmark's baselines and Kafka plumbing: two copy loops over the drain phase's own gradient records
 * (one thread consuming then producing, and a consumer thread handing records to a producer thread through a bounded
 * queue, the shape of the job's source and sink), with the job's consumer and producer settings, and the benchmark's
 * producers of synthetic load.
 */
final class KafkaCopyLoop {
    /**
     * Records in flight between the pipelined loop's consumer and producer threads. Flink hands records from the
     * source to the sink's task through a few 32 KiB network buffers per channel, i.e. about one 262 KB gradient; 16
     * leaves the producer never waiting for the consumer without letting a whole fetch pile up.
     */
    static final int HANDOVER_CAPACITY = 16;

    private KafkaCopyLoop() {}

    /** What a copy loop measured: MB/s of record values between the first quarter's and the last record's acks. */
    record Copy(double megabytesPerSecond, long records, long bytes) {}

    /** Creates the copy loops' input topic and fills it with the drain phase's backlog. */
    static String createInput(Map<String, Object> client, String model, byte[][] payloads, int records, int partitions)
            throws Exception {
        String in = "bench-copy-in-" + System.nanoTime();
        createTopics(client, partitions, in);
        BenchLoad.writeBacklog(client, in, model, payloads, records);
        return in;
    }

    /**
     * One thread: poll, send every record, poll again. The clock runs from the acknowledgement that completes the
     * first quarter of the backlog (the JIT's warm-up, as in the drain) to the one of the last record.
     */
    static Copy copyLoop(Map<String, Object> client, String in, int records, int partitions, Duration max)
            throws Exception {
        String out = "bench-copy-out-" + System.nanoTime();
        createTopics(client, partitions, out);
        Acks acks = new Acks(records);
        long deadline = System.nanoTime() + max.toNanos();
        awaitWritable(client, out, partitions);
        try (var c = jobConsumer(client, "copy-" + System.nanoTime());
                var p = jobProducer(client)) {
            c.subscribe(List.of(in));
            long copied = 0;
            while (copied < records && System.nanoTime() < deadline && acks.failed.get() == null) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    p.send(new ProducerRecord<>(out, r.key(), r.value()), acks);
                    copied++;
                }
            }
            Copy result = acks.await(deadline, "copy loop");
            deleteTopics(client, out);
            return result;
        }
    }

    /**
     * Two threads: a consumer thread polls and hands each record to the calling thread through a bounded queue of
     * {@link #HANDOVER_CAPACITY}; the calling thread sends them. Fetching overlaps producing, as the job's source and
     * sink do. Clock as in {@link #copyLoop}.
     */
    static Copy pipelinedCopyLoop(Map<String, Object> client, String in, int records, int partitions, Duration max)
            throws Exception {
        String out = "bench-copy-out-" + System.nanoTime();
        createTopics(client, partitions, out);
        Acks acks = new Acks(records);
        long deadline = System.nanoTime() + max.toNanos();
        BlockingQueue<ConsumerRecord<byte[], byte[]>> handover = new ArrayBlockingQueue<>(HANDOVER_CAPACITY);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Exception> consumerFailed = new AtomicReference<>();
        Thread consumer = new Thread(
                () -> {
                    try (var c = jobConsumer(client, "copy-pipelined-" + System.nanoTime())) {
                        c.subscribe(List.of(in));
                        long taken = 0;
                        while (taken < records && !stop.get()) {
                            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                                while (!handover.offer(r, 100, TimeUnit.MILLISECONDS)) {
                                    if (stop.get()) {
                                        return;
                                    }
                                }
                                taken++;
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (Exception e) {
                        consumerFailed.set(e);
                    }
                },
                "bench-copy-consumer");
        consumer.setDaemon(true);
        awaitWritable(client, out, partitions);
        try (var p = jobProducer(client)) {
            consumer.start();
            long sent = 0;
            while (sent < records && System.nanoTime() < deadline && acks.failed.get() == null) {
                ConsumerRecord<byte[], byte[]> r = handover.poll(100, TimeUnit.MILLISECONDS);
                if (r != null) {
                    p.send(new ProducerRecord<>(out, r.key(), r.value()), acks);
                    sent++;
                } else if (consumerFailed.get() != null) {
                    throw new IllegalStateException(
                            "pipelined copy loop: its consumer failed: " + consumerFailed.get(), consumerFailed.get());
                }
            }
            Copy result = acks.await(deadline, "pipelined copy loop");
            stop.set(true);
            consumer.join(10_000);
            deleteTopics(client, out);
            return result;
        } finally {
            stop.set(true);
        }
    }

    /** Counts acknowledgements; stamps the one that completes the first quarter and the last one. */
    private static final class Acks implements Callback {
        final AtomicReference<Exception> failed = new AtomicReference<>();
        private final int records;
        private final AtomicLong acked = new AtomicLong();
        private final AtomicLong windowBytes = new AtomicLong();
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile long quarterNanos;
        private volatile long lastNanos;

        Acks(int records) {
            this.records = records;
        }

        @Override
        public void onCompletion(RecordMetadata meta, Exception e) {
            if (e != null) {
                failed.compareAndSet(null, e);
                done.countDown();
                return;
            }
            long now = System.nanoTime();
            long n = acked.incrementAndGet();
            if (n > records / 4) {
                windowBytes.addAndGet(meta.serializedValueSize());
            }
            if (n == records / 4) {
                quarterNanos = now;
            }
            if (n == records) {
                lastNanos = now;
                done.countDown();
            }
        }

        Copy await(long deadline, String what) throws InterruptedException {
            done.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (failed.get() != null) {
                throw new IllegalStateException(what + ": a send failed: " + failed.get(), failed.get());
            }
            if (acked.get() < records) {
                throw new IllegalStateException(
                        what + ": " + acked.get() + " of " + records + " records copied in time");
            }
            double seconds = Math.max(1e-6, (lastNanos - quarterNanos) / 1e9);
            return new Copy(windowBytes.get() / seconds / 1e6, acked.get(), windowBytes.get());
        }
    }

    static void createTopics(Map<String, Object> client, int partitions, String... topics) throws Exception {
        try (Admin admin = Admin.create(client)) {
            admin.createTopics(java.util.Arrays.stream(topics)
                            .map(t -> new NewTopic(t, partitions, (short) 1)
                                    .configs(Map.of("max.message.bytes", String.valueOf(16 << 20))))
                            .toList())
                    .all()
                    .get();
        }
    }

    /** Deletes topics whose data served its purpose, so that later phases do not share the page cache with it. */
    static void deleteTopics(Map<String, Object> client, String... topics) throws Exception {
        try (Admin admin = Admin.create(client)) {
            admin.deleteTopics(List.of(topics)).all().get();
        }
    }

    /**
     * Waits until every partition of {@code topic}, just created, has taken a write: one empty record per partition,
     * sent by a producer that is not idempotent (its retries need no sequence numbers) and acknowledged. A leader in
     * the metadata is not enough: the broker can still answer the first batches with NOT_LEADER_OR_FOLLOWER, and an
     * idempotent producer's retries of those then fail with OUT_OF_ORDER_SEQUENCE_NUMBER until its deadline (3 of
     * ~50 benchmark runs lost a copy loop so). Only for topics that nobody reads record by record, as a copy loop's
     * output.
     */
    static void awaitWritable(Map<String, Object> client, String topic, int partitions) throws Exception {
        try (var p = producer(client, 1)) {
            awaitLeaders(p, topic);
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int partition = 0; partition < partitions; partition++) {
                acks.add(p.send(new ProducerRecord<>(topic, partition, null, new byte[0])));
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get(60, TimeUnit.SECONDS);
            }
        }
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

    /**
     * A consumer as the job's source configures it ({@code KafkaIo.source}): 8 MiB per partition and fetch,
     * read_committed, the client settings (security, tuning) on top; from the earliest offset.
     */
    static KafkaConsumer<byte[], byte[]> jobConsumer(Map<String, Object> client, String group) {
        Properties cp = new Properties();
        cp.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        cp.putAll(client);
        cp.put("group.id", group);
        cp.put("auto.offset.reset", "earliest");
        cp.put("isolation.level", "read_committed");
        return new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * A producer as the job's at-least-once sink configures it ({@code KafkaIo.sink}): 1 MiB batches, 5 ms linger,
     * 16 MiB requests, Kafka's defaults otherwise (idempotent, acks=all), the client settings on top.
     */
    static KafkaProducer<byte[], byte[]> jobProducer(Map<String, Object> client) {
        Properties p = new Properties();
        p.put("batch.size", String.valueOf(1 << 20));
        p.put("linger.ms", "5");
        p.put("max.request.size", String.valueOf(16 << 20));
        p.putAll(client);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A producer for synthetic records, on the brokers and with the settings {@code client} configures. */
    static KafkaProducer<byte[], byte[]> producer(Map<String, Object> client) {
        return producer(client, 5);
    }

    /** As {@link #producer(Map)}, with at most {@code inFlight} requests in flight per connection. */
    static KafkaProducer<byte[], byte[]> producer(Map<String, Object> client, int inFlight) {
        Properties p = new Properties();
        p.putAll(client);
        // Not idempotent: on a topic created a moment ago the first batches can get NOT_LEADER_OR_FOLLOWER even
        // after the metadata names a leader, and an idempotent producer's retries of them then fail forever with
        // out-of-order sequence numbers. A benchmark's synthetic records may be duplicated by a retry; the job's own
        // producers and the copy loops' are not these.
        p.put("enable.idempotence", "false");
        p.put("batch.size", String.valueOf(1 << 20));
        p.put("linger.ms", "5");
        p.put("max.request.size", String.valueOf(16 << 20));
        p.put("buffer.memory", String.valueOf(256L << 20));
        p.put("max.in.flight.requests.per.connection", String.valueOf(inFlight));
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
