package io.gradstream.bench;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.job.JobSettings;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.TensorPayload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The soak's traffic: one worker's gradients for every shard of the model, either as fast as the job takes them (the
 * probe) or paced at a rate, with a round of {@link HostileLoad} records every so often through the same producer;
 * and a reader of the rejected topic that accounts for every hostile record by its topic, partition and offset.
 */
final class SoakLoad implements AutoCloseable {

    private final JobSettings settings;
    private final String model;
    private final byte[][] payloads;
    private final HostileLoad hostile;
    private final KafkaProducer<byte[], byte[]> producer;
    private final AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
    private final AtomicReference<HostileLoad.Sent> lastAcked = new AtomicReference<>();
    private final AtomicReference<Exception> failed = new AtomicReference<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    /** Hostile records the broker acknowledged, matched with their rejections. */
    final HostileLedger ledger = new HostileLedger();

    final AtomicLong gradientsSent = new AtomicLong();
    private long step;
    private int shard;
    private Thread paced;

    SoakLoad(JobSettings settings, String model, int shards, int shardSize, HostileLoad hostile, long seed) {
        this.settings = settings;
        this.model = model;
        this.hostile = hostile;
        SplittableRandom rnd = new SplittableRandom(seed);
        payloads = new byte[shards][];
        for (int s = 0; s < shards; s++) {
            float[] g = new float[shardSize];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            payloads[s] = PayloadCodecs.fp32().encode(g);
        }
        Properties p = new Properties();
        p.putAll(settings.kafka().clientConfig());
        p.put("enable.idempotence", "false"); // as KafkaCopyLoop's: retries on brand-new topics
        p.put("linger.ms", "5");
        p.put("max.request.size", String.valueOf(16 << 20));
        // batch.size stays below a gradient record (64 KB): the producer keeps every freed batch buffer of exactly
        // batch.size for reuse, up to buffer.memory, so with 1 MiB batches each broker stall left up to 256 MiB of
        // pooled buffers in the heap this soak measures (149 of them in a 30-minute run on a busy machine).
        p.put("batch.size", String.valueOf(16 << 10));
        p.put("buffer.memory", String.valueOf(64L << 20));
        producer = new KafkaProducer<>(
                p,
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer());
    }

    /** Sends the next valid gradient: shard after shard, the worker's step counting up once per round. */
    private void sendGradient() {
        if (shard == 0) {
            step++;
        }
        int s = shard;
        shard = (shard + 1) % payloads.length;
        byte[] key = (model + "/w/" + s).getBytes(StandardCharsets.UTF_8);
        byte[] value = avro.encode(GradientBatch.newBuilder()
                .setModelId(model)
                .setTensor("w")
                .setShard(s)
                .setWorkerId("soak")
                .setWorkerStep(step)
                .setBaseVersion(0)
                .setNumExamples(1)
                .setPayload(new TensorPayload(Encoding.FP32, payloads[s].length / 4, ByteBuffer.wrap(payloads[s])))
                .setPublishedAtMs(System.currentTimeMillis())
                .build());
        producer.send(new ProducerRecord<>(settings.gradientsTopic(), key, value), (meta, e) -> {
            if (e != null) {
                failed.compareAndSet(null, e);
            } else {
                lastAcked.set(new HostileLoad.Sent(key, value));
            }
        });
        gradientsSent.incrementAndGet();
    }

    /** One round of hostile records; each acknowledged one is remembered by where it landed. */
    void sendHostileRound() {
        for (HostileLoad.Hostile h : hostile.round(lastAcked.get())) {
            String topic = h.kind().control() ? settings.controlTopic() : settings.gradientsTopic();
            producer.send(new ProducerRecord<>(topic, h.key(), h.value()), (meta, e) -> {
                if (e != null) {
                    failed.compareAndSet(
                            null,
                            new IllegalStateException(
                                    "sending a " + h.kind() + " record of " + h.value().length + " bytes failed: " + e,
                                    e));
                } else {
                    ledger.sent(topic + "/" + meta.partition() + "/" + meta.offset(), h.kind());
                }
            });
        }
    }

    /**
     * As fast as the job takes them for {@code length}, with at most {@code window} gradients sent but not yet
     * applied (so the probe measures the job, not how big a backlog the broker can hold); returns updates per second
     * over the second half.
     */
    double probe(Duration length, int window, LongSupplier updates) throws Exception {
        long base = updates.getAsLong();
        long sentBase = gradientsSent.get();
        long start = System.nanoTime();
        long end = start + length.toNanos();
        long half = start + length.toNanos() / 2;
        long halfUpdates = -1;
        long halfAt = 0;
        long applied = 0;
        long checked = 0;
        while (System.nanoTime() < end) {
            checkFailure();
            long now = System.nanoTime();
            if (now - checked > 20_000_000L) {
                applied = updates.getAsLong() - base;
                checked = now;
                if (halfUpdates < 0 && now >= half) {
                    halfUpdates = applied;
                    halfAt = now;
                }
            }
            if (gradientsSent.get() - sentBase - applied < window) {
                sendGradient();
            } else {
                Thread.sleep(2);
            }
        }
        long last = updates.getAsLong() - base;
        return (last - Math.max(0, halfUpdates)) / Math.max(1e-3, (System.nanoTime() - halfAt) / 1e9);
    }

    /** Starts the paced load: {@code rate} gradients per second, spread evenly, a hostile round every {@code every}. */
    void startPaced(double rate, Duration every) {
        paced = new Thread(
                () -> {
                    long start = System.nanoTime();
                    long sent = 0;
                    long nextHostile = start + every.toNanos();
                    try {
                        while (!stop.get()) {
                            long now = System.nanoTime();
                            if (now >= nextHostile) {
                                sendHostileRound();
                                nextHostile += every.toNanos();
                            }
                            long due = start + (long) (sent / rate * 1e9);
                            if (due > now) {
                                long wait = Math.min(due, nextHostile) - now;
                                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                                continue;
                            }
                            sendGradient();
                            sent++;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (RuntimeException e) {
                        failed.compareAndSet(null, e);
                    }
                },
                "soak-load");
        paced.setDaemon(true);
        paced.start();
    }

    void stopPaced() throws InterruptedException {
        stop.set(true);
        if (paced != null) {
            paced.join(30_000);
        }
        producer.flush();
    }

    void checkFailure() {
        if (failed.get() != null) {
            throw new IllegalStateException("the soak's producer failed: " + failed.get(), failed.get());
        }
    }

    @Override
    public void close() {
        stop.set(true);
        producer.close(Duration.ofSeconds(10));
    }

    /**
     * Matches hostile records with their rejections as either side arrives (a rejection can be read before the
     * producer's callback runs), keeping only what is still unmatched and counts: the soak must not grow its own heap
     * with bookkeeping.
     */
    static final class HostileLedger {
        private final Map<String, HostileLoad.Kind> outstanding = new HashMap<>();
        private final Map<String, String> unmatched = new HashMap<>();
        private final Map<HostileLoad.Kind, Map<String, Integer>> reasons = new EnumMap<>(HostileLoad.Kind.class);
        private long sent;

        synchronized void sent(String where, HostileLoad.Kind kind) {
            sent++;
            String reason = unmatched.remove(where);
            if (reason == null) {
                outstanding.put(where, kind);
            } else {
                reasons.computeIfAbsent(kind, k -> new TreeMap<>()).merge(reason, 1, Integer::sum);
            }
        }

        synchronized void rejected(String where, String reason) {
            HostileLoad.Kind kind = outstanding.remove(where);
            if (kind == null) {
                unmatched.put(where, reason);
            } else {
                reasons.computeIfAbsent(kind, k -> new TreeMap<>()).merge(reason, 1, Integer::sum);
            }
        }

        synchronized long sent() {
            return sent;
        }

        /** Hostile records without a rejection so far, as "topic/partition/offset KIND". */
        synchronized List<String> outstanding() {
            return outstanding.entrySet().stream()
                    .map(e -> e.getKey() + " " + e.getValue())
                    .sorted()
                    .toList();
        }

        /** Rejections of records that are not (yet) known as hostile, with their reasons. */
        synchronized Map<String, String> unmatched() {
            return new TreeMap<>(unmatched);
        }

        /** Per kind, the reasons its records were rejected with, and how often. */
        synchronized Map<HostileLoad.Kind, Map<String, Integer>> reasons() {
            Map<HostileLoad.Kind, Map<String, Integer>> copy = new EnumMap<>(HostileLoad.Kind.class);
            reasons.forEach((k, v) -> copy.put(k, new TreeMap<>(v)));
            outstanding
                    .values()
                    .forEach(k -> copy.computeIfAbsent(k, x -> new TreeMap<>()).merge("NOT REJECTED", 1, Integer::sum));
            return copy;
        }
    }

    /** Reads the rejected topic from the start: a total, and each rejection into the {@link HostileLedger}. */
    static final class RejectedReader extends Thread implements AutoCloseable {
        final AtomicLong total = new AtomicLong();
        private final HostileLedger ledger;
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AvroRecords<RejectedRecord> avro = new AvroRecords<>(RejectedRecord.class);

        RejectedReader(JobSettings s, HostileLedger ledger) {
            super("soak-rejected-reader");
            this.ledger = ledger;
            setDaemon(true);
            Properties p = new Properties();
            p.putAll(s.kafka().clientConfig());
            p.put("isolation.level", "read_committed");
            p.put("max.partition.fetch.bytes", String.valueOf(16 << 20));
            consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> tps = consumer.partitionsFor(s.rejectedTopic()).stream()
                    .map(i -> new TopicPartition(s.rejectedTopic(), i.partition()))
                    .toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        total.incrementAndGet();
                        try {
                            RejectedRecord rr = avro.decode(r.value());
                            ledger.rejected(
                                    rr.getSourceTopic() + "/" + rr.getPartition() + "/" + rr.getOffset(),
                                    rr.getReason().name());
                        } catch (java.io.IOException e) {
                            ledger.rejected("undecodable-rejection@" + r.offset(), "?");
                        }
                    }
                }
            } finally {
                consumer.close();
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            join(5_000);
        }
    }
}
