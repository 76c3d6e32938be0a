package io.gradstream.jmh;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the kernel benchmarks and prints them as the Markdown tables of {@code docs/benchmarks.md}: each optimizer's
 * GB/s (bytes its step moves / time) beside the streaming bound over the same arrays from the same run, and the
 * codecs' GB/s of float32 input. {@code --quick} shortens warm-up and measurement for a smoke run; any other
 * arguments go to JMH's own command line instead ({@code --jmh ARGS...}).
 */
public final class KernelBenchmarks {

    private static final Map<String, String> PATTERN = Map.of(
            "SGD-momentum",
            "3r2w",
            "Adam",
            "4r3w",
            "AdamW",
            "4r3w",
            "RMSprop",
            "3r2w",
            "Adagrad",
            "3r2w",
            "Adamax",
            "4r3w",
            "NAdam",
            "4r3w",
            "RAdam",
            "4r3w",
            "LAMB",
            "lamb",
            "Lion",
            "3r2w");

    private KernelBenchmarks() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--jmh")) {
            String[] rest = new String[args.length - 1];
            System.arraycopy(args, 1, rest, 0, rest.length);
            org.openjdk.jmh.Main.main(rest);
            return;
        }
        boolean quick = false;
        boolean codecsOnly = false;
        String sizes = null;
        String only = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--codecs" -> codecsOnly = true;
                case "--sizes" -> sizes = args[++i];
                case "--optimizers" -> only = args[++i];
                case "-h", "--help" -> {
                    System.out.println("usage: java -jar gradstream-benchmarks.jar [--quick] [--sizes 65536,1048576]"
                            + " [--optimizers Adam,AdamW] [--codecs (the codec tables only)]  |  --jmh JMH_ARGS...");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (try --help)");
            }
        }
        if (only != null) {
            for (String name : only.split(",")) {
                if (!PATTERN.containsKey(name)) {
                    throw new IllegalArgumentException("unknown optimizer " + name + " in --optimizers; known: "
                            + String.join(", ", new java.util.TreeSet<>(PATTERN.keySet())));
                }
            }
        }
        ChainedOptionsBuilder base = new OptionsBuilder();
        if (quick) {
            base.warmupIterations(1)
                    .warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(2)
                    .measurementTime(TimeValue.milliseconds(500));
        }
        if (sizes != null) {
            base.param("size", sizes.split(","));
        }
        Collection<RunResult> kernels = List.of();
        if (!codecsOnly) {
            ChainedOptionsBuilder opt = base.include(OptimizerStepBenchmark.class.getSimpleName())
                    .include(StreamBoundBenchmark.class.getSimpleName());
            if (only != null) {
                opt.param("optimizer", only.split(","));
            }
            kernels = new Runner(opt.build()).run();
        }
        // The codec benchmarks use their own 64 Ki shard (--sizes is for the optimizer tables).
        ChainedOptionsBuilder codecOpt = new OptionsBuilder()
                .include(CodecBenchmark.class.getSimpleName())
                .include(CodecEncodeBenchmark.class.getSimpleName());
        if (quick) {
            codecOpt.warmupIterations(1)
                    .warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(2)
                    .measurementTime(TimeValue.milliseconds(500));
        }
        Collection<RunResult> codecs = new Runner(codecOpt.build()).run();
        if (!codecsOnly) {
            System.out.println();
            System.out.print(optimizerTable(kernels));
        }
        System.out.println();
        System.out.print(codecTable(codecs));
        System.out.println();
        System.out.print(encodeTable(codecs));
    }

    static String optimizerTable(Collection<RunResult> results) throws RunnerException {
        Map<String, Double> boundMicros = new HashMap<>();
        List<RunResult> steps = new ArrayList<>();
        for (RunResult r : results) {
            Map<String, String> p = params(r);
            if (r.getParams().getBenchmark().endsWith("StreamBoundBenchmark.stream")) {
                boundMicros.put(
                        p.get("pattern") + "@" + p.get("size"),
                        r.getPrimaryResult().getScore());
            } else {
                steps.add(r);
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append("| optimizer | floats | µs/step | bytes/float | GB/s | bound GB/s (same run) | ratio |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (RunResult r : steps) {
            Map<String, String> p = params(r);
            String pattern = PATTERN.get(p.get("optimizer"));
            int size = Integer.parseInt(p.get("size"));
            int bytes = StreamBoundBenchmark.bytesPerElement(pattern);
            double micros = r.getPrimaryResult().getScore();
            double gbs = gbPerSecond(bytes, size, micros);
            Double bound = boundMicros.get(pattern + "@" + size);
            double boundGbs = bound == null ? Double.NaN : gbPerSecond(bytes, size, bound);
            sb.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.1f | %d | %.2f | %.2f | %.2f |%n",
                    p.get("optimizer"),
                    sizeLabel(size),
                    micros,
                    bytes,
                    gbs,
                    boundGbs,
                    gbs / boundGbs));
        }
        return sb.toString();
    }

    static String codecTable(Collection<RunResult> results) {
        StringBuilder sb = new StringBuilder();
        sb.append("| codec | floats | encode µs | encode GB/s | decode µs | decode GB/s |\n");
        sb.append("|---|---:|---:|---:|---:|---:|\n");
        Map<String, double[]> rows = new java.util.TreeMap<>();
        Map<String, Integer> sizes = new HashMap<>();
        for (RunResult r : results) {
            if (!r.getParams().getBenchmark().contains(".CodecBenchmark.")) {
                continue;
            }
            Map<String, String> p = params(r);
            String key = p.get("codec");
            double[] row = rows.computeIfAbsent(key, k -> new double[2]);
            boolean encode = r.getParams().getBenchmark().endsWith(".encode");
            row[encode ? 0 : 1] = r.getPrimaryResult().getScore();
            sizes.put(key, Integer.parseInt(p.get("size")));
        }
        rows.forEach((codec, row) -> {
            int size = sizes.get(codec);
            sb.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.1f | %.2f | %.1f | %.2f |%n",
                    codec,
                    sizeLabel(size),
                    row[0],
                    gbPerSecond(4, size, row[0]),
                    row[1],
                    gbPerSecond(4, size, row[1])));
        });
        return sb.toString();
    }

    /**
     * CodecEncodeBenchmark: the current encoder beside the per-element one it replaced and the same-run bound, all
     * as GB/s of float32 input.
     */
    static String encodeTable(Collection<RunResult> results) {
        StringBuilder sb = new StringBuilder();
        sb.append("| codec | floats | before µs | before GB/s | after µs | after GB/s | bound GB/s (same run)"
                + " | after ÷ bound | speed-up |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        Map<String, double[]> rows = new java.util.TreeMap<>();
        Map<String, Integer> sizes = new HashMap<>();
        for (RunResult r : results) {
            String benchmark = r.getParams().getBenchmark();
            if (!benchmark.contains(".CodecEncodeBenchmark.")) {
                continue;
            }
            Map<String, String> p = params(r);
            double[] row = rows.computeIfAbsent(p.get("codec"), k -> new double[3]);
            int column = benchmark.endsWith(".legacyEncode") ? 0 : benchmark.endsWith(".encode") ? 1 : 2;
            row[column] = r.getPrimaryResult().getScore();
            sizes.put(p.get("codec"), Integer.parseInt(p.get("size")));
        }
        rows.forEach((codec, row) -> {
            int size = sizes.get(codec);
            double after = gbPerSecond(4, size, row[1]);
            double bound = gbPerSecond(4, size, row[2]);
            sb.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.1f | %.2f | %.1f | %.2f | %.2f | %.2f | %.1f× |%n",
                    codec,
                    sizeLabel(size),
                    row[0],
                    gbPerSecond(4, size, row[0]),
                    row[1],
                    after,
                    bound,
                    after / bound,
                    row[0] / row[1]));
        });
        return sb.toString();
    }

    private static Map<String, String> params(RunResult r) {
        Map<String, String> m = new HashMap<>();
        for (String key : r.getParams().getParamsKeys()) {
            m.put(key, r.getParams().getParam(key));
        }
        return m;
    }

    private static double gbPerSecond(int bytesPerElement, int size, double micros) {
        return (double) bytesPerElement * size / (micros * 1e-6) / 1e9;
    }

    private static String sizeLabel(int size) {
        if (size % (1 << 20) == 0) {
            return (size >> 20) + " Mi";
        }
        return size % 1024 == 0 ? (size >> 10) + " Ki" : Integer.toString(size);
    }
}
