package io.gradstream.bench;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Phase 1 of a pipeline benchmark run: the job drains a backlog written before it started, timed from the parameters
 * topic's last stable offset (sampled, so that nothing reads the updates meanwhile) over the last three quarters of the
 * backlog, as the copy loops are timed; then every update is read back to check that every gradient was applied.
 */
final class DrainPhase {
    private DrainPhase() {}

    /**
     * Polls the sum of a topic's end offsets (its last stable offsets, read_committed) every 20 ms, so that nothing
     * reads the updates while the job writes them.
     */
    static final class OffsetSampler extends Thread implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final List<TopicPartition> partitions;
        private final List<long[]> samples = new ArrayList<>(); // {nanos, offsets}
        private volatile boolean stop;
        private volatile Exception failed;

        OffsetSampler(Map<String, Object> client, String topic) {
            super("bench-offset-sampler");
            setDaemon(true);
            Properties cp = new Properties();
            cp.putAll(client);
            cp.put("isolation.level", "read_committed");
            consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition()))
                    .toList();
        }

        @Override
        public void run() {
            try {
                while (!stop) {
                    long now = System.nanoTime();
                    long offsets = consumer.endOffsets(partitions).values().stream()
                            .mapToLong(Long::longValue)
                            .sum();
                    synchronized (samples) {
                        samples.add(new long[] {now, offsets});
                    }
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                failed = e;
            }
        }

        List<long[]> samples() {
            if (failed != null) {
                throw new IllegalStateException("sampling end offsets failed: " + failed, failed);
            }
            synchronized (samples) {
                return List.copyOf(samples);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            join(5_000);
            consumer.close();
        }
    }

    /**
     * Steps per second while the job drains a backlog of {@code records} gradients, over the last three quarters of
     * it (the first quarter warms the JIT up), as the copy loops are timed. Progress is the parameters topic's last
     * stable offset as {@code sampler} sees it, the times at which it crossed a quarter and all of the final offset
     * interpolated between samples; the updates are read once the drain is over: every step must be there, and
     * offsets per step (transaction markers under exactly-once, a delta and a snapshot at the same version with a
     * delta stream) turn offsets into steps.
     */
    static PipelineBenchmark.Drain measure(
            Map<String, Object> client,
            OffsetSampler sampler,
            String topic,
            String rejectedTopic,
            String model,
            String encoding,
            int recordBytes,
            int records,
            Duration max)
            throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        long end = -1;
        while (System.nanoTime() < deadline) {
            List<long[]> samples = sampler.samples();
            if (!samples.isEmpty()) {
                long[] latest = samples.get(samples.size() - 1);
                long since = latest[0];
                for (int i = samples.size() - 1; i >= 0 && samples.get(i)[1] == latest[1]; i--) {
                    since = samples.get(i)[0];
                }
                if (latest[1] >= records
                        && latest[0] - since > Duration.ofSeconds(3).toNanos()) {
                    end = latest[1];
                    break;
                }
            }
            Thread.sleep(100);
        }
        List<long[]> samples = sampler.samples();
        if (end < 0) {
            end = samples.isEmpty() ? 0 : samples.get(samples.size() - 1)[1];
        }
        Properties cp = new Properties();
        cp.putAll(client);
        cp.put("isolation.level", "read_committed");
        cp.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        try (var c = new KafkaConsumer<byte[], byte[]>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition()))
                    .toList();
            c.assign(partitions);
            c.seekToBeginning(partitions);
            AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
            Set<Long> steps = new HashSet<>();
            long bytes = 0;
            long position = 0;
            // Read up to the offset the drain went quiet at, and on if steps are still missing: a stall of over 3 s
            // late in the drain (seen once in a 5-run series, 3 of 3200 steps) ends the quiet wait early; the
            // window then runs to the last update's arrival and includes the stall.
            long readUntil = deadline + Duration.ofMinutes(1).toNanos();
            while ((position < end || steps.size() < records) && System.nanoTime() < readUntil) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    ParameterUpdate u = avro.decode(r.value());
                    if (model.equals(u.getModelId()) && u.getVersion() > 0) {
                        steps.add(((long) u.getShard() << 40) | u.getVersion());
                        bytes += r.value().length + (r.key() == null ? 0 : r.key().length);
                    }
                }
                position = 0;
                for (var tp : partitions) {
                    position += c.position(tp);
                }
            }
            if (steps.size() < records) {
                long rejected = rejectedCount(c, rejectedTopic);
                throw new IllegalStateException("drain: " + steps.size() + " of " + records
                        + " gradients were applied within " + max.toSeconds() + " s; " + rejected
                        + " records on " + rejectedTopic);
            }
            if (position > end) {
                end = position;
                long waitUntil = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                do {
                    Thread.sleep(50);
                    samples = sampler.samples();
                } while (samples.get(samples.size() - 1)[1] < end && System.nanoTime() < waitUntil);
            }
            // The window: from the moment a quarter of the updates was visible to the one at which all were.
            long quarter = end / 4;
            double from = crossing(samples, quarter);
            double to = crossing(samples, end);
            double stepsPerOffset = (double) steps.size() / Math.max(1, end);
            double seconds = Math.max(1e-3, (to - from) / 1e9);
            return new PipelineBenchmark.Drain(
                    encoding,
                    recordBytes,
                    steps.size(),
                    (end - quarter) * stepsPerOffset / seconds,
                    (double) bytes / steps.size());
        }
    }

    private static long rejectedCount(KafkaConsumer<byte[], byte[]> c, String topic) {
        List<TopicPartition> partitions = c.partitionsFor(topic).stream()
                .map(i -> new TopicPartition(topic, i.partition()))
                .toList();
        return c.endOffsets(partitions).values().stream()
                .mapToLong(Long::longValue)
                .sum();
    }

    /** When the sampled offsets reached {@code target}, interpolated linearly between the two samples around it. */
    static double crossing(List<long[]> samples, long target) {
        for (int i = 0; i < samples.size(); i++) {
            long[] x = samples.get(i);
            if (x[1] >= target) {
                if (i == 0) {
                    throw new IllegalStateException("drain: " + x[1] + " updates were visible at the first sample");
                }
                long[] w = samples.get(i - 1);
                return w[0] + (double) (x[0] - w[0]) * (target - w[1]) / Math.max(1, x[1] - w[1]);
            }
        }
        throw new IllegalStateException("drain: the updates never reached offset " + target);
    }
}
