package io.gradstream.bench;

import io.gradstream.job.JobConfig;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.ops.FlinkRest;
import io.gradstream.schemas.AggregationMode;
import io.gradstream.schemas.AggregationSpec;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorSpec;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code gradstream bench soak}: the job as {@code gradstream local} runs it, on an embedded broker, under a steady
 * load at half its measured maximum with rounds of hostile records, sampled for growth (heap after GC, state,
 * checkpoint duration, lag, restarts, rejections) into a CSV, a PNG and a FLAT or GROWING verdict.
 */
public final class SoakBenchmark {

    /**
     * What to run.
     *
     * @param rate gradients per second of the steady load, or 0 to use half the rate measured by a probe first
     * @param maxHeapSlope MiB/min of heap-after-GC growth over the second half above which the verdict is GROWING
     */
    public record Options(
            Duration duration,
            double rate,
            Path out,
            Duration hostileEvery,
            long seed,
            int shards,
            int shardSize,
            Duration sampleEvery,
            Duration probe,
            double maxHeapSlope,
            Configuration flink) {}

    /**
     * What it found.
     *
     * @param maxRate the probe's updates per second (NaN when the rate was given)
     * @param missing hostile records ("topic/partition/offset kind") that never came back rejected
     * @param unexpected rejections of records that were not hostile (the valid load)
     */
    public record Result(
            SoakAnalysis.Verdict verdict,
            double maxRate,
            double rate,
            double updatesPerSecond,
            int samples,
            long hostileSent,
            long rejected,
            List<String> missing,
            long unexpected,
            Path csv,
            Path png) {

        /** FLAT, every hostile record rejected, and nothing else rejected. */
        public boolean passed() {
            return verdict.flat() && missing.isEmpty() && unexpected == 0;
        }
    }

    static final String MODEL = "soak";
    private static final int PARTITIONS = 4;
    /** Gradients the probe may have sent but not yet seen applied: enough to keep the job busy, no big backlog. */
    private static final int PROBE_WINDOW = 256;

    private SoakBenchmark() {}

    public static Result run(Options o, PrintWriter out) throws Exception {
        Files.createDirectories(o.out());
        try (BenchServices services = BenchServices.open("soak")) {
            Path dir = services.dir();
            // Old segments are deleted every 10 s (instead of 5 min): at tens of MB/s a soak would otherwise fill
            // the disk with gradients and updates nobody reads again.
            services.kafka(EmbeddedKafka.start(
                    dir.resolve("kafka"), 0, false, Map.of("log.retention.check.interval.ms", "10000")));
            Configuration flink = new Configuration(o.flink());
            flink.setString(
                    "gradstream.kafka.bootstrap-servers", services.kafka().bootstrapServers());
            // Low enough that an oversize hostile record still fits the broker's 16 MiB message limit.
            if (!flink.containsKey("gradstream.limits.record-bytes")) {
                flink.setString("gradstream.limits.record-bytes", "1 mb");
            }
            JobSettings s = JobSettings.from(flink);
            createTopics(s);
            ModelSpec spec = spec(o);
            try (var p = KafkaCopyLoop.producer(s.kafka().clientConfig())) {
                p.send(new ProducerRecord<>(
                                s.controlTopic(),
                                MODEL.getBytes(StandardCharsets.UTF_8),
                                new AvroRecords<>(ControlCommand.class)
                                        .encode(ControlCommand.newBuilder()
                                                .setModelId(MODEL)
                                                .setType(CommandType.CREATE)
                                                .setSpec(spec)
                                                .build())))
                        .get();
            }
            services.local(LocalGradstream.start(
                    new LocalGradstream.Options(s.bootstrapServers(), 0, 0, 1, PARTITIONS, dir.resolve("job"), flink)));
            Duration interval = JobConfig.withDefaults(flink).get(CheckpointingOptions.CHECKPOINTING_INTERVAL);
            out.printf(
                    Locale.ROOT,
                    "soak: %d shards x %d floats (Adam, ASYNC), delivery %s, state backend %s, "
                            + "checkpoints every %d s, record limit %d bytes; web UI %s%n",
                    o.shards(),
                    o.shardSize(),
                    s.delivery(),
                    flink.getString("state.backend.type", "hashmap"),
                    interval.toSeconds(),
                    s.limits().recordBytes(),
                    services.local().webUrl());
            out.flush();
            return soak(o, s, spec, services.local(), interval, out);
        }
    }

    private static Result soak(
            Options o, JobSettings s, ModelSpec spec, LocalGradstream local, Duration interval, PrintWriter out)
            throws Exception {
        FlinkRest rest = new FlinkRest(local.webUrl());
        String jobId = local.job().getJobID().toHexString();
        HostileLoad hostile =
                new HostileLoad(o.seed(), MODEL, spec, (int) s.limits().recordBytes());
        try (var load = new SoakLoad(s, MODEL, o.shards(), o.shardSize(), hostile, o.seed());
                var rejected = new SoakLoad.RejectedReader(s, load.ledger);
                var sampler = new SoakSampler(rest, jobId, s, rejected.total::get)) {
            rejected.start();
            awaitRunning(rest, jobId, sampler, o.shards());

            double max = Double.NaN;
            double rate = o.rate();
            if (rate <= 0) {
                max = load.probe(o.probe(), PROBE_WINDOW, sampler::updates);
                rate = max / 2;
                out.printf(
                        Locale.ROOT,
                        "probe: %.0f updates/s at most over %d s; steady load at half: %.1f "
                                + "gradients/s (%.1f MB/s)%n",
                        max,
                        o.probe().toSeconds(),
                        rate,
                        rate * o.shardSize() * 4 / 1e6);
                awaitQuiet(sampler);
            } else {
                out.printf(
                        Locale.ROOT,
                        "steady load: %.1f gradients/s (%.1f MB/s), as given%n",
                        rate,
                        rate * o.shardSize() * 4 / 1e6);
            }
            out.printf(
                    Locale.ROOT,
                    "soak: %.1f min, a round of %d hostile records every %d s (seed %d), a sample " + "every %d s%n",
                    o.duration().toSeconds() / 60.0,
                    HostileLoad.Kind.values().length,
                    o.hostileEvery().toSeconds(),
                    o.seed(),
                    o.sampleEvery().toSeconds());
            out.flush();

            load.startPaced(rate, o.hostileEvery());
            sampler.startClock();
            List<SoakAnalysis.Sample> samples = new ArrayList<>();
            long start = System.nanoTime();
            long end = start + o.duration().toNanos();
            for (long next = start + o.sampleEvery().toNanos();
                    next <= end;
                    next += o.sampleEvery().toNanos()) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000);
                }
                load.checkFailure();
                SoakAnalysis.Sample x = sampler.sample();
                samples.add(x);
                out.printf(
                        Locale.ROOT,
                        "t=%5.0f s  heap after GC %7.1f MiB  state %6.2f MiB  checkpoint #%d %5d ms  "
                                + "lag %5d  %6.1f updates/s  rejected %6d  restarts %d%n",
                        (System.nanoTime() - start) / 1e9,
                        x.heapAfterGcMiB(),
                        x.stateBytes() / 1048576.0,
                        x.checkpointId(),
                        x.checkpointMillis(),
                        x.lag(),
                        x.updatesPerSecond(),
                        x.rejected(),
                        x.restarts());
                out.flush();
            }
            load.stopPaced();
            load.checkFailure();

            // Gradients for a model that does not exist wait for it (unknown-model-grace) before they are refused.
            long deadline =
                    System.nanoTime() + s.unknownModelGrace().plusSeconds(60).toNanos();
            while (!load.ledger.outstanding().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            List<String> missing = load.ledger.outstanding();
            Map<String, String> unexpected = load.ledger.unmatched();

            double gap = Math.max(60, 3 * interval.toSeconds() + 30);
            SoakAnalysis.Verdict v = SoakAnalysis.judge(samples, new SoakAnalysis.Thresholds(o.maxHeapSlope(), gap));
            Path csv = o.out().resolve("soak.csv");
            Path png = o.out().resolve("soak.png");
            SoakSampler.writeCsv(csv, samples);
            SoakSampler.writePng(
                    png,
                    String.format(
                            Locale.ROOT,
                            "gradstream bench soak: %.0f min at %.0f " + "gradients/s, %d hostile records: %s",
                            o.duration().toSeconds() / 60.0,
                            rate,
                            load.ledger.sent(),
                            v.word()),
                    samples,
                    v);

            SoakAnalysis.Sample first = samples.get(0);
            SoakAnalysis.Sample last = samples.get(samples.size() - 1);
            double throughput = (last.updates() - first.updates()) / Math.max(1e-3, last.seconds() - first.seconds());
            report(out, load.ledger, missing, unexpected);
            out.printf(
                    Locale.ROOT,
                    "throughput %.1f updates/s (%.1f MB/s in), %d checkpoints completed (%d failed), "
                            + "state %.2f MiB, rejected %d%n",
                    throughput,
                    throughput * o.shardSize() * 4 / 1e6,
                    last.checkpointsCompleted(),
                    last.checkpointsFailed(),
                    last.stateBytes() / 1048576.0,
                    rejected.total.get());
            out.printf("wrote %s and %s%n", csv, png);
            out.println(v.summary());
            out.flush();
            return new Result(
                    v,
                    max,
                    rate,
                    throughput,
                    samples.size(),
                    load.ledger.sent(),
                    rejected.total.get(),
                    missing,
                    unexpected.size(),
                    csv,
                    png);
        }
    }

    /** Per kind of hostile record: how many were sent and the reasons they were rejected with. */
    private static void report(
            PrintWriter out, SoakLoad.HostileLedger ledger, List<String> missing, Map<String, String> unexpected) {
        ledger.reasons().forEach((kind, r) -> out.printf("hostile %-26s %s%n", kind, r));
        out.printf(
                "hostile records: %d sent, %d not rejected%s; other records rejected: %d%s%n",
                ledger.sent(),
                missing.size(),
                missing.isEmpty() ? "" : " " + missing.subList(0, Math.min(10, missing.size())),
                unexpected.size(),
                unexpected.isEmpty()
                        ? ""
                        : " e.g. "
                                + unexpected.entrySet().stream()
                                        .limit(5)
                                        .map(e -> e.getKey() + " " + e.getValue())
                                        .toList());
    }

    /** Until the job runs and has published version 0 of every shard, i.e. it has read the CREATE. */
    private static void awaitRunning(FlinkRest rest, String jobId, SoakSampler sampler, int shards) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            if ("RUNNING".equals(rest.jobState(jobId)) && sampler.updates() >= shards) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the job did not start and publish the model's initial values in 3 min");
    }

    /** Until the probe's window is applied: no new update for 3 s. */
    private static void awaitQuiet(SoakSampler sampler) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        long last = -1;
        long since = System.nanoTime();
        while (System.nanoTime() < deadline && System.nanoTime() - since < 3_000_000_000L) {
            long n = sampler.updates();
            if (n != last) {
                last = n;
                since = System.nanoTime();
            }
            Thread.sleep(200);
        }
    }

    /**
     * The job's topics with their usual settings, but bounded on disk: 30 minutes at 30 MB/s in and out would be
     * about 100 GB. The parameters topic is compacted as in production, and also deleted beyond its bound, since the
     * cleaner does not promise to keep up with a soak's write rate.
     */
    private static void createTopics(JobSettings s) throws Exception {
        Map<String, String> bounded = Map.of(
                "retention.bytes",
                String.valueOf(256L << 20),
                "segment.bytes",
                String.valueOf(32 << 20),
                "max.message.bytes",
                String.valueOf(16 << 20));
        Map<String, String> parameters = new java.util.HashMap<>(bounded);
        parameters.putAll(io.gradstream.kafka.KafkaIo.parametersTopicConfig());
        parameters.put("cleanup.policy", "compact,delete");
        try (var admin = org.apache.kafka.clients.admin.Admin.create(s.kafka().clientConfig())) {
            admin.createTopics(List.of(
                            new NewTopic(s.gradientsTopic(), PARTITIONS, (short) 1).configs(bounded),
                            new NewTopic(s.parametersTopic(), PARTITIONS, (short) 1).configs(parameters),
                            new NewTopic(s.rejectedTopic(), 1, (short) 1).configs(bounded)))
                    .all()
                    .get();
        }
        LocalGradstream.createTopics(s, PARTITIONS); // the others
    }

    private static ModelSpec spec(Options o) {
        return ModelSpec.newBuilder()
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
                .setOutputEncoding(Encoding.FP32)
                .build();
    }
}
