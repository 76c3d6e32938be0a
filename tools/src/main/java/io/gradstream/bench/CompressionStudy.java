package io.gradstream.bench;

import io.gradstream.client.GradientEncoding;
import io.gradstream.client.GradientPublisher;
import io.gradstream.client.ParameterSubscriber;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.demo.Digits;
import io.gradstream.job.JobSettings;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.model.ModelLayouts;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code gradstream bench compression}: trains the digits demo model and an MLP through the service (embedded Kafka,
 * the job as {@code gradstream local} runs it) once per gradient/parameter encoding, all runs side by side with the
 * same seed, minibatches and steps, and records loss and accuracy against steps and against the record bytes on
 * {@code gradients} and {@code parameters}, into a CSV, PNG plots and a summary table. Error feedback after Seide et
 * al. 2014 (1-bit SGD) and Karimireddy et al. 2019 (EF-SGD); top-k sparsification after Stich et al. 2018.
 */
public final class CompressionStudy {

    /**
     * What to run.
     *
     * @param encodings run specifications {@code GRADIENTS[/PARAMETERS]} (see {@link Run#parse}); empty: the defaults
     *     of each optimizer ({@link #ADAM_RUNS}, {@link #SGD_RUNS})
     * @param evalEvery steps between two evaluations of the whole data set (the last step is always evaluated)
     */
    public record Options(
            int steps,
            Path out,
            List<String> models,
            List<String> optimizers,
            List<String> encodings,
            int evalEvery,
            int snapshotEvery,
            int hidden,
            long seed,
            Configuration flink) {}

    /** One row of the summary table. */
    public record Summary(
            String model,
            String optimizer,
            String run,
            double gradientBytesPerStep,
            double parameterBytesPerStep,
            double ratioToFp32,
            double loss,
            double accuracy,
            double accuracyMinusFp32) {}

    /** What the study wrote. */
    public record Result(Path csv, List<Path> plots, List<Summary> summary, double seconds) {}

    /**
     * The runs for Adam when none are named: every encoding, lossy ones with and without the worker's error feedback;
     * TOPK 1 % gradients also beside full FP32 parameters (the gradient side alone) and with INT8 or TOPK 30 % deltas.
     */
    public static final List<String> ADAM_RUNS = List.of(
            "fp32",
            "bf16",
            "fp16",
            "int8",
            "int8:noef",
            "topk:0.01",
            "topk:0.01:noef",
            "topk:0.1",
            "topk:0.1:noef",
            "topk:0.01/fp32",
            "topk:0.01:noef/fp32",
            "topk:0.01/int8",
            "topk:0.01/topk:0.3");

    /** The runs for SGD with momentum when none are named: the TOPK 1 % set of Adam's, with and without feedback. */
    public static final List<String> SGD_RUNS = List.of(
            "fp32",
            "bf16",
            "topk:0.01",
            "topk:0.01:noef",
            "topk:0.01/fp32",
            "topk:0.01:noef/fp32",
            "topk:0.01/int8",
            "topk:0.01:noef/int8",
            "topk:0.01/topk:0.3");

    static final int BATCH = 64;
    private static final int PARTITIONS = 2;

    private CompressionStudy() {}

    /**
     * One training run: gradients in {@code gradients}, parameters as full snapshots in {@code output} or, when
     * {@code delta} is not null, as a delta stream in that encoding (TOPK with {@code deltaFraction}).
     */
    record Run(String label, GradientEncoding gradients, Encoding output, Encoding delta, double deltaFraction) {

        /**
         * Reads {@code GRADIENTS[/PARAMETERS]}: gradients as {@link GradientEncoding#parse} reads them ({@code :noef}
         * turns the worker's error feedback off); parameters {@code fp32}, {@code bf16} or {@code fp16} for full
         * snapshots, {@code int8} or {@code topk:F} for a delta stream (whose server-side residual is always on: it is
         * what keeps the subscribers' copy equal to the job's). Without {@code /}: FP32, BF16, FP16 gradients get
         * snapshots in their encoding, INT8_BLOCK and TOPK a delta stream in theirs.
         */
        static Run parse(String text) {
            String[] parts = text.trim().split("/", -1);
            if (parts.length > 2) {
                throw new IllegalArgumentException("run '" + text + "': use GRADIENTS[/PARAMETERS]");
            }
            GradientEncoding g = GradientEncoding.parse(parts[0]);
            String p = parts.length == 2
                    ? parts[1].trim().toLowerCase(Locale.ROOT)
                    : switch (g.encoding()) {
                        case TOPK -> "topk:" + g.topKFraction();
                        default ->
                            parts[0].trim()
                                    .toLowerCase(Locale.ROOT)
                                    .replace(":noef", "")
                                    .replace(":ef", "");
                    };
            if (p.startsWith("topk:")) {
                double f;
                try {
                    f = Double.parseDouble(p.substring(5));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("run '" + text + "': bad TOPK fraction in '" + p + "'");
                }
                return new Run(text.trim(), g, Encoding.FP32, Encoding.TOPK, f);
            }
            return switch (p) {
                case "fp32" -> new Run(text.trim(), g, Encoding.FP32, null, 0.01);
                case "bf16" -> new Run(text.trim(), g, Encoding.BF16, null, 0.01);
                case "fp16" -> new Run(text.trim(), g, Encoding.FP16, null, 0.01);
                case "int8" -> new Run(text.trim(), g, Encoding.FP32, Encoding.INT8_BLOCK, 0.01);
                default ->
                    throw new IllegalArgumentException("run '" + text + "': parameters must be fp32, bf16, fp16, int8 "
                            + "or topk:FRACTION, got '" + p + "'");
            };
        }

        /** The CREATE's compression settings; null (today's behaviour) for FP32 in and out. */
        CompressionSpec compression(int snapshotEvery) {
            if (gradients.encoding() == Encoding.FP32 && output == Encoding.FP32 && delta == null) {
                return null;
            }
            return CompressionSpec.newBuilder()
                    .setInputEncodings(List.of(gradients.encoding()))
                    .setDeltaEncoding(delta)
                    .setDeltaTopKFraction(deltaFraction)
                    .setSnapshotEvery(snapshotEvery)
                    .build();
        }

        /** How parameters leave, short, for a legend: fp32, bf16, fp16, int8 delta, topk 0.01 delta. */
        String shortParameters() {
            if (delta == null) {
                return output.toString().toLowerCase(Locale.ROOT);
            }
            return (delta == Encoding.TOPK ? "topk " + deltaFraction : "int8") + " delta";
        }

        /** How parameters leave, for the table. */
        String parameters() {
            if (delta == null) {
                return output + " full";
            }
            return (delta == Encoding.TOPK ? "TOPK " + deltaFraction : delta.toString()) + " delta";
        }
    }

    /** A run of one model and optimizer: its service model, and what the worker and the byte counter saw. */
    static final class Trial {
        final StudyNet net;
        final String optimizer;
        final Run run;
        final String modelId;
        final ModelSpec spec;
        final Map<String, TensorLayout> layouts;
        final ParameterSubscriber subscriber;
        final int shards;
        final double[] batchLoss;
        final double[] loss;
        final double[] accuracy;
        final long[] gradientBytes;
        final long[] parameterBytes;
        final int[] parameterRecords;
        volatile int step;

        Trial(StudyNet net, String optimizer, Run run, String modelId, ModelSpec spec, int steps) {
            this.net = net;
            this.optimizer = optimizer;
            this.run = run;
            this.modelId = modelId;
            this.spec = spec;
            this.layouts = ModelLayouts.of(spec);
            this.subscriber = new ParameterSubscriber(null, modelId, layouts);
            this.shards =
                    layouts.values().stream().mapToInt(TensorLayout::shardCount).sum();
            this.batchLoss = nans(steps + 1);
            this.loss = nans(steps + 1);
            this.accuracy = nans(steps + 1);
            this.gradientBytes = new long[steps + 1];
            this.parameterBytes = new long[steps + 1];
            this.parameterRecords = new int[steps + 1];
        }

        private static double[] nans(int n) {
            double[] a = new double[n];
            java.util.Arrays.fill(a, Double.NaN);
            return a;
        }
    }

    public static Result run(Options o, PrintWriter out) throws Exception {
        if (o.steps() < 1 || o.evalEvery() < 1 || o.snapshotEvery() < 1 || o.hidden() < 1) {
            throw new IllegalArgumentException("--steps, --eval-every, --snapshot-every and --hidden must be >= 1");
        }
        Digits data = Digits.load();
        List<Trial> trials = trials(o);
        Files.createDirectories(o.out());
        try (BenchServices services = BenchServices.open("compression")) {
            JobSettings s = services.startBrokerAndJob(o.flink(), PARTITIONS);
            out.printf(
                    Locale.ROOT,
                    "compression study: %d runs (%s x %s), %d steps each, batch %d, seed %d, delivery %s; web UI %s%n",
                    trials.size(),
                    String.join(",", o.models()),
                    String.join(",", o.optimizers()),
                    o.steps(),
                    BATCH,
                    o.seed(),
                    s.delivery(),
                    services.local().webUrl());
            out.flush();
            long start = System.nanoTime();
            train(o, s, data, trials, out);
            double seconds = (System.nanoTime() - start) / 1e9;
            return CompressionReport.report(o, trials, seconds, out);
        }
    }

    static List<Trial> trials(Options o) {
        List<Trial> trials = new ArrayList<>();
        for (String m : o.models()) {
            StudyNet net = switch (m) {
                case "digits" -> StudyNet.DIGITS;
                case "mlp" -> StudyNet.mlp(o.hidden());
                default -> throw new IllegalArgumentException("unknown model '" + m + "': use digits or mlp");
            };
            for (String opt : o.optimizers()) {
                if (!opt.equals("adam") && !opt.equals("amsgrad") && !opt.equals("sgd")) {
                    throw new IllegalArgumentException("unknown optimizer '" + opt + "': use adam, amsgrad or sgd");
                }
                List<String> runs = !o.encodings().isEmpty() ? o.encodings() : opt.equals("sgd") ? SGD_RUNS : ADAM_RUNS;
                for (String r : runs) {
                    Run run = Run.parse(r);
                    // Ids of one length, so that every run's records carry the same key and id overhead.
                    String id = String.format(Locale.ROOT, "study-%03d", trials.size());
                    ModelSpec spec = ModelSpec.newBuilder(spec(net, opt, o))
                            .setOutputEncoding(run.output())
                            .build();
                    CompressionSpec c = run.compression(o.snapshotEvery());
                    ModelConfig.of(id, spec, null, Limits.DEFAULT, System::getenv, null, c); // the job's own checks
                    trials.add(new Trial(net, opt, run, id, spec, o.steps()));
                }
            }
        }
        return trials;
    }

    /**
     * The service model: Adam (lr 0.05 for the demo's model as the demo uses, 0.01 for the MLP) or SGD with momentum
     * 0.9 (lr 0.05), SYNC over one worker.
     */
    static ModelSpec spec(StudyNet net, String optimizer, Options o) {
        Map<String, Object> hp = new HashMap<>();
        if (!optimizer.equals("sgd")) {
            hp.put("lr", net == StudyNet.DIGITS ? 0.05 : 0.01);
            if (optimizer.equals("amsgrad")) {
                hp.put("amsgrad", true);
            }
        } else {
            hp.put("lr", 0.05);
            hp.put("momentum", 0.9);
        }
        return ModelSpec.newBuilder()
                .setTensors(net.tensors())
                .setShardSize(net.shardSize())
                .setOptimizer(optimizer.equals("sgd") ? "SGD" : "Adam")
                .setHyperparameters(hp)
                .setAggregation(AggregationSpec.newBuilder()
                        .setMode(AggregationMode.SYNC)
                        .setWorkers(1)
                        .build())
                .setInit(net.init(o.seed()))
                .setOutputEncoding(Encoding.FP32)
                .build();
    }

    private static void train(Options o, JobSettings s, Digits data, List<Trial> trials, PrintWriter out)
            throws Exception {
        Map<String, Trial> byModel = new HashMap<>();
        trials.forEach(t -> byModel.put(t.modelId, t));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread reader = new Thread(() -> read(s, byModel, o.steps(), stop, failure), "compression-study-reader");
        reader.setDaemon(true);
        reader.start();
        Properties pp = new Properties();
        pp.putAll(s.kafka().clientConfig());
        pp.put("linger.ms", "0"); // idempotent (the default): a retried send is never a second gradient
        try (var producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Trial t : trials) {
                producer.send(new ProducerRecord<>(
                                s.controlTopic(),
                                t.modelId.getBytes(StandardCharsets.UTF_8),
                                new AvroRecords<>(ControlCommand.class)
                                        .encode(ControlCommand.newBuilder()
                                                .setModelId(t.modelId)
                                                .setType(CommandType.CREATE)
                                                .setSpec(t.spec)
                                                .setIssuedAtMs(System.currentTimeMillis())
                                                .setCompression(t.run.compression(o.snapshotEvery()))
                                                .build())))
                        .get();
            }
            List<Thread> workers = new ArrayList<>();
            for (Trial t : trials) {
                Thread w = new Thread(
                        () -> {
                            try {
                                work(o, s, data, t, producer);
                            } catch (Throwable e) {
                                failure.compareAndSet(
                                        null,
                                        new IllegalStateException(t.modelId + " (" + t.run.label() + "): " + e, e));
                            }
                        },
                        "study-" + t.modelId);
                w.setDaemon(true);
                workers.add(w);
                w.start();
            }
            long lastPrint = System.nanoTime();
            while (workers.stream().anyMatch(Thread::isAlive) && failure.get() == null) {
                Thread.sleep(200);
                if (System.nanoTime() - lastPrint > 10e9) {
                    lastPrint = System.nanoTime();
                    int min = trials.stream().mapToInt(t -> t.step).min().orElse(0);
                    out.printf("compression study: every run at step >= %d of %d%n", min, o.steps());
                    out.flush();
                }
            }
            if (failure.get() != null) {
                throw new IllegalStateException(
                        "compression study failed: " + failure.get().getMessage(), failure.get());
            }
            // The byte counter reads what the job wrote for the last version too.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!trials.stream().allMatch(t -> counted(t, o.steps()))) {
                if (System.nanoTime() > deadline || failure.get() != null) {
                    throw new IllegalStateException("the byte counter did not see every update of the last version");
                }
                Thread.sleep(50);
            }
        } finally {
            stop.set(true);
            reader.join(10_000);
        }
    }

    private static boolean counted(Trial t, int steps) {
        synchronized (t) {
            return t.parameterRecords[steps] >= t.shards;
        }
    }

    /**
     * The one consumer of {@code gradients} and {@code parameters}: counts every record's key and value bytes by model
     * and step (a gradient's workerStep, an update's version) and hands parameter records to the run's subscriber.
     */
    private static void read(
            JobSettings s, Map<String, Trial> byModel, int steps, AtomicBoolean stop, AtomicReference<Throwable> fail) {
        Properties p = new Properties();
        p.putAll(s.kafka().clientConfig());
        p.put("group.id", "compression-study-" + java.util.UUID.randomUUID());
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("isolation.level", "read_committed");
        p.put("fetch.max.wait.ms", "5");
        AvroRecords<GradientBatch> gradients = new AvroRecords<>(GradientBatch.class);
        AvroRecords<ParameterUpdate> updates = new AvroRecords<>(ParameterUpdate.class);
        try (var c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(s.gradientsTopic(), s.parametersTopic()));
            while (!stop.get()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(20))) {
                    if (r.key() == null || r.value() == null) {
                        continue;
                    }
                    String key = new String(r.key(), StandardCharsets.UTF_8);
                    int slash = key.indexOf('/');
                    Trial t = byModel.get(slash < 0 ? key : key.substring(0, slash));
                    if (t == null) {
                        continue;
                    }
                    long bytes = r.key().length + r.value().length;
                    if (r.topic().equals(s.gradientsTopic())) {
                        GradientBatch g = gradients.decode(r.value());
                        // INIT records (the MLP's initial values) count at step 0, before training.
                        long step = g.getKind() == GradientKind.INIT ? 0 : g.getWorkerStep();
                        synchronized (t) {
                            t.gradientBytes[(int) Math.max(0, Math.min(step, steps))] += bytes;
                        }
                    } else {
                        long version = updates.decode(r.value()).getVersion();
                        synchronized (t) {
                            if (version <= steps) {
                                t.parameterBytes[(int) version] += bytes;
                                t.parameterRecords[(int) version]++;
                            }
                            t.subscriber.accept(r.value());
                            t.notifyAll();
                        }
                    }
                }
            }
        } catch (Throwable e) {
            fail.compareAndSet(null, e);
        }
    }

    private static void work(Options o, JobSettings s, Digits data, Trial t, KafkaProducer<byte[], byte[]> producer)
            throws Exception {
        GradientPublisher publisher = new GradientPublisher(
                producer, s.gradientsTopic(), t.modelId, t.layouts, "w0", t.run.gradients(), null);
        int[] all = IntStream.range(0, data.size()).toArray();
        // The same minibatches for every run.
        SplittableRandom rnd = new SplittableRandom(o.seed());
        Map<String, float[]> grads = new LinkedHashMap<>();
        t.layouts.forEach((name, l) -> grads.put(name, new float[(int) l.elements()]));
        int[] batch = new int[BATCH];
        Map<String, float[]> init = t.net.initialValues(o.seed());
        if (init != null) {
            init.forEach(publisher::publishInitialValues);
            publisher.flush();
        }
        for (int step = 0; step <= o.steps(); step++) {
            Map<String, float[]> params = await(t, step);
            if (step % o.evalEvery() == 0 || step == o.steps()) {
                double[] e = t.net.evaluate(params, data, all);
                t.loss[step] = e[0];
                t.accuracy[step] = e[1];
            }
            t.step = step;
            if (step == o.steps()) {
                break;
            }
            for (int i = 0; i < BATCH; i++) {
                batch[i] = rnd.nextInt(data.size());
            }
            double loss = t.net.lossAndGradient(params, data, batch, grads);
            t.batchLoss[step + 1] = loss;
            long base = step;
            for (var g : grads.entrySet()) {
                publisher.publish(g.getKey(), g.getValue(), step + 1, sh -> base, BATCH, loss);
            }
            publisher.flush();
        }
    }

    /** The run's parameters at {@code version}, copied out of the subscriber once every shard has it. */
    private static Map<String, float[]> await(Trial t, long version) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        synchronized (t) {
            while (t.subscriber.minVersion() < version) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("no parameters of version " + version + " after 120 s");
                }
                t.wait(Math.max(1, left / 1_000_000));
            }
            if (t.subscriber.gaps() > 0) {
                throw new IllegalStateException("the subscriber saw a gap in the delta stream");
            }
            Map<String, float[]> copy = new LinkedHashMap<>();
            t.layouts.keySet().forEach(n -> copy.put(n, t.subscriber.tensor(n).clone()));
            return copy;
        }
    }
}
