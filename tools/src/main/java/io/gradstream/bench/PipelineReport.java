package io.gradstream.bench;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Prints the pipeline benchmark's runs as the Markdown tables of docs/benchmarks.md: median, min and max over the runs
 * of every row, the FP32 phases and, per encoding, the drain's steps/s, bytes on the wire and ratio to FP32's steps/s
 * in the same run.
 */
public final class PipelineReport {
    /** docs/benchmarks.md's latency target: p99 at half the live load, in milliseconds. */
    public static final double P99_TARGET_MS = 50;

    private PipelineReport() {}

    /** Median, min and max of one row over the runs. */
    public record Spread(double median, double min, double max) {
        static Spread of(double[] values) {
            double[] v = values.clone();
            Arrays.sort(v);
            int n = v.length;
            double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
            return new Spread(median, v[0], v[n - 1]);
        }
    }

    public static Spread spread(List<PipelineBenchmark.Run> runs, ToDoubleFunction<PipelineBenchmark.Run> row) {
        return Spread.of(runs.stream().mapToDouble(row).toArray());
    }

    /** Drain steps/s of encoding {@code k} over FP32's in the same run, one value per run. */
    public static double[] ratiosToFp32(List<PipelineBenchmark.Run> runs, int k) {
        return runs.stream()
                .mapToDouble(r ->
                        r.drains().get(k).stepsPerSecond() / r.drains().get(0).stepsPerSecond())
                .toArray();
    }

    /** Runs whose {@code p99Micros} was measured (not -1: no samples) and is within {@link #P99_TARGET_MS}. */
    private static long withinTarget(
            List<PipelineBenchmark.Run> runs, ToLongFunction<PipelineBenchmark.Run> p99Micros) {
        return runs.stream()
                .mapToLong(p99Micros)
                .filter(us -> us >= 0 && us / 1000.0 <= P99_TARGET_MS)
                .count();
    }

    public static void print(PipelineBenchmark.Result result, PrintWriter out) {
        List<PipelineBenchmark.Run> runs = result.runs();
        var o = result.options();
        out.printf(
                Locale.ROOT,
                "%nsummary: %d runs, parallelism %d, %d shards x %d floats, %d records per backlog%n",
                runs.size(),
                o.parallelism(),
                o.shards(),
                o.shardSize(),
                runs.get(0).records());
        out.println("| row (fp32) | median | min | max |");
        out.println("|---|---:|---:|---:|");
        row(out, "copy loop MB/s", spread(runs, PipelineBenchmark.Run::copyMBps), "%.1f");
        row(out, "pipelined copy loop MB/s", spread(runs, PipelineBenchmark.Run::pipelinedCopyMBps), "%.1f");
        row(out, "drain MB/s", spread(runs, PipelineBenchmark.Run::drainMBps), "%.1f");
        row(out, "drain steps/s", spread(runs, r -> r.drains().get(0).stepsPerSecond()), "%.0f");
        row(out, "drain / copy loop", spread(runs, r -> r.drainMBps() / r.copyMBps()), "%.2f");
        row(out, "drain / pipelined copy loop", spread(runs, r -> r.drainMBps() / r.pipelinedCopyMBps()), "%.2f");
        row(out, "live steps/s", spread(runs, PipelineBenchmark.Run::updatesPerSecond), "%.0f");
        row(out, "live in MB/s", spread(runs, PipelineBenchmark.Run::inputMBps), "%.1f");
        row(out, "live out MB/s", spread(runs, PipelineBenchmark.Run::outputMBps), "%.1f");
        row(out, "p50 ms at half the live load", spread(runs, r -> r.p50Micros() / 1000.0), "%.1f");
        row(out, "p99 ms at half the live load", spread(runs, r -> r.p99Micros() / 1000.0), "%.1f");
        row(
                out,
                "p99 ms of its part up to " + o.split().point(),
                spread(runs, r -> r.p99BeforeSplitMicros() / 1000.0),
                "%.1f");
        out.printf(
                Locale.ROOT,
                "p99 <= %.0f ms in %d of %d runs; per run p99 ms: %s; load average at each run's start: %s%n",
                P99_TARGET_MS,
                withinTarget(runs, PipelineBenchmark.Run::p99Micros),
                runs.size(),
                join(runs, r -> r.p99Micros() / 1000.0, "%.0f"),
                join(runs, PipelineBenchmark.Run::loadAverage, "%.2f"));
        out.printf(
                Locale.ROOT,
                "p99 of the part up to %s <= %.0f ms in %d of %d runs; per run: %s%n",
                o.split().point(),
                P99_TARGET_MS,
                withinTarget(runs, PipelineBenchmark.Run::p99BeforeSplitMicros),
                runs.size(),
                join(runs, r -> r.p99BeforeSplitMicros() / 1000.0, "%.0f"));
        out.printf(
                Locale.ROOT,
                "updates slower than %.0f ms per run: %s%n",
                P99_TARGET_MS,
                String.join(
                        ", ",
                        runs.stream()
                                .map(r -> String.format(
                                        Locale.ROOT,
                                        "%d of %d (%.2f%%)",
                                        r.slowSamples(),
                                        r.latencySamples(),
                                        100.0 * r.slowSamples() / Math.max(1, r.latencySamples())))
                                .toList()));
        out.printf(
                Locale.ROOT,
                "per run drain / copy loop: %s; drain / pipelined copy loop: %s%n",
                join(runs, r -> r.drainMBps() / r.copyMBps(), "%.2f"),
                join(runs, r -> r.drainMBps() / r.pipelinedCopyMBps(), "%.2f"));
        int encodings = runs.get(0).drains().size();
        if (encodings > 1) {
            out.println();
            out.println("| encoding | gradient record B | update B/step | drain steps/s | in MB/s | out MB/s "
                    + "| steps/s / fp32 (same run) |");
            out.println("|---|---:|---:|---|---|---|---|");
            for (int k = 0; k < encodings; k++) {
                int e = k;
                PipelineBenchmark.Drain first = runs.get(0).drains().get(k);
                out.printf(
                        Locale.ROOT,
                        "| %s | %d | %.0f | %s | %s | %s | %s |%n",
                        first.encoding(),
                        first.recordBytes(),
                        spread(runs, r -> r.drains().get(e).outBytesPerStep()).median(),
                        cell(spread(runs, r -> r.drains().get(e).stepsPerSecond()), "%.0f"),
                        cell(spread(runs, r -> r.drains().get(e).inMBps()), "%.1f"),
                        cell(spread(runs, r -> r.drains().get(e).outMBps()), "%.1f"),
                        cell(Spread.of(ratiosToFp32(runs, e)), "%.2f"));
            }
            out.println("(cells: median [min, max] over the runs)");
        }
        out.flush();
    }

    private static void row(PrintWriter out, String name, Spread s, String format) {
        out.printf(
                Locale.ROOT,
                "| %s | " + format + " | " + format + " | " + format + " |%n",
                name,
                s.median(),
                s.min(),
                s.max());
    }

    private static String cell(Spread s, String format) {
        return String.format(Locale.ROOT, format + " [" + format + ", " + format + "]", s.median(), s.min(), s.max());
    }

    private static String join(
            List<PipelineBenchmark.Run> runs, ToDoubleFunction<PipelineBenchmark.Run> value, String format) {
        return String.join(
                ", ",
                runs.stream()
                        .map(r -> String.format(Locale.ROOT, format, value.applyAsDouble(r)))
                        .toList());
    }
}
