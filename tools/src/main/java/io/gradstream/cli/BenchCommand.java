package io.gradstream.cli;

import io.gradstream.bench.PipelineBenchmark;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream bench pipeline}: end-to-end throughput and latency against a same-run Kafka copy loop. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Pipeline.class})
final class BenchCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "pipeline", mixinStandardHelpOptions = true,
            description = {"Runs gradstream local with an embedded broker and measures, for a bounded time: a plain "
                    + "Kafka consume->produce copy loop draining a backlog of records of the gradients' size (the "
                    + "pipe's limit); the job draining a backlog of as many synthetic ASYNC gradients (consume, step, "
                    + "produce), with the ratio; input and output MB/s with live publishers sending as fast as the "
                    + "job takes them and a reader of the updates; p50/p99 publish-to-visibility latency at half "
                    + "that live load.",
                "Prints a last line for docs/benchmarks.md: | drain MB/s | copy loop MB/s | drain / copy loop | "
                    + "live input MB/s | live output MB/s | p50 ms | p99 ms |"})
    static final class Pipeline implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--shards", defaultValue = "16", description = "Shards (default ${DEFAULT-VALUE}).")
        int shards;

        @Option(names = "--shard-size", defaultValue = "65536", description = "Floats per shard (default "
                + "${DEFAULT-VALUE}).")
        int shardSize;

        @Option(names = "--workers", defaultValue = "2", description = "Publisher threads (default ${DEFAULT-VALUE}).")
        int workers;

        @Option(names = "--warmup", defaultValue = "30", description = "Warm-up seconds (default ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--duration", defaultValue = "30", description = "Measured seconds per phase (default "
                + "${DEFAULT-VALUE}).")
        int duration;

        @Option(names = "-D", paramLabel = "KEY=VALUE", description = "Configuration, e.g. -D gradstream.delivery="
                + "EXACTLY_ONCE -D state.backend.type=rocksdb.")
        Map<String, String> properties = new java.util.LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            if (shards < 1 || shardSize < 1 || workers < 1 || warmup < 0 || duration < 1 || duration > 600
                    || warmup > 600) {
                spec.commandLine().getErr().println("gradstream bench pipeline: --shards, --shard-size, --workers and "
                        + "--duration must be >= 1; --warmup and --duration at most 600 s");
                return 2;
            }
            Configuration flink = new Configuration();
            properties.forEach(flink::setString);
            var out = spec.commandLine().getOut();
            PipelineBenchmark.Result r;
            try {
                r = PipelineBenchmark.run(new PipelineBenchmark.Options(shards, shardSize, workers,
                        Duration.ofSeconds(warmup), Duration.ofSeconds(duration), flink), out);
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("gradstream bench pipeline: " + e.getMessage());
                return 2;
            }
            out.printf(Locale.ROOT, "| %.1f | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f |%n", r.drainMBps(),
                    r.copyMBps(), r.drainMBps() / r.copyMBps(), r.inputMBps(), r.outputMBps(), r.p50Micros() / 1000.0,
                    r.p99Micros() / 1000.0);
            out.flush();
            return 0;
        }
    }
}
