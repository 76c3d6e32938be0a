package io.gradstream.cli;

import io.gradstream.bench.LatencySplit;
import io.gradstream.bench.PipelineBenchmark;
import io.gradstream.bench.PipelineReport;
import io.gradstream.bench.SoakBenchmark;
import io.gradstream.client.GradientEncoding;
import io.gradstream.kafka.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradstream bench pipeline}: end-to-end throughput and latency against a same-run Kafka copy loop;
 * {@code gradstream bench soak}: a long steady load with hostile records, checked for growth;
 * {@code gradstream bench compression}: accuracy against bytes for every encoding ({@link CompressionCommand});
 * {@code gradstream bench privacy}: accuracy against epsilon for DP-SGD and DP-FTRL ({@link PrivacyStudyCommand}).
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks.",
        subcommands = {
            BenchCommand.Pipeline.class,
            BenchCommand.Soak.class,
            CompressionCommand.class,
            PrivacyStudyCommand.class
        })
final class BenchCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "pipeline",
            mixinStandardHelpOptions = true,
            description = {
                "Runs gradstream local with an embedded broker and measures, for a bounded time: a plain "
                        + "Kafka consume->produce copy loop draining a backlog of records of the gradients' size (the "
                        + "pipe's limit); the job draining a backlog of as many synthetic ASYNC gradients (consume, step, "
                        + "produce), with the ratio; input and output MB/s with live publishers sending as fast as the "
                        + "job takes them and a reader of the updates; p50/p99 publish-to-visibility latency at half "
                        + "that live load, over a window of --latency-duration seconds.",
                "Repeats the whole measurement --runs times (each on a fresh broker, topics and job) and prints, "
                        + "for every row, median, min and max over the runs; with --encoding, the drain phase is also "
                        + "measured for each listed gradient encoding beside FP32 in the same run (steps/s, MB/s on the "
                        + "wire, ratio to FP32's steps/s)."
            })
    static final class Pipeline implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--shards", defaultValue = "16", description = "Shards (default ${DEFAULT-VALUE}).")
        int shards;

        @Option(
                names = "--shard-size",
                defaultValue = "65536",
                description = "Floats per shard (default " + "${DEFAULT-VALUE}).")
        int shardSize;

        @Option(names = "--workers", defaultValue = "2", description = "Publisher threads (default ${DEFAULT-VALUE}).")
        int workers;

        @Option(names = "--warmup", defaultValue = "30", description = "Warm-up seconds (default ${DEFAULT-VALUE}).")
        int warmup;

        @Option(
                names = "--duration",
                defaultValue = "30",
                description = "Measured seconds per phase (default " + "${DEFAULT-VALUE}).")
        int duration;

        @Option(
                names = "--latency-duration",
                defaultValue = "30",
                paramLabel = "S",
                description = "Seconds of the latency phase: publishers paced at half the live rate, every update a "
                        + "sample of p50/p99 (default ${DEFAULT-VALUE}: three at-least-once checkpoint intervals, so "
                        + "that p99 is taken over a window that holds several checkpoints, not one or none).")
        int latencyDuration;

        @Option(
                names = "--split-at",
                defaultValue = "send",
                paramLabel = "send|append",
                description = "Where the latency phase splits each update's latency, to tell a stall before or in the "
                        + "job from one after it: at the job's hand-over of the update to its Kafka producer (send, "
                        + "default: the update record's CreateTime) or at the broker's append of it (append: the "
                        + "parameters topic is switched to LogAppendTime for the phase).")
        String splitAt;

        @Option(
                names = "--runs",
                defaultValue = "5",
                description = "Whole measurements, each on a fresh broker and job (default ${DEFAULT-VALUE}).")
        int runs;

        @Option(
                names = "--parallelism",
                defaultValue = "1",
                description = "The job's parallelism (default ${DEFAULT-VALUE}).")
        int parallelism;

        @Option(
                names = "--encoding",
                split = ",",
                paramLabel = "ENCODING",
                defaultValue = "fp32",
                description = "Gradient encodings whose drain is measured beside FP32's, comma-separated: fp32, fp16, "
                        + "bf16, int8, topk:FRACTION (default ${DEFAULT-VALUE}). FP16/BF16 models publish parameters in "
                        + "that encoding; INT8/TOPK ones an INT8 delta stream with an FP32 snapshot every 50 versions.")
        List<String> encodings = new java.util.ArrayList<>();

        @Option(
                names = "-D",
                paramLabel = "KEY=VALUE",
                description =
                        "Configuration, e.g. -D gradstream.delivery=" + "EXACTLY_ONCE -D state.backend.type=rocksdb.")
        Map<String, String> properties = new java.util.LinkedHashMap<>();

        @Option(
                names = "--bootstrap-servers",
                paramLabel = "HOST:PORT",
                description = "Measure against this Kafka instead of an embedded broker per run (e.g. one in a process "
                        + "of its own, as in production); the job runs here as gradstream local. Every run creates its "
                        + "own topics there and deletes them afterwards. Client settings such as security go in -D "
                        + "gradstream.kafka.*.")
        String bootstrapServers;

        @Option(
                names = "--broker",
                paramLabel = "KEY=VALUE",
                description = "A setting of each run's embedded broker, added to or replacing gradstream's own, e.g. "
                        + "--broker log.flush.interval.ms=9223372036854775807 for Kafka's default of leaving the "
                        + "writing of its log to the kernel (the embedded broker flushes every "
                        + EmbeddedKafka.FLUSH_INTERVAL_MS
                        + " ms). Not with "
                        + "--bootstrap-servers.")
        Map<String, String> broker = new java.util.LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            if (shards < 1
                    || shardSize < 1
                    || workers < 1
                    || warmup < 0
                    || duration < 1
                    || duration > 600
                    || warmup > 600
                    || latencyDuration < 1
                    || latencyDuration > 600
                    || runs < 1
                    || runs > 100
                    || parallelism < 1
                    || parallelism > 64) {
                spec.commandLine()
                        .getErr()
                        .println("gradstream bench pipeline: --shards, --shard-size, --workers, --runs, --parallelism, "
                                + "--duration and --latency-duration must be >= 1; --warmup, --duration and "
                                + "--latency-duration at most 600 s, --runs at most 100, --parallelism at most 64");
                return 2;
            }
            List<GradientEncoding> parsed = new java.util.ArrayList<>();
            try {
                for (String e : encodings) {
                    parsed.add(GradientEncoding.parse(e));
                }
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("gradstream bench pipeline: --encoding: " + e.getMessage());
                return 2;
            }
            LatencySplit split;
            switch (splitAt) {
                case "send" -> split = LatencySplit.SEND;
                case "append" -> split = LatencySplit.APPEND;
                default -> {
                    spec.commandLine()
                            .getErr()
                            .println("gradstream bench pipeline: --split-at must be send or append, not " + splitAt);
                    return 2;
                }
            }
            Configuration flink = new Configuration();
            properties.forEach(flink::setString);
            if (bootstrapServers != null) {
                flink.setString("gradstream.kafka.bootstrap-servers", bootstrapServers);
            }
            var out = spec.commandLine().getOut();
            PipelineBenchmark.Result r;
            try {
                r = PipelineBenchmark.run(
                        new PipelineBenchmark.Options(
                                shards,
                                shardSize,
                                workers,
                                Duration.ofSeconds(warmup),
                                Duration.ofSeconds(duration),
                                flink,
                                runs,
                                parallelism,
                                parsed,
                                Duration.ofSeconds(latencyDuration),
                                split,
                                broker),
                        out);
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("gradstream bench pipeline: " + e.getMessage());
                return 2;
            }
            PipelineReport.print(r, out);
            return 0;
        }
    }

    @Command(
            name = "soak",
            mixinStandardHelpOptions = true,
            description = {
                "Runs the job as gradstream local does (embedded Kafka on 127.0.0.1, Flink MiniCluster, "
                        + "checkpoints on) under a steady load of synthetic Adam/ASYNC gradients at half the maximum "
                        + "rate measured by a short probe first (or --rate), with a seeded round of hostile records "
                        + "(random bytes, corrupted Avro lengths, truncated records, wrong and null keys, unknown models, "
                        + "NaN/infinite payloads, duplicates, oversize records and payloads, invalid control commands) "
                        + "on gradients and control every --hostile-every seconds.",
                "Samples every --sample-every seconds: heap used after a full GC, checkpointed state size, duration "
                        + "of the latest checkpoint, the job's consumer lag, updates/s, rejected records, restarts; writes "
                        + "soak.csv and soak.png to --out and prints FLAT or GROWING: GROWING when heap after GC grows "
                        + "faster than --max-heap-slope MiB/min over the second half (and significantly so), the job "
                        + "restarted, checkpoints failed, stalled or got steadily slower.",
                "Exit status: 0 when FLAT, every hostile record was rejected and no other record was; 1 otherwise; "
                        + "2 for invalid options."
            })
    static final class Soak implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(
                names = "--minutes",
                defaultValue = "30",
                description =
                        "Length of the steady phase in minutes; " + "fractions allowed (default ${DEFAULT-VALUE}).")
        double minutes;

        @Option(
                names = "--rate",
                defaultValue = "0",
                description = "Gradients per second of the steady load; 0 "
                        + "measures the maximum with a probe first and uses half of it (default ${DEFAULT-VALUE}).")
        double rate;

        @Option(
                names = "--out",
                defaultValue = "soak-out",
                description = "Folder for soak.csv and soak.png " + "(default ${DEFAULT-VALUE}).")
        Path out;

        @Option(
                names = "--hostile-every",
                defaultValue = "5",
                description =
                        "Seconds between rounds of hostile " + "records, one of each kind (default ${DEFAULT-VALUE}).")
        int hostileEvery;

        @Option(
                names = "--seed",
                defaultValue = "1",
                description = "Seed of the hostile records and payloads " + "(default ${DEFAULT-VALUE}).")
        long seed;

        @Option(
                names = "--sample-every",
                defaultValue = "5",
                description = "Seconds between samples " + "(default ${DEFAULT-VALUE}).")
        int sampleEvery;

        @Option(
                names = "--probe",
                defaultValue = "30",
                description = "Seconds of the maximum-rate probe; the "
                        + "second half is measured (default ${DEFAULT-VALUE}).")
        int probe;

        @Option(names = "--shards", defaultValue = "16", description = "Shards (default ${DEFAULT-VALUE}).")
        int shards;

        @Option(
                names = "--shard-size",
                defaultValue = "16384",
                description = "Floats per shard " + "(default ${DEFAULT-VALUE}).")
        int shardSize;

        @Option(
                names = "--max-heap-slope",
                defaultValue = "1.0",
                description = "MiB/min of heap-after-GC growth "
                        + "over the second half tolerated as FLAT (default ${DEFAULT-VALUE}).")
        double maxHeapSlope;

        @Option(
                names = "-D",
                paramLabel = "KEY=VALUE",
                description = "Configuration of the job, e.g. -D " + "state.backend.type=rocksdb.")
        Map<String, String> properties = new java.util.LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            Duration duration = Duration.ofMillis(Math.round(minutes * 60_000));
            if (!(minutes > 0)
                    || minutes > 24 * 60
                    || rate < 0
                    || hostileEvery < 1
                    || sampleEvery < 1
                    || probe < 2
                    || shards < 1
                    || shardSize < 1
                    || !(maxHeapSlope >= 0)
                    || duration.toSeconds() < 4L * sampleEvery) {
                spec.commandLine()
                        .getErr()
                        .println("gradstream bench soak: --minutes must be > 0 (at most 1440) and "
                                + "hold at least 4 samples of --sample-every; --rate must not be negative; --hostile-every, "
                                + "--sample-every, --shards and --shard-size must be >= 1; --probe >= 2");
                return 2;
            }
            Configuration flink = new Configuration();
            properties.forEach(flink::setString);
            var o = spec.commandLine().getOut();
            SoakBenchmark.Result r;
            try {
                r = SoakBenchmark.run(
                        new SoakBenchmark.Options(
                                duration,
                                rate,
                                out,
                                Duration.ofSeconds(hostileEvery),
                                seed,
                                shards,
                                shardSize,
                                Duration.ofSeconds(sampleEvery),
                                Duration.ofSeconds(probe),
                                maxHeapSlope,
                                flink),
                        o);
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("gradstream bench soak: " + e.getMessage());
                return 2;
            }
            o.println(
                    r.passed()
                            ? r.verdict().word()
                            : r.verdict().word() + (r.verdict().flat() ? " but hostile-record accounting failed" : ""));
            o.flush();
            return r.passed() ? 0 : 1;
        }
    }
}
