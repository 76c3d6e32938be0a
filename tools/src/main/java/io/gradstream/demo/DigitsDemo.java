package io.gradstream.demo;

import io.gradstream.client.GradientEncoding;
import io.gradstream.client.GradientPublisher;
import io.gradstream.client.ParameterSubscriber;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.SecureKafka;
import io.gradstream.model.ModelLayouts;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.TensorSpec;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The demo: K worker threads train softmax regression on the UCI digits through gradstream. Each worker owns a slice
 * of the data, waits for the parameters of step t, computes a minibatch gradient and publishes it; the service
 * averages the K contributions (SYNC) and applies Adam. Loss is measured on the whole dataset before and after.
 *
 * <p>With {@link DemoPrivacy} it is private per example: every worker picks its rows (a Poisson sample for DP-SGD, the
 * next batch of an epoch's shuffle for DP-FTRL), clips each example's gradient slice of shard s to the service's C_s,
 * and publishes the sum; the service adds the noise, divides by the expected batch and accounts epsilon.
 */
public final class DigitsDemo {
    private static final int BATCH = 64;

    /** The demo's optimizer settings (DP-SGD keeps them; DP-FTRL replaces them, see {@link DemoPrivacy}). */
    private static final Map<String, Object> ADAM = Map.of("lr", 0.05);

    /** What a run achieved; epsilon and noiseMultiplier are NaN without privacy. */
    public record Result(
            double firstLoss,
            double lastLoss,
            double firstAccuracy,
            double lastAccuracy,
            long steps,
            double gradientsPerSecond,
            double epsilon,
            double noiseMultiplier) {}

    /**
     * The Kafka client settings the demo uses: as the operator for its CREATE on the control topic, as a worker for
     * gradients and parameters (each a complete client configuration, bootstrap.servers included).
     *
     * @param workerKeys a folder for a fresh HMAC key per worker, which the model then requires on every gradient
     *     (authorised workers); null: any worker, unsigned
     */
    public record Clients(Map<String, Object> operator, Map<String, Object> worker, Path workerKeys) {
        /** Both as the job's settings configure clients: one identity for everything, unsigned gradients. */
        public static Clients of(JobSettings settings) {
            return new Clients(settings.kafka().clientConfig(), settings.kafka().clientConfig(), null);
        }
    }

    /** The id demo worker {@code w} publishes under. */
    static String workerId(int w) {
        return "worker-" + w;
    }

    private DigitsDemo() {}

    /**
     * The demo model; {@code encoding} also sets how parameters leave (see {@link DemoEncoding}).
     */
    static ModelSpec spec(int workers, DemoPrivacy dp, int steps, GradientEncoding encoding) {
        Encoding out = DemoEncoding.outputEncoding(encoding);
        return ModelSpec.newBuilder()
                .setTensors(List.of(
                        TensorSpec.newBuilder()
                                .setName("W")
                                .setShape(List.of(Digits.CLASSES, Digits.FEATURES))
                                .build(),
                        TensorSpec.newBuilder()
                                .setName("b")
                                .setShape(List.of(Digits.CLASSES))
                                .build()))
                .setShardSize(256)
                .setOptimizer(dp == null ? "Adam" : dp.optimizer("Adam"))
                .setHyperparameters(dp == null ? ADAM : dp.hyperparameters(ADAM))
                .setAggregation(AggregationSpec.newBuilder()
                        .setMode(AggregationMode.SYNC)
                        .setWorkers(workers)
                        .build())
                .setInit(InitSpec.newBuilder().build())
                .setOutputEncoding(out)
                .setPrivacy(dp == null ? null : dp.spec(workers, Digits.load().size(), steps))
                .build();
    }

    /** Runs the demo with {@code clients}' identities; {@code dp} null trains without privacy. */
    public static Result run(
            JobSettings settings, Clients clients, int workers, int steps, DemoPrivacy dp, PrintWriter out)
            throws Exception {
        return run(settings, clients, workers, steps, dp, GradientEncoding.of(Encoding.FP32), out);
    }

    /** As above, the workers sending gradients in {@code encoding} (see {@link DemoEncoding} for the parameters). */
    public static Result run(
            JobSettings settings,
            Clients clients,
            int workers,
            int steps,
            DemoPrivacy dp,
            GradientEncoding encoding,
            PrintWriter out)
            throws Exception {
        Digits data = Digits.load();
        String model = "digits-" + UUID.randomUUID().toString().substring(0, 8);
        ModelSpec spec = spec(workers, dp, steps, encoding);
        CompressionSpec compression = DemoEncoding.compression(encoding);
        PrivacyAccountingSpec accounting = dp == null ? null : dp.accounting(workers, data.size());
        try {
            // The job's own checks, before anything is sent.
            io.gradstream.model.ModelConfig.of(
                    model,
                    spec,
                    null,
                    io.gradstream.model.Limits.DEFAULT,
                    System::getenv,
                    null,
                    compression,
                    accounting);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid demo model: " + e.getMessage(), e);
        }
        Map<String, TensorLayout> layouts = ModelLayouts.of(spec);
        Map<String, double[]> thresholds = dp == null ? null : ModelLayouts.clipThresholds(spec);
        double sigma = dp == null ? Double.NaN : dp.noiseMultiplier(steps, workers, data.size());
        int[] all = java.util.stream.IntStream.range(0, data.size()).toArray();
        WorkerKeys keys = clients.workerKeys() == null ? null : WorkerKeys.create(clients.workerKeys(), workers);
        ControlCommand create = ControlCommand.newBuilder()
                .setModelId(model)
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .setIssuedAtMs(System.currentTimeMillis())
                .setWorkers(keys == null ? null : keys.references())
                .setCompression(compression)
                .setPrivacyAccounting(accounting)
                .build();
        try (var operator = producer(clients.operator())) {
            operator.send(new ProducerRecord<>(
                            settings.controlTopic(),
                            model.getBytes(StandardCharsets.UTF_8),
                            new AvroRecords<>(ControlCommand.class).encode(create)))
                    .get();
        }
        try (var producer = producer(clients.worker())) {
            out.printf(
                    "demo: model %s (softmax regression, 650 parameters in 4 shards), %d workers, %d steps, "
                            + "gradients %s, parameters %s%n",
                    model,
                    workers,
                    steps,
                    encoding,
                    compression != null && compression.getDeltaEncoding() != null
                            ? compression.getDeltaEncoding() + " deltas (full every " + DemoEncoding.SNAPSHOT_EVERY
                                    + ")"
                            : spec.getOutputEncoding());
            if (keys != null) {
                out.printf(
                        "demo: only workers %s may contribute; each signs its gradients (keys in %s)%n",
                        String.join(", ", keys.references().keySet()), clients.workerKeys());
            }
            if (dp != null) {
                out.println("demo: " + dp.describe(workers, data.size(), sigma));
            }
            out.flush();

            double[] lossSum = new double[steps];
            int[] reported = new int[steps];
            LongAdder published = new LongAdder();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                int worker = w;
                Thread t = new Thread(
                        () -> {
                            try (var consumer = consumer(settings, clients.worker())) {
                                work(
                                        worker,
                                        workers,
                                        steps,
                                        data,
                                        model,
                                        layouts,
                                        producer,
                                        consumer,
                                        settings,
                                        lossSum,
                                        reported,
                                        published,
                                        dp,
                                        thresholds,
                                        encoding,
                                        keys == null ? null : keys.key(workerId(worker)));
                            } catch (Throwable e) {
                                failure.compareAndSet(null, e);
                            }
                        },
                        "demo-worker-" + w);
                t.setDaemon(true);
                threads.add(t);
            }
            long start = System.nanoTime();
            threads.forEach(Thread::start);
            int printed = 0;
            while (printed < steps && failure.get() == null) {
                synchronized (lossSum) {
                    while (printed < steps && reported[printed] == workers) {
                        printed++;
                        if (printed % 10 == 0 || printed == steps || printed == 1) {
                            double seconds = (System.nanoTime() - start) / 1e9;
                            out.printf(
                                    Locale.ROOT,
                                    "step %4d/%d  loss %.4f  gradients/s %.0f%n",
                                    printed,
                                    steps,
                                    lossSum[printed - 1] / workers,
                                    published.sum() / Math.max(seconds, 1e-9));
                            out.flush();
                        }
                    }
                    if (printed < steps) {
                        lossSum.wait(200);
                    }
                }
            }
            for (Thread t : threads) {
                t.join(30_000);
            }
            if (failure.get() != null) {
                throw new IllegalStateException(
                        "demo worker failed: " + failure.get().getMessage(), failure.get());
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            try (var consumer = consumer(settings, clients.worker())) {
                ParameterSubscriber sub = new ParameterSubscriber(consumer, model, layouts);
                if (!sub.awaitVersion(steps, Duration.ofSeconds(30))) {
                    throw new IllegalStateException("parameters did not reach version " + steps);
                }
                float[] zeroW = new float[Digits.CLASSES * Digits.FEATURES];
                float[] zeroB = new float[Digits.CLASSES];
                double first = SoftmaxRegression.lossAndGradient(zeroW, zeroB, data.x(), data.y(), all, null, null);
                double firstAcc = SoftmaxRegression.accuracy(zeroW, zeroB, data.x(), data.y(), all);
                double last = SoftmaxRegression.lossAndGradient(
                        sub.tensor("W"), sub.tensor("b"), data.x(), data.y(), all, null, null);
                double lastAcc = SoftmaxRegression.accuracy(sub.tensor("W"), sub.tensor("b"), data.x(), data.y(), all);
                return new Result(
                        first, last, firstAcc, lastAcc, steps, published.sum() / seconds, sub.epsilonSpent(), sigma);
            }
        }
    }

    private static void work(
            int worker,
            int workers,
            int steps,
            Digits data,
            String model,
            Map<String, TensorLayout> layouts,
            KafkaProducer<byte[], byte[]> producer,
            KafkaConsumer<byte[], byte[]> consumer,
            JobSettings settings,
            double[] lossSum,
            int[] reported,
            LongAdder published,
            DemoPrivacy dp,
            Map<String, double[]> thresholds,
            GradientEncoding encoding,
            byte[] signingKey) {
        ParameterSubscriber params = new ParameterSubscriber(consumer, model, layouts);
        GradientPublisher publisher = new GradientPublisher(
                producer, settings.gradientsTopic(), model, layouts, workerId(worker), encoding, signingKey);
        // Each worker trains on its own slice: rows i with i % workers == worker.
        int[] slice = java.util.stream.IntStream.range(0, data.size())
                .filter(i -> i % workers == worker)
                .toArray();
        SplittableRandom rnd = new SplittableRandom(1000 + worker);
        DemoPrivacy.Rows rows = dp == null ? null : dp.rows(slice, workers, data.size(), rnd);
        float[] gW = new float[Digits.CLASSES * Digits.FEATURES];
        float[] gB = new float[Digits.CLASSES];
        int[] batch = new int[BATCH];
        for (int t = 0; t < steps; t++) {
            if (!params.awaitVersion(t, Duration.ofSeconds(60))) {
                throw new IllegalStateException("worker " + worker + ": no parameters of version " + t
                        + " after 60 s (see the Flink Web UI and the rejected topic)");
            }
            long version = t;
            double loss;
            if (dp == null) {
                for (int i = 0; i < BATCH; i++) {
                    batch[i] = slice[rnd.nextInt(slice.length)];
                }
                loss = SoftmaxRegression.lossAndGradient(
                        params.tensor("W"), params.tensor("b"), data.x(), data.y(), batch, gW, gB);
                publisher.publish("W", gW, t + 1, s -> version, BATCH, loss);
                publisher.publish("b", gB, t + 1, s -> version, BATCH, loss);
            } else {
                int[] sampled = rows.of(t);
                loss = ExampleClipping.clippedExampleSum(
                        params.tensor("W"), params.tensor("b"), data, sampled, layouts, thresholds, gW, gB);
                publisher.publish("W", gW, t + 1, s -> version, sampled.length, loss);
                publisher.publish("b", gB, t + 1, s -> version, sampled.length, loss);
            }
            publisher.flush();
            published.add(layouts.get("W").shardCount() + layouts.get("b").shardCount());
            synchronized (lossSum) {
                lossSum[t] += Double.isNaN(loss) ? 0 : loss;
                reported[t]++;
                lossSum.notifyAll();
            }
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("linger.ms", "0");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<byte[], byte[]> consumer(JobSettings settings, Map<String, Object> client) {
        Properties p = new Properties();
        p.putAll(client);
        // A workers' group: where ACLs guard consumer groups (gradstream local --secure), workers own these.
        p.put("group.id", SecureKafka.WORKER_GROUP_PREFIX + "demo-" + UUID.randomUUID());
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("isolation.level", "read_committed");
        p.put("fetch.max.wait.ms", "5");
        var c = new KafkaConsumer<byte[], byte[]>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(settings.parametersTopic()));
        return c;
    }
}
