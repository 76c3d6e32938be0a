package io.gradstream.bench;

import io.gradstream.client.GradientEncoding;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.demo.DemoEncoding;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The pipeline benchmark's synthetic load: the model it creates, one fixed gradient per shard in the encoding under
 * test, the records that carry them, a backlog written before the job starts, and publisher threads (as fast as
 * possible or paced).
 */
final class BenchLoad {
    private BenchLoad() {}

    /** Writes {@code records} gradients, shard after shard, from one worker whose steps count up. */
    static void writeBacklog(Map<String, Object> client, String topic, String model, byte[][] payloads, int records)
            throws Exception {
        writeBacklog(client, topic, model, payloads, records, Encoding.FP32, 0);
    }

    /**
     * As above, payloads in {@code encoding} of {@code elements} elements each (0: FP32's byte count / 4).
     */
    static void writeBacklog(
            Map<String, Object> client,
            String topic,
            String model,
            byte[][] payloads,
            int records,
            Encoding encoding,
            int elements)
            throws Exception {
        AtomicReference<Exception> failed = new AtomicReference<>();
        // One request in flight: this producer is not idempotent (see KafkaCopyLoop.producer), and a retried batch
        // overtaken by the next one would put a worker's steps out of order, which the job rejects as DUPLICATE
        // below its watermark (seen: 6 of 3200 backlog gradients rejected in one of ~45 drains).
        try (var p = KafkaCopyLoop.producer(client, 1)) {
            KafkaCopyLoop.awaitLeaders(p, topic);
            for (int i = 0; i < records && failed.get() == null; i++) {
                int shard = i % payloads.length;
                byte[] key = (model + "/w/" + shard).getBytes(StandardCharsets.UTF_8);
                p.send(
                        new ProducerRecord<>(
                                topic,
                                key,
                                gradientRecord(
                                        model,
                                        shard,
                                        "backlog",
                                        i / payloads.length + 1,
                                        encoding,
                                        elements > 0 ? elements : payloads[shard].length / 4,
                                        payloads[shard])),
                        KafkaCopyLoop.failureInto(failed));
                if (i % 256 == 255) {
                    p.flush();
                }
            }
        }
        if (failed.get() != null) {
            throw new IllegalStateException("writing the gradient backlog failed: " + failed.get(), failed.get());
        }
    }

    static void createModel(Map<String, Object> client, String topic, String model, PipelineBenchmark.Options o)
            throws Exception {
        createModel(client, topic, model, o, GradientEncoding.of(Encoding.FP32));
    }

    /**
     * Creates the benchmark's model for gradients in {@code encoding}, with the demo's rule for what leaves
     * ({@code DemoEncoding}): FP16 and BF16 gradients are the only ones accepted and the parameters leave in that
     * encoding; INT8_BLOCK and TOPK gradients come with an INT8_BLOCK delta stream and a full FP32 snapshot every
     * {@value DemoEncoding#SNAPSHOT_EVERY} versions; FP32 is a model without compression settings.
     */
    static void createModel(
            Map<String, Object> client,
            String topic,
            String model,
            PipelineBenchmark.Options o,
            GradientEncoding encoding)
            throws Exception {
        ModelSpec spec = ModelSpec.newBuilder()
                .setTensors(List.of(TensorSpec.newBuilder()
                        .setName("w")
                        .setShape(List.of(o.shards() * o.shardSize()))
                        .build()))
                .setShardSize(o.shardSize())
                .setOptimizer("Adam")
                .setHyperparameters(Map.of("lr", 1e-4))
                .setAggregation(AggregationSpec.newBuilder()
                        .setMode(AggregationMode.ASYNC)
                        .setMaxStaleness(Integer.MAX_VALUE)
                        .build())
                .setInit(InitSpec.newBuilder().build())
                .setOutputEncoding(DemoEncoding.outputEncoding(encoding))
                .build();
        try (var p = KafkaCopyLoop.producer(client)) {
            p.send(new ProducerRecord<>(
                            topic,
                            model.getBytes(StandardCharsets.UTF_8),
                            new AvroRecords<>(ControlCommand.class)
                                    .encode(ControlCommand.newBuilder()
                                            .setModelId(model)
                                            .setType(CommandType.CREATE)
                                            .setSpec(spec)
                                            .setCompression(DemoEncoding.compression(encoding))
                                            .build())))
                    .get();
        }
    }

    static byte[][] payloads(PipelineBenchmark.Options o) {
        return payloads(o, GradientEncoding.of(Encoding.FP32));
    }

    /**
     * One gradient per shard, encoded once in {@code encoding} (what a worker's codec makes of it; the worker's own
     * encode cost and error feedback are the worker's, not the service's, and stay out of the measurement).
     */
    static byte[][] payloads(PipelineBenchmark.Options o, GradientEncoding encoding) {
        SplittableRandom rnd = new SplittableRandom(3);
        byte[][] out = new byte[o.shards()][];
        for (int s = 0; s < o.shards(); s++) {
            float[] g = new float[o.shardSize()];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            PayloadCodec codec = encoding.codec(g.length);
            ByteBuffer dst = ByteBuffer.allocate(codec.maxEncodedSize(g.length));
            int n = codec.encode(g, 0, g.length, dst);
            out[s] = java.util.Arrays.copyOf(dst.array(), n);
        }
        return out;
    }

    private static final ThreadLocal<AvroRecords<GradientBatch>> GRADIENTS =
            ThreadLocal.withInitial(() -> new AvroRecords<>(GradientBatch.class));

    static byte[] gradientRecord(String model, int shard, String worker, long step, byte[] payload) {
        return gradientRecord(model, shard, worker, step, Encoding.FP32, payload.length / 4, payload);
    }

    static byte[] gradientRecord(
            String model, int shard, String worker, long step, Encoding encoding, int elements, byte[] payload) {
        return GRADIENTS
                .get()
                .encode(GradientBatch.newBuilder()
                        .setModelId(model)
                        .setTensor("w")
                        .setShard(shard)
                        .setWorkerId(worker)
                        .setWorkerStep(step)
                        .setBaseVersion(0)
                        .setNumExamples(1)
                        .setPayload(new TensorPayload(encoding, elements, ByteBuffer.wrap(payload)))
                        .setPublishedAtMs(System.currentTimeMillis())
                        .build());
    }

    /** @param ratePerSecond 0 for as fast as possible, else the total records/s over all publishers */
    static List<Thread> startPublishers(
            Map<String, Object> client,
            String topic,
            String model,
            PipelineBenchmark.Options o,
            byte[][] payloads,
            AtomicBoolean stop,
            double ratePerSecond) {
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < o.workers(); w++) {
            String worker = "w" + w + "-" + System.nanoTime();
            Thread t = new Thread(
                    () -> {
                        try (var p = KafkaCopyLoop.producer(client)) {
                            long step = 0;
                            long sent = 0;
                            long start = System.nanoTime();
                            double perThread = ratePerSecond / o.workers();
                            while (!stop.get()) {
                                step++;
                                for (int s = 0; s < payloads.length && !stop.get(); s++) {
                                    if (perThread > 0) {
                                        // Paced runs spread the records evenly: a load is a rate. Sending a
                                        // step's shards in one burst would measure the burst's transfer time
                                        // (shards x record size over the pipe's MB/s) on top of the latency.
                                        long due = start + (long) (sent / perThread * 1e9);
                                        long wait = due - System.nanoTime();
                                        if (wait > 0) {
                                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                                        }
                                    }
                                    byte[] key = (model + "/w/" + s).getBytes(StandardCharsets.UTF_8);
                                    p.send(new ProducerRecord<>(
                                            topic, key, gradientRecord(model, s, worker, step, payloads[s])));
                                    sent++;
                                }
                            }
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    },
                    "bench-publisher-" + w);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        return threads;
    }
}
