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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
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
    /** Hostile records the broker acknowledged: "topic/partition/offset" to kind. */
    final Map<String, HostileLoad.Kind> hostileSent = new ConcurrentHashMap<>();
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
        producer = PipelineBenchmark.producer(settings.bootstrapServers());
    }

    /** Sends the next valid gradient: shard after shard, the worker's step counting up once per round. */
    private void sendGradient() {
        if (shard == 0) {
            step++;
        }
        int s = shard;
        shard = (shard + 1) % payloads.length;
        byte[] key = (model + "/w/" + s).getBytes(StandardCharsets.UTF_8);
        byte[] value = avro.encode(GradientBatch.newBuilder().setModelId(model).setTensor("w").setShard(s)
                .setWorkerId("soak").setWorkerStep(step).setBaseVersion(0).setNumExamples(1)
                .setPayload(new TensorPayload(Encoding.FP32, payloads[s].length / 4, ByteBuffer.wrap(payloads[s])))
                .setPublishedAtMs(System.currentTimeMillis()).build());
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
                    failed.compareAndSet(null, new IllegalStateException("sending a " + h.kind() + " record of "
                            + h.value().length + " bytes failed: " + e, e));
                } else {
                    hostileSent.put(topic + "/" + meta.partition() + "/" + meta.offset(), h.kind());
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
        paced = new Thread(() -> {
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
        }, "soak-load");
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

    /** Reads the rejected topic from the start: a total, and where each rejected record was read from. */
    static final class RejectedReader extends Thread implements AutoCloseable {
        final AtomicLong total = new AtomicLong();
        /** "topic/partition/offset" of each rejected input, to its reason. */
        final Map<String, String> sources = new ConcurrentHashMap<>();
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AvroRecords<RejectedRecord> avro = new AvroRecords<>(RejectedRecord.class);

        RejectedReader(JobSettings s) {
            super("soak-rejected-reader");
            setDaemon(true);
            Properties p = new Properties();
            p.put("bootstrap.servers", s.bootstrapServers());
            p.put("isolation.level", "read_committed");
            p.put("max.partition.fetch.bytes", String.valueOf(16 << 20));
            consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> tps = consumer.partitionsFor(s.rejectedTopic()).stream()
                    .map(i -> new TopicPartition(s.rejectedTopic(), i.partition())).toList();
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
                            sources.put(rr.getSourceTopic() + "/" + rr.getPartition() + "/" + rr.getOffset(),
                                    rr.getReason().name());
                        } catch (java.io.IOException e) {
                            sources.put("undecodable-rejection@" + r.offset(), "?");
                        }
                    }
                }
            } finally {
                consumer.close();
            }
        }

        /** The hostile records sent that have no rejection yet. */
        Set<String> missing(Map<String, HostileLoad.Kind> sent) {
            Set<String> m = new java.util.TreeSet<>(sent.keySet());
            m.removeAll(sources.keySet());
            return m;
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            join(5_000);
        }
    }
}
