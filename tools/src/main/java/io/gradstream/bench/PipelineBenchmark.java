package io.gradstream.bench;

import io.gradstream.job.JobSettings;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * End-to-end pipeline benchmark on an embedded broker and {@code gradstream local}, synthetic gradients for M shards
 * (ASYNC, every contribution applied). A plain Kafka consume-then-produce copy loop drains a backlog of records of the
 * gradients' size (the pipe's limit); the job drains a backlog of as many gradients under the same conditions; then
 * K live publishers and a reader give live input/output MB/s, and publish-to-visibility latency at half that load.
 */
public final class PipelineBenchmark {

    /** What to run. */
    public record Options(
            int shards, int shardSize, int workers, Duration warmup, Duration measure, Configuration flink) {}

    /** What it measured. */
    public record Result(
            double drainMBps,
            double inputMBps,
            double outputMBps,
            double copyMBps,
            double updatesPerSecond,
            double latencyLoadPerSecond,
            long p50Micros,
            long p99Micros,
            int recordBytes) {}

    private static final int PARTITIONS = 4;

    private PipelineBenchmark() {}

    public static Result run(Options o, PrintWriter out) throws Exception {
        Path dir = Files.createTempDirectory("gradstream-bench-");
        AtomicReference<EmbeddedKafka> kafka = new AtomicReference<>();
        AtomicReference<LocalGradstream> local = new AtomicReference<>();
        // Ctrl-C or SIGTERM mid-run still stops the job and the broker and removes the work folder.
        AtomicBoolean closed = new AtomicBoolean();
        Runnable close = () -> {
            if (closed.compareAndSet(false, true)) {
                try {
                    if (local.get() != null) {
                        local.get().close();
                    }
                    if (kafka.get() != null) {
                        kafka.get().close();
                    }
                    LocalGradstream.delete(dir);
                } catch (Exception e) {
                    // best effort while the JVM exits
                }
            }
        };
        Thread hook = new Thread(close, "bench-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            kafka.set(EmbeddedKafka.start(dir.resolve("kafka"), 0, false));
            String bootstrap = kafka.get().bootstrapServers();
            Configuration flink = new Configuration(o.flink());
            flink.setString("gradstream.kafka.bootstrap-servers", bootstrap);
            JobSettings s = JobSettings.from(flink);
            Map<String, Object> client = s.kafka().clientConfig();
            LocalGradstream.createTopics(s, PARTITIONS);
            out.printf(
                    "bench: %d shards x %d floats, %d publishers, delivery %s, state backend %s%n",
                    o.shards(),
                    o.shardSize(),
                    o.workers(),
                    s.delivery(),
                    o.flink().getString("state.backend.type", "hashmap"));
            out.flush();
            byte[][] payloads = BenchLoad.payloads(o);
            int recordBytes = BenchLoad.gradientRecord("bench", 0, "w0", 1, payloads[0]).length;
            int records = backlogRecords(o, recordBytes);

            // 0. The pipe's limit: a consume -> produce copy of a backlog of records of the same size through the
            // same broker, nothing else running.
            double copyMBps = KafkaCopyLoop.copyLoop(client, recordBytes, records, o, PARTITIONS);
            out.printf(Locale.ROOT, "copy loop: %.1f MB/s (%d records)%n", copyMBps, records);
            out.flush();

            // 1. The pipeline under the same conditions: the same number of gradient records written before the job
            // starts, then drained by the job (consume, step, produce) with nothing else reading or writing.
            BenchLoad.createModel(client, s.controlTopic(), "bench", o);
            BenchLoad.writeBacklog(client, s.gradientsTopic(), "bench", payloads, records);
            local.set(LocalGradstream.start(new LocalGradstream.Options(
                    bootstrap, 0, EmbeddedKafka.freePort(), 1, PARTITIONS, dir.resolve("job"), o.flink())));
            out.printf("job started; web UI %s%n", local.get().webUrl());
            out.flush();
            double drainRecordsPerSecond = drain(
                    client,
                    s.parametersTopic(),
                    "bench",
                    records,
                    o.warmup().plus(o.measure()).plus(Duration.ofMinutes(2)));
            double drainMBps = drainRecordsPerSecond * recordBytes / 1e6;
            out.printf(
                    Locale.ROOT,
                    "drain: %.0f steps/s, %.1f MB/s (pipeline / copy loop = %.2f)%n",
                    drainRecordsPerSecond,
                    drainMBps,
                    drainMBps / copyMBps);
            out.flush();

            // 2. Live: publishers as fast as the job takes them and a reader of the updates, all on the same machine.
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> publishers =
                    BenchLoad.startPublishers(client, s.gradientsTopic(), "bench", o, payloads, stop, 0);
            ParameterCounter counter = new ParameterCounter(client, s.parametersTopic(), "bench");
            counter.start();
            Thread.sleep(o.warmup().toMillis());
            long n0 = counter.updates.sum();
            long b0 = counter.bytes.sum();
            long t0 = System.nanoTime();
            Thread.sleep(o.measure().toMillis());
            long n1 = counter.updates.sum();
            long b1 = counter.bytes.sum();
            double seconds = (System.nanoTime() - t0) / 1e9;
            stop.set(true);
            for (Thread t : publishers) {
                t.join();
            }
            double updatesPerSecond = (n1 - n0) / seconds;
            double inputMBps = updatesPerSecond * recordBytes / 1e6;
            double outputMBps = (b1 - b0) / seconds / 1e6;
            out.printf(
                    Locale.ROOT,
                    "live: %.0f steps/s, input %.1f MB/s, output %.1f MB/s%n",
                    updatesPerSecond,
                    inputMBps,
                    outputMBps);
            out.flush();
            // Let the backlog drain before measuring latency.
            counter.awaitQuiet(Duration.ofSeconds(2), Duration.ofMinutes(3));

            // 3. Latency at half the live load.
            double rate = updatesPerSecond / 2;
            stop.set(false);
            counter.latencies.clear();
            counter.recordLatency = true;
            List<Thread> paced =
                    BenchLoad.startPublishers(client, s.gradientsTopic(), "bench", o, payloads, stop, rate);
            Thread.sleep(o.warmup().toMillis() / 2 + o.measure().toMillis());
            stop.set(true);
            for (Thread t : paced) {
                t.join();
            }
            counter.close();
            long[] lat = counter.latencySnapshot();
            long p50 = percentile(lat, 0.50);
            long p99 = percentile(lat, 0.99);
            out.printf(
                    Locale.ROOT,
                    "latency at %.0f steps/s: p50 %.1f ms, p99 %.1f ms (%d updates)%n",
                    rate,
                    p50 / 1000.0,
                    p99 / 1000.0,
                    lat.length);
            out.flush();
            return new Result(
                    drainMBps, inputMBps, outputMBps, copyMBps, updatesPerSecond, rate, p50, p99, recordBytes);
        } finally {
            close.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is already running
            }
        }
    }

    /** As many records as the copy loop and the drain use: about 400 per measured second, at most 1 GiB. */
    private static int backlogRecords(Options o, int recordBytes) {
        return (int) Math.max(200, Math.min(o.measure().toSeconds() * 400, (1L << 30) / recordBytes));
    }

    /**
     * Steps per second while the job drains a backlog of {@code records} gradients, over the last three quarters of
     * it (the first quarter warms the JIT up). Progress is the parameters topic's last stable offset, polled, so
     * nothing reads the updates while the job writes them; the updates are counted once the drain is over, which
     * also corrects the rate for the offsets taken by transaction markers under exactly-once delivery.
     */
    private static double drain(Map<String, Object> client, String topic, String model, int records, Duration max)
            throws Exception {
        Properties cp = new Properties();
        cp.putAll(client);
        cp.put("isolation.level", "read_committed");
        cp.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        try (var c = new KafkaConsumer<byte[], byte[]>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition()))
                    .toList();
            long deadline = System.nanoTime() + max.toNanos();
            List<long[]> samples = new ArrayList<>(); // {nanos, offsets}
            long lastChange = System.nanoTime();
            long last = -1;
            while (System.nanoTime() < deadline) {
                long now = System.nanoTime();
                long offsets = c.endOffsets(partitions).values().stream()
                        .mapToLong(Long::longValue)
                        .sum();
                samples.add(new long[] {now, offsets});
                if (offsets != last) {
                    last = offsets;
                    lastChange = now;
                } else if (offsets >= records
                        && now - lastChange > Duration.ofSeconds(3).toNanos()) {
                    break;
                }
                Thread.sleep(20);
            }
            c.assign(partitions);
            c.seekToBeginning(partitions);
            AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
            long steps = 0;
            long read = 0;
            long end = last;
            long position = 0;
            while (position < end
                    && System.nanoTime() < deadline + Duration.ofMinutes(1).toNanos()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    ParameterUpdate u = avro.decode(r.value());
                    read++;
                    if (model.equals(u.getModelId()) && u.getVersion() > 0) {
                        steps++;
                    }
                }
                position = 0;
                for (var tp : partitions) {
                    position += c.position(tp);
                }
            }
            if (steps < records) {
                throw new IllegalStateException("drain: " + steps + " of " + records + " gradients were applied within "
                        + max.toSeconds() + " s");
            }
            // The window: from the first sample at which a quarter of the backlog is visible to the one at which
            // all of it is.
            long base = end - records;
            long[] from = samples.stream()
                    .filter(x -> x[1] >= base + records / 4)
                    .findFirst()
                    .orElseThrow();
            long[] to = samples.stream().filter(x -> x[1] >= end).findFirst().orElseThrow();
            double offsetsPerRecord = (double) end / Math.max(1, read);
            double seconds = Math.max(1e-3, (to[0] - from[0]) / 1e9);
            return (to[1] - from[1]) / offsetsPerRecord / seconds;
        }
    }

    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return -1;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }
}
