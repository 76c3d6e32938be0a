package io.gradstream.bench;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads the parameters topic of a benchmark: counts updates and bytes, and optionally publish-to-visibility latency. */
final class ParameterCounter extends Thread implements AutoCloseable {
    final LongAdder updates = new LongAdder();
    final LongAdder bytes = new LongAdder();
    final List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
    /**
     * The first part of each latency, in µs: from the publisher's {@code publishedAtMs} to the update record's
     * timestamp, which is the job's hand-over of the update to its Kafka producer (CreateTime, which the job's sink
     * leaves to the producer) or, on a topic set to LogAppendTime, the broker's append of it.
     */
    final List<Long> beforeSplit = java.util.Collections.synchronizedList(new ArrayList<>());
    /**
     * {receive time in ms since the epoch, latency in µs, the part before the split in µs} of updates slower than
     * {@link #slowMicros}.
     */
    final List<long[]> slow = java.util.Collections.synchronizedList(new ArrayList<>());

    /** Latency-phase updates whose record timestamp is not of {@link #splitAt}'s type (so not split). */
    final LongAdder unsplit = new LongAdder();

    volatile long slowMicros = Long.MAX_VALUE;
    private final TimestampType splitAt;
    volatile boolean recordLatency;
    volatile long lastUpdateNanos = System.nanoTime();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String model;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);

    /** {@code splitAt}: the timestamp type that the latency phase's updates are expected to carry. */
    ParameterCounter(java.util.Map<String, Object> client, String topic, String model, TimestampType splitAt) {
        super("bench-counter");
        this.splitAt = splitAt;
        setDaemon(true);
        Properties p = new Properties();
        p.putAll(client);
        p.put("group.id", "bench-" + System.nanoTime());
        p.put("auto.offset.reset", "latest");
        p.put("isolation.level", "read_committed");
        p.put("fetch.max.wait.ms", "5");
        p.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        this.model = model;
    }

    @Override
    public void run() {
        while (!stop.get()) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                long now = System.currentTimeMillis();
                try {
                    ParameterUpdate u = avro.decode(r.value());
                    if (!model.equals(u.getModelId()) || u.getVersion() == 0) {
                        continue;
                    }
                    updates.increment();
                    bytes.add(r.value().length + (r.key() == null ? 0 : r.key().length));
                    lastUpdateNanos = System.nanoTime();
                    if (recordLatency) {
                        long micros = (now - u.getLatestPublishedAtMs()) * 1000;
                        long splitMicros = (r.timestamp() - u.getLatestPublishedAtMs()) * 1000;
                        latencies.add(micros);
                        if (r.timestampType() == splitAt) {
                            beforeSplit.add(splitMicros);
                        } else {
                            unsplit.increment();
                            splitMicros = -1;
                        }
                        if (micros > slowMicros) {
                            slow.add(new long[] {now, micros, splitMicros});
                        }
                    }
                } catch (java.io.IOException e) {
                    // not an update of ours
                }
            }
        }
        consumer.close();
    }

    void awaitQuiet(Duration quiet, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() - lastUpdateNanos < quiet.toNanos() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }

    long[] latencySnapshot() {
        return sorted(latencies);
    }

    long[] beforeSplitSnapshot() {
        return sorted(beforeSplit);
    }

    void clearLatencies() {
        latencies.clear();
        beforeSplit.clear();
        unsplit.reset();
        slow.clear();
    }

    private static long[] sorted(List<Long> values) {
        synchronized (values) {
            return values.stream().mapToLong(Long::longValue).sorted().toArray();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        join(5_000);
    }
}
