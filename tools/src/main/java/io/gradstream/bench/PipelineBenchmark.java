package io.gradstream.bench;

import io.gradstream.client.GradientEncoding;
import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.schemas.Encoding;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;

/**
 * End-to-end pipeline benchmark on an embedded broker (or the Kafka that {@code gradstream.kafka.bootstrap-servers}
 * names) and {@code gradstream local}, synthetic gradients for M shards
 * (ASYNC, every contribution applied), repeated {@code runs} times. Each run: two Kafka copy loops (one thread, and a
 * consumer thread feeding a producer thread) drain a backlog of the drain phase's own gradient records (the pipe's
 * limit); the job drains a backlog of as many gradients under the same conditions, once per encoding under test; then,
 * for FP32, K live publishers and a reader give live input/output MB/s, and publish-to-visibility latency at half that
 * load over a window of its own length. Layout and history: docs/benchmarks.md, "Pipeline".
 */
public final class PipelineBenchmark {

    /**
     * What to run.
     *
     * @param runs whole measurements, each on a fresh broker, topics and job (the JVM, and so the JIT's work, is
     *     shared)
     * @param parallelism the job's parallelism
     * @param encodings the gradient encodings whose drain is measured, FP32 (the baseline) first; run r drains
     *     them rotated by r ({@link PipelineBenchmark#drainOrder})
     * @param latency how long the paced publishers of the latency phase run; every update they cause is a sample. It is
     *     its own setting, not derived from {@code measure}: at-least-once checkpoints come every 10 s, and a window of
     *     about one interval makes p99 a matter of whether a checkpoint's stall fell into it
     * @param broker settings of the embedded broker that add to or replace its own ({@link EmbeddedKafka}), e.g.
     *     Kafka's defaults for flushing; refused with an external broker, which has its own configuration
     */
    public record Options(
            int shards,
            int shardSize,
            int workers,
            Duration warmup,
            Duration measure,
            Configuration flink,
            int runs,
            int parallelism,
            List<GradientEncoding> encodings,
            Duration latency,
            LatencySplit split,
            Map<String, String> broker) {

        /** The latency phase's default length: three at-least-once checkpoint intervals (10 s each). */
        public static final Duration DEFAULT_LATENCY = Duration.ofSeconds(30);

        public Options {
            if (runs < 1 || parallelism < 1) {
                throw new IllegalArgumentException("--runs and --parallelism must be >= 1");
            }
            if (latency.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("--latency-duration must be >= 1 s, not " + latency);
            }
            List<GradientEncoding> list = new ArrayList<>();
            list.add(GradientEncoding.of(Encoding.FP32));
            for (GradientEncoding e : encodings) {
                if (!list.contains(e)) {
                    list.add(e);
                }
            }
            encodings = List.copyOf(list);
            broker = Map.copyOf(broker);
            if (!broker.isEmpty() && flink.getString("gradstream.kafka.bootstrap-servers", null) != null) {
                throw new IllegalArgumentException("--broker sets the embedded broker; with --bootstrap-servers there "
                        + "is none (configure that broker itself)");
            }
        }

        /** One run at parallelism 1, FP32 only. */
        public Options(int shards, int shardSize, int workers, Duration warmup, Duration measure, Configuration flink) {
            this(
                    shards,
                    shardSize,
                    workers,
                    warmup,
                    measure,
                    flink,
                    1,
                    1,
                    List.of(),
                    DEFAULT_LATENCY,
                    LatencySplit.SEND,
                    Map.of());
        }
    }

    /**
     * The job's drain of one encoding's backlog.
     *
     * @param recordBytes one gradient record's size (key excluded), on the wire into the job
     * @param outBytesPerStep parameter-update bytes (key and value) per applied step, on the wire out of the job
     */
    public record Drain(String encoding, int recordBytes, long steps, double stepsPerSecond, double outBytesPerStep) {
        public double inMBps() {
            return stepsPerSecond * recordBytes / 1e6;
        }

        public double outMBps() {
            return stepsPerSecond * outBytesPerStep / 1e6;
        }
    }

    /** What one run measured; {@code drains.get(0)} is FP32's. */
    public record Run(
            double loadAverage,
            int records,
            double copyMBps,
            double pipelinedCopyMBps,
            List<Drain> drains,
            double updatesPerSecond,
            double inputMBps,
            double outputMBps,
            double latencyLoadPerSecond,
            long p50Micros,
            long p99Micros,
            long p99BeforeSplitMicros,
            int latencySamples,
            int slowSamples) {

        public double drainMBps() {
            return drains.get(0).inMBps();
        }
    }

    /** Every run, in order. */
    public record Result(Options options, List<Run> runs) {}

    private static final int PARTITIONS = 4;
    private static final String MODEL = "bench";

    private PipelineBenchmark() {}

    public static Result run(Options o, PrintWriter out) throws Exception {
        JobSettings defaults = JobSettings.from(o.flink());
        String external = externalBroker(o);
        out.printf(
                Locale.ROOT,
                "bench: %d shards x %d floats, %d publishers, parallelism %d, delivery %s, state backend %s, %d runs, "
                        + "encodings %s, latency phase %d s, %s%n",
                o.shards(),
                o.shardSize(),
                o.workers(),
                o.parallelism(),
                defaults.delivery(),
                o.flink().getString("state.backend.type", "hashmap"),
                o.runs(),
                o.encodings(),
                o.latency().toSeconds(),
                external != null
                        ? "broker " + external
                        : o.broker().isEmpty()
                                ? "embedded broker per run"
                                : "embedded broker per run with " + new TreeMap<>(o.broker()));
        out.flush();
        // On an external broker, topics of this invocation's runs are named apart: a topic deleted at the end of one
        // run may still be in deletion when the next creates its own.
        String invocation = Long.toString(System.nanoTime() & 0xFFFFFFFL, 36);
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < o.runs(); i++) {
            double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            out.printf(Locale.ROOT, "run %d of %d (load average %.2f)%n", i + 1, o.runs(), load);
            out.flush();
            runs.add(runOnce(o, out, i, load, external == null ? "" : "-" + invocation + "r" + i));
            // What one run left on the heap is not the next run's garbage to collect.
            System.gc();
        }
        return new Result(o, runs);
    }

    /** The Kafka that {@code -D gradstream.kafka.bootstrap-servers} names, or null: an embedded broker per run. */
    static String externalBroker(Options o) {
        return o.flink().getString("gradstream.kafka.bootstrap-servers", null);
    }

    private static Run runOnce(Options o, PrintWriter out, int runIndex, double load, String runTag) throws Exception {
        try (BenchServices services = BenchServices.open("bench")) {
            Path dir = services.dir();
            String bootstrap = externalBroker(o);
            if (bootstrap == null) {
                services.kafka(EmbeddedKafka.start(dir.resolve("kafka"), 0, false, o.broker()));
                bootstrap = services.kafka().bootstrapServers();
            }
            byte[][] fp32 = BenchLoad.payloads(o);
            int fp32Bytes = BenchLoad.gradientRecord(MODEL, 0, "backlog", 1, fp32[0]).length;
            int records = backlogRecords(o, fp32Bytes);
            Configuration clientConf = new Configuration(o.flink());
            clientConf.setString("gradstream.kafka.bootstrap-servers", bootstrap);
            Map<String, Object> client = JobSettings.from(clientConf).kafka().clientConfig();

            // 0. The pipe's limit: the same records as the FP32 drain's backlog, copied by the two loops (in
            // alternating order from run to run) through the same broker, nothing else running.
            String in = KafkaCopyLoop.createInput(client, MODEL, fp32, records, PARTITIONS);
            Duration max = o.warmup().plus(o.measure()).plus(Duration.ofMinutes(1));
            KafkaCopyLoop.Copy single = null;
            KafkaCopyLoop.Copy pipelined = null;
            for (int j = 0; j < 2; j++) {
                if ((j + runIndex) % 2 == 0) {
                    single = KafkaCopyLoop.copyLoop(client, in, records, PARTITIONS, max);
                } else {
                    pipelined = KafkaCopyLoop.pipelinedCopyLoop(client, in, records, PARTITIONS, max);
                }
            }
            KafkaCopyLoop.deleteTopics(client, in);
            double copyMBps = single.megabytesPerSecond();
            double pipelinedMBps = pipelined.megabytesPerSecond();
            out.printf(
                    Locale.ROOT,
                    "copy loop: %.1f MB/s (%d records)%npipelined copy loop: %.1f MB/s (%d records)%n",
                    copyMBps,
                    single.records(),
                    pipelinedMBps,
                    pipelined.records());
            out.flush();

            Drain[] drains = new Drain[o.encodings().size()];
            double updatesPerSecond = 0;
            double inputMBps = 0;
            double outputMBps = 0;
            double rate = 0;
            long[] lat = new long[0];
            long[] beforeSplit = new long[0];
            for (int k : drainOrder(o.encodings().size(), runIndex)) {
                GradientEncoding encoding = o.encodings().get(k);
                // Every encoding on topics, a consumer group and a job of its own: nothing of the previous one (its
                // backlog, committed offsets, state) is read or replayed by the next.
                Configuration flink = new Configuration(o.flink());
                flink.setString("gradstream.kafka.bootstrap-servers", bootstrap);
                String suffix = runTag + "-" + k;
                JobSettings base = JobSettings.from(o.flink());
                flink.set(GradstreamOptions.CONTROL_TOPIC, base.controlTopic() + suffix);
                flink.set(GradstreamOptions.GRADIENTS_TOPIC, base.gradientsTopic() + suffix);
                flink.set(GradstreamOptions.PARAMETERS_TOPIC, base.parametersTopic() + suffix);
                flink.set(GradstreamOptions.REJECTED_TOPIC, base.rejectedTopic() + suffix);
                flink.set(GradstreamOptions.STATUS_TOPIC, base.statusTopic() + suffix);
                flink.setString("gradstream.kafka.group-id", "gradstream-bench" + suffix);
                // At the job's start its gradients source can read the backlog before its control source has
                // delivered the CREATE: those gradients wait for the model, within limits (32 MB per shard, 128 MB
                // per subtask by default) beyond which they are rejected. Seen in 2 of ~40 drains (3 and 6 of 3200
                // gradients rejected); a drain must apply every gradient, so the waiting room holds a whole backlog
                // here unless -D sets its limits. Steady-state cost is unchanged: nothing waits once the model exists.
                long backlogBytes = (long) records * fp32Bytes + (64L << 20);
                for (var limit : List.of(
                        GradstreamOptions.LIMIT_WAITING_BYTES_PER_SHARD, GradstreamOptions.LIMIT_WAITING_BYTES)) {
                    if (!o.flink().containsKey(limit.key())) {
                        flink.setString(limit.key(), String.valueOf(backlogBytes));
                    }
                }
                flink.setString("gradstream.kafka.transactional-id-prefix", "gradstream-bench" + suffix);
                JobSettings s = JobSettings.from(flink);
                LocalGradstream.createTopics(s, PARTITIONS);
                byte[][] payloads = BenchLoad.payloads(o, encoding);
                int recordBytes = BenchLoad.gradientRecord(
                                MODEL, 0, "backlog", 1, encoding.encoding(), o.shardSize(), payloads[0])
                        .length;

                // 1. The pipeline under the same conditions: the same number of gradient records written before the
                // job starts, then drained by the job (consume, step, produce) with nothing else reading or writing.
                BenchLoad.createModel(client, s.controlTopic(), MODEL, o, encoding);
                BenchLoad.writeBacklog(
                        client, s.gradientsTopic(), MODEL, payloads, records, encoding.encoding(), o.shardSize());
                Drain d;
                // Sampling starts before the job does: a small backlog can be half drained before start() returns.
                try (DrainPhase.OffsetSampler sampler = new DrainPhase.OffsetSampler(client, s.parametersTopic())) {
                    sampler.start();
                    services.local(LocalGradstream.start(new LocalGradstream.Options(
                            bootstrap,
                            0,
                            EmbeddedKafka.freePort(),
                            o.parallelism(),
                            PARTITIONS,
                            dir.resolve("job" + suffix),
                            flink)));
                    d = DrainPhase.measure(
                            client,
                            sampler,
                            s.parametersTopic(),
                            s.rejectedTopic(),
                            MODEL,
                            encoding.toString(),
                            recordBytes,
                            records,
                            o.warmup().plus(o.measure()).plus(Duration.ofMinutes(2)));
                }
                drains[k] = d;
                if (k == 0) {
                    out.printf(
                            Locale.ROOT,
                            "drain: %.0f steps/s, %.1f MB/s, %d of %d gradients applied (pipeline / copy loop = "
                                    + "%.2f, pipeline / pipelined copy loop = %.2f)%n",
                            d.stepsPerSecond(),
                            d.inMBps(),
                            d.steps(),
                            records,
                            d.inMBps() / copyMBps,
                            d.inMBps() / pipelinedMBps);
                } else {
                    out.printf(
                            Locale.ROOT,
                            "drain %s: %.0f steps/s, in %.1f MB/s, out %.1f MB/s, %d of %d gradients applied%n",
                            d.encoding(),
                            d.stepsPerSecond(),
                            d.inMBps(),
                            d.outMBps(),
                            d.steps(),
                            records);
                }
                out.flush();

                if (k == 0) {
                    // 2. and 3. Live load, then latency at half of it.
                    LivePhases.Result live = LivePhases.run(
                            client, s.gradientsTopic(), s.parametersTopic(), MODEL, o, payloads, recordBytes, out);
                    updatesPerSecond = live.updatesPerSecond();
                    inputMBps = live.inputMBps();
                    outputMBps = live.outputMBps();
                    rate = live.pacedPerSecond();
                    lat = live.latencies();
                    beforeSplit = live.beforeSplit();
                }
                services.closeJob();
                LocalGradstream.delete(dir.resolve("job" + suffix));
                KafkaCopyLoop.deleteTopics(
                        client,
                        s.controlTopic(),
                        s.gradientsTopic(),
                        s.parametersTopic(),
                        s.rejectedTopic(),
                        s.statusTopic());
            }
            for (int k = 1; k < drains.length; k++) {
                out.printf(
                        Locale.ROOT,
                        "drain %s steps/s / fp32's (same run) = %.2f%n",
                        drains[k].encoding(),
                        drains[k].stepsPerSecond() / drains[0].stepsPerSecond());
            }
            out.flush();
            return new Run(
                    load,
                    records,
                    copyMBps,
                    pipelinedMBps,
                    List.of(drains),
                    updatesPerSecond,
                    inputMBps,
                    outputMBps,
                    rate,
                    LivePhases.percentile(lat, 0.50),
                    LivePhases.percentile(lat, 0.99),
                    LivePhases.percentile(beforeSplit, 0.99),
                    lat.length,
                    LivePhases.countAbove(lat, (long) (PipelineReport.P99_TARGET_MS * 1000)));
        }
    }

    /**
     * The order in which run {@code runIndex} drains the encodings: their list rotated by the run's index, so that each
     * takes every place in turn. The first drain of a JVM runs on the coldest JIT, and FP32 always first (as until
     * build `09af84a`) favoured the others' ratios to it.
     */
    static int[] drainOrder(int encodings, int runIndex) {
        int[] order = new int[encodings];
        for (int j = 0; j < encodings; j++) {
            order[j] = (runIndex + j) % encodings;
        }
        return order;
    }

    /** As many records as the copy loops and the drain use: about 400 per measured second, at most 1 GiB of FP32. */
    private static int backlogRecords(Options o, int recordBytes) {
        return (int) Math.max(200, Math.min(o.measure().toSeconds() * 400, (1L << 30) / recordBytes));
    }
}
