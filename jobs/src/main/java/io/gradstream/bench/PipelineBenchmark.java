package io.gradstream.bench;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.job.JobSettings;
import io.gradstream.local.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.TensorSpec;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * End-to-end pipeline benchmark on an embedded broker and {@code gradstream local}, synthetic gradients for M shards
 * (ASYNC, every contribution applied). A plain Kafka consume-then-produce copy loop drains a backlog of records of the
 * gradients' size (the pipe's limit); the job drains a backlog of as many gradients under the same conditions; then
 * K live publishers and a reader give live input/output MB/s, and publish-to-visibility latency at half that load.
 */
public final class PipelineBenchmark {

    /** What to run. */
    public record Options(int shards, int shardSize, int workers, Duration warmup, Duration measure,
            Configuration flink) {
    }

    /** What it measured. */
    public record Result(double drainMBps, double inputMBps, double outputMBps, double copyMBps,
            double updatesPerSecond, double latencyLoadPerSecond, long p50Micros, long p99Micros, int recordBytes) {
    }

    private static final int PARTITIONS = 4;

    private PipelineBenchmark() {
    }

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
            LocalGradstream.createTopics(s, PARTITIONS);
            out.printf("bench: %d shards x %d floats, %d publishers, delivery %s, state backend %s%n",
                    o.shards(), o.shardSize(), o.workers(), s.delivery(),
                    o.flink().getString("state.backend.type", "hashmap"));
            out.flush();
            byte[][] payloads = payloads(o);
            int recordBytes = gradientRecord("bench", 0, "w0", 1, payloads[0]).length;
            int records = backlogRecords(o, recordBytes);

            // 0. The pipe's limit: a consume -> produce copy of a backlog of records of the same size through the
            // same broker, nothing else running.
            double copyMBps = copyLoop(bootstrap, recordBytes, records, o);
            out.printf(Locale.ROOT, "copy loop: %.1f MB/s (%d records)%n", copyMBps, records);
            out.flush();

            // 1. The pipeline under the same conditions: the same number of gradient records written before the job
            // starts, then drained by the job (consume, step, produce) with nothing else reading or writing.
            createModel(bootstrap, s.controlTopic(), "bench", o);
            writeBacklog(bootstrap, s.gradientsTopic(), "bench", payloads, records);
            local.set(LocalGradstream.start(new LocalGradstream.Options(bootstrap, 0, EmbeddedKafka.freePort(), 1,
                    PARTITIONS, dir.resolve("job"), o.flink())));
            out.printf("job started; web UI %s%n", local.get().webUrl());
            out.flush();
            double drainRecordsPerSecond = drain(bootstrap, s.parametersTopic(), "bench", records,
                    o.warmup().plus(o.measure()).plus(Duration.ofMinutes(2)));
            double drainMBps = drainRecordsPerSecond * recordBytes / 1e6;
            out.printf(Locale.ROOT, "drain: %.0f steps/s, %.1f MB/s (pipeline / copy loop = %.2f)%n",
                    drainRecordsPerSecond, drainMBps, drainMBps / copyMBps);
            out.flush();

            // 2. Live: publishers as fast as the job takes them and a reader of the updates, all on the same machine.
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> publishers = startPublishers(bootstrap, s.gradientsTopic(), "bench", o, payloads, stop, 0);
            Counter counter = new Counter(bootstrap, s.parametersTopic(), "bench");
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
            out.printf(Locale.ROOT, "live: %.0f steps/s, input %.1f MB/s, output %.1f MB/s%n",
                    updatesPerSecond, inputMBps, outputMBps);
            out.flush();
            // Let the backlog drain before measuring latency.
            counter.awaitQuiet(Duration.ofSeconds(2), Duration.ofMinutes(3));

            // 3. Latency at half the live load.
            double rate = updatesPerSecond / 2;
            stop.set(false);
            counter.latencies.clear();
            counter.recordLatency = true;
            List<Thread> paced = startPublishers(bootstrap, s.gradientsTopic(), "bench", o, payloads, stop, rate);
            Thread.sleep(o.warmup().toMillis() / 2 + o.measure().toMillis());
            stop.set(true);
            for (Thread t : paced) {
                t.join();
            }
            counter.close();
            long[] lat = counter.latencySnapshot();
            long p50 = percentile(lat, 0.50);
            long p99 = percentile(lat, 0.99);
            out.printf(Locale.ROOT, "latency at %.0f steps/s: p50 %.1f ms, p99 %.1f ms (%d updates)%n", rate,
                    p50 / 1000.0, p99 / 1000.0, lat.length);
            out.flush();
            return new Result(drainMBps, inputMBps, outputMBps, copyMBps, updatesPerSecond, rate, p50, p99,
                    recordBytes);
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

    /** Writes {@code records} gradients, shard after shard, from one worker whose steps count up. */
    private static void writeBacklog(String bootstrap, String topic, String model, byte[][] payloads, int records)
            throws Exception {
        AtomicReference<Exception> failed = new AtomicReference<>();
        try (var p = producer(bootstrap)) {
            awaitLeaders(p, topic);
            for (int i = 0; i < records && failed.get() == null; i++) {
                int shard = i % payloads.length;
                byte[] key = (model + "/w/" + shard).getBytes(StandardCharsets.UTF_8);
                p.send(new ProducerRecord<>(topic, key, gradientRecord(model, shard, "backlog",
                        i / payloads.length + 1, payloads[shard])), failureInto(failed));
                if (i % 256 == 255) {
                    p.flush();
                }
            }
        }
        if (failed.get() != null) {
            throw new IllegalStateException("writing the gradient backlog failed: " + failed.get(), failed.get());
        }
    }

    private static Callback failureInto(AtomicReference<Exception> failed) {
        return (meta, e) -> {
            if (e != null) {
                failed.compareAndSet(null, e);
            }
        };
    }

    /**
     * Steps per second while the job drains a backlog of {@code records} gradients, over the last three quarters of
     * it (the first quarter warms the JIT up). Progress is the parameters topic's last stable offset, polled, so
     * nothing reads the updates while the job writes them; the updates are counted once the drain is over, which
     * also corrects the rate for the offsets taken by transaction markers under exactly-once delivery.
     */
    private static double drain(String bootstrap, String topic, String model, int records, Duration max)
            throws Exception {
        Properties cp = new Properties();
        cp.put("bootstrap.servers", bootstrap);
        cp.put("isolation.level", "read_committed");
        cp.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        try (var c = new KafkaConsumer<byte[], byte[]>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            long deadline = System.nanoTime() + max.toNanos();
            List<long[]> samples = new ArrayList<>(); // {nanos, offsets}
            long lastChange = System.nanoTime();
            long last = -1;
            while (System.nanoTime() < deadline) {
                long now = System.nanoTime();
                long offsets = c.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
                samples.add(new long[] {now, offsets});
                if (offsets != last) {
                    last = offsets;
                    lastChange = now;
                } else if (offsets >= records && now - lastChange > Duration.ofSeconds(3).toNanos()) {
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
            while (position < end && System.nanoTime() < deadline + Duration.ofMinutes(1).toNanos()) {
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
            long[] from = samples.stream().filter(x -> x[1] >= base + records / 4).findFirst().orElseThrow();
            long[] to = samples.stream().filter(x -> x[1] >= end).findFirst().orElseThrow();
            double offsetsPerRecord = (double) end / Math.max(1, read);
            double seconds = Math.max(1e-3, (to[0] - from[0]) / 1e9);
            return (to[1] - from[1]) / offsetsPerRecord / seconds;
        }
    }

    private static void createModel(String bootstrap, String topic, String model, Options o) throws Exception {
        ModelSpec spec = ModelSpec.newBuilder()
                .setTensors(List.of(TensorSpec.newBuilder().setName("w").setShape(List.of(o.shards() * o.shardSize()))
                        .build()))
                .setShardSize(o.shardSize())
                .setOptimizer("Adam")
                .setHyperparameters(Map.of("lr", 1e-4))
                .setAggregation(AggregationSpec.newBuilder().setMode(AggregationMode.ASYNC)
                        .setMaxStaleness(Integer.MAX_VALUE).build())
                .setInit(InitSpec.newBuilder().build())
                .setOutputEncoding(Encoding.FP32)
                .build();
        try (var p = producer(bootstrap)) {
            p.send(new ProducerRecord<>(topic, model.getBytes(StandardCharsets.UTF_8),
                    new AvroRecords<>(ControlCommand.class).encode(ControlCommand.newBuilder().setModelId(model)
                            .setType(CommandType.CREATE).setSpec(spec).build()))).get();
        }
    }

    private static byte[][] payloads(Options o) {
        SplittableRandom rnd = new SplittableRandom(3);
        byte[][] out = new byte[o.shards()][];
        for (int s = 0; s < o.shards(); s++) {
            float[] g = new float[o.shardSize()];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            out[s] = PayloadCodecs.fp32().encode(g);
        }
        return out;
    }

    private static final ThreadLocal<AvroRecords<GradientBatch>> GRADIENTS =
            ThreadLocal.withInitial(() -> new AvroRecords<>(GradientBatch.class));

    static byte[] gradientRecord(String model, int shard, String worker, long step, byte[] payload) {
        return GRADIENTS.get().encode(GradientBatch.newBuilder().setModelId(model).setTensor("w").setShard(shard)
                .setWorkerId(worker).setWorkerStep(step).setBaseVersion(0).setNumExamples(1)
                .setPayload(new TensorPayload(Encoding.FP32, payload.length / 4, ByteBuffer.wrap(payload)))
                .setPublishedAtMs(System.currentTimeMillis()).build());
    }

    /** @param ratePerSecond 0 for as fast as possible, else the total records/s over all publishers */
    private static List<Thread> startPublishers(String bootstrap, String topic, String model, Options o,
            byte[][] payloads, AtomicBoolean stop, double ratePerSecond) {
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < o.workers(); w++) {
            String worker = "w" + w + "-" + System.nanoTime();
            Thread t = new Thread(() -> {
                try (var p = producer(bootstrap)) {
                    long step = 0;
                    long sent = 0;
                    long start = System.nanoTime();
                    double perThread = ratePerSecond / o.workers();
                    while (!stop.get()) {
                        step++;
                        for (int s = 0; s < payloads.length && !stop.get(); s++) {
                            if (perThread > 0) {
                                // Paced runs spread the records evenly: a load is a rate. Sending a step's shards in
                                // one burst would measure the burst's transfer time (shards x record size over the
                                // pipe's MB/s) on top of the pipeline's latency.
                                long due = start + (long) (sent / perThread * 1e9);
                                long wait = due - System.nanoTime();
                                if (wait > 0) {
                                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                                }
                            }
                            byte[] key = (model + "/w/" + s).getBytes(StandardCharsets.UTF_8);
                            p.send(new ProducerRecord<>(topic, key, gradientRecord(model, s, worker, step,
                                    payloads[s])));
                            sent++;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-publisher-" + w);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        return threads;
    }

    /** Reads the parameters topic: counts updates and bytes, and optionally publish-to-visibility latency. */
    private static final class Counter extends Thread implements AutoCloseable {
        final LongAdder updates = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
        volatile boolean recordLatency;
        volatile long lastUpdateNanos = System.nanoTime();
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final String model;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);

        Counter(String bootstrap, String topic, String model) {
            super("bench-counter");
            setDaemon(true);
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
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
                            latencies.add((now - u.getLatestPublishedAtMs()) * 1000);
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
            synchronized (latencies) {
                return latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            join(5_000);
        }
    }

    /**
     * Consume -> produce copy of a backlog of {@code records} records of {@code recordBytes}, as fast as one thread
     * can; MB/s over the last three quarters of it, the window {@link #drain} uses.
     */
    private static double copyLoop(String bootstrap, int recordBytes, int records, Options o) throws Exception {
        String in = "bench-copy-in-" + System.nanoTime();
        String out = "bench-copy-out-" + System.nanoTime();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(in, PARTITIONS, (short) 1).configs(Map.of("max.message.bytes",
                    String.valueOf(16 << 20))), new NewTopic(out, PARTITIONS, (short) 1).configs(Map.of(
                    "max.message.bytes", String.valueOf(16 << 20))))).all().get();
        }
        byte[] value = new byte[recordBytes];
        new SplittableRandom(1).nextBytes(value);
        // Written in flushed chunks: a single 2 GiB burst made the broker fall behind.
        AtomicReference<Exception> failed = new AtomicReference<>();
        try (var p = producer(bootstrap)) {
            awaitLeaders(p, in);
            for (long i = 0; i < records && failed.get() == null; i++) {
                p.send(new ProducerRecord<>(in, ("k" + (i % 64)).getBytes(StandardCharsets.UTF_8), value),
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
        cp.put("bootstrap.servers", bootstrap);
        cp.put("group.id", "copy-" + System.nanoTime());
        cp.put("auto.offset.reset", "earliest");
        cp.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        long copied = 0;
        long windowBytes = 0;
        long start = 0;
        long deadline = System.nanoTime() + o.measure().toNanos() + o.warmup().toNanos() + Duration.ofMinutes(1)
                .toNanos();
        try (var c = new KafkaConsumer<byte[], byte[]>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                var p = producer(bootstrap)) {
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
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.deleteTopics(List.of(in, out)).all().get();
        }
        if (copied < records) {
            throw new IllegalStateException("copy loop: " + copied + " of " + records + " records copied in time");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return windowBytes / seconds / 1e6;
    }

    /** Waits until every partition of a topic just created has a leader in the producer's metadata. */
    private static void awaitLeaders(KafkaProducer<byte[], byte[]> p, String topic) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            var partitions = p.partitionsFor(topic);
            if (!partitions.isEmpty() && partitions.stream().allMatch(i -> i.leader() != null && !i.leader().isEmpty())) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("topic " + topic + " has partitions without a leader after 30 s");
    }

    static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
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

    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return -1;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

}
