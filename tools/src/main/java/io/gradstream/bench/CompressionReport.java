package io.gradstream.bench;

import io.gradstream.bench.CompressionStudy.Options;
import io.gradstream.bench.CompressionStudy.Summary;
import io.gradstream.bench.CompressionStudy.Trial;
import io.gradstream.schemas.Encoding;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code gradstream bench compression} reports once its runs trained: {@code compression.csv} (every run's loss,
 * accuracy and record bytes per step), the summary table (bytes per step and accuracy against FP32) and a PNG plot
 * per model and optimizer.
 */
final class CompressionReport {
    private CompressionReport() {}

    static CompressionStudy.Result report(Options o, List<Trial> trials, double seconds, PrintWriter out)
            throws IOException {
        Path csv = o.out().resolve("compression.csv");
        StringBuilder b = new StringBuilder(
                "model,optimizer,run,gradients,error_feedback,parameters,step,batch_loss,loss,accuracy,"
                        + "gradient_bytes,parameter_bytes,cumulative_bytes\n");
        for (Trial t : trials) {
            long cumulative = 0;
            for (int step = 0; step <= o.steps(); step++) {
                cumulative += t.gradientBytes[step] + t.parameterBytes[step];
                b.append(String.format(
                        Locale.ROOT,
                        "%s,%s,%s,%s,%b,%s,%d,%s,%s,%s,%d,%d,%d%n",
                        t.net.name(),
                        t.optimizer,
                        t.run.label(),
                        t.run.gradients().encoding()
                                + (t.run.gradients().encoding() == Encoding.TOPK
                                        ? " " + t.run.gradients().topKFraction()
                                        : ""),
                        t.run.gradients().errorFeedback(),
                        t.run.parameters(),
                        step,
                        num(t.batchLoss[step]),
                        num(t.loss[step]),
                        num(t.accuracy[step]),
                        t.gradientBytes[step],
                        t.parameterBytes[step],
                        cumulative));
            }
        }
        Files.writeString(csv, b);
        List<Summary> summary = summarize(o, trials);
        List<Path> plots = plots(o, trials);
        out.printf(
                Locale.ROOT, "compression study: %d runs of %d steps in %.0f s%n", trials.size(), o.steps(), seconds);
        out.println(
                "| model | optimizer | run | gradient B/step | parameter B/step | FP32 bytes ÷ run's | loss | accuracy "
                        + "| accuracy − FP32 |");
        out.println("|---|---|---|---:|---:|---:|---:|---:|---:|");
        for (Summary r : summary) {
            out.printf(
                    Locale.ROOT,
                    "| %s | %s | %s | %.0f | %.0f | %.1f | %.4f | %.4f | %+.4f |%n",
                    r.model(),
                    r.optimizer(),
                    r.run(),
                    r.gradientBytesPerStep(),
                    r.parameterBytesPerStep(),
                    r.ratioToFp32(),
                    r.loss(),
                    r.accuracy(),
                    r.accuracyMinusFp32());
        }
        out.println("wrote " + csv + " and " + plots.size() + " plots");
        out.flush();
        return new CompressionStudy.Result(csv, plots, summary, seconds);
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }

    /**
     * Bytes per step over steps 1..N (the gradients of steps 1..N and the updates of versions 1..N, snapshots among
     * them; version 0's initial snapshot left out), and the final accuracy, each against the FP32 run of the same
     * model and optimizer (NaN when there is none).
     */
    static List<Summary> summarize(Options o, List<Trial> trials) {
        List<Summary> rows = new ArrayList<>();
        for (Trial t : trials) {
            Trial fp32 = trials.stream()
                    .filter(x -> x.net == t.net
                            && x.optimizer.equals(t.optimizer)
                            && x.run.label().equals("fp32"))
                    .findFirst()
                    .orElse(null);
            double g = perStep(t.gradientBytes, o.steps());
            double p = perStep(t.parameterBytes, o.steps());
            double ratio = fp32 == null
                    ? Double.NaN
                    : (perStep(fp32.gradientBytes, o.steps()) + perStep(fp32.parameterBytes, o.steps())) / (g + p);
            double acc = t.accuracy[o.steps()];
            rows.add(new Summary(
                    t.net.name(),
                    t.optimizer,
                    t.run.label(),
                    g,
                    p,
                    ratio,
                    t.loss[o.steps()],
                    acc,
                    fp32 == null ? Double.NaN : acc - fp32.accuracy[o.steps()]));
        }
        return rows;
    }

    private static double perStep(long[] bytes, int steps) {
        long sum = 0;
        for (int i = 1; i <= steps; i++) {
            sum += bytes[i];
        }
        return (double) sum / steps;
    }

    /** One PNG per model and optimizer: loss and accuracy against steps and against cumulative bytes (log scale). */
    private static List<Path> plots(Options o, List<Trial> trials) throws IOException {
        List<Path> files = new ArrayList<>();
        Map<String, List<Trial>> groups = new LinkedHashMap<>();
        trials.forEach(t -> groups.computeIfAbsent(t.net.name() + "-" + t.optimizer, k -> new ArrayList<>())
                .add(t));
        for (var e : groups.entrySet()) {
            List<PngPlot.Series> lossSteps = new ArrayList<>();
            List<PngPlot.Series> accSteps = new ArrayList<>();
            List<PngPlot.Series> lossBytes = new ArrayList<>();
            List<PngPlot.Series> accBytes = new ArrayList<>();
            for (Trial t : e.getValue()) {
                int n = o.steps() + 1;
                double[] steps = new double[n];
                double[] bytes = new double[n];
                long cumulative = 0;
                for (int i = 0; i < n; i++) {
                    cumulative += t.gradientBytes[i] + t.parameterBytes[i];
                    steps[i] = i;
                    bytes[i] = cumulative / 1e6;
                }
                boolean dashed = !t.run.gradients().errorFeedback()
                        && (t.run.gradients().encoding() == Encoding.TOPK
                                || t.run.gradients().encoding() == Encoding.INT8_BLOCK);
                String label = t.run.label() + " -> " + t.run.shortParameters();
                lossSteps.add(new PngPlot.Series(label, steps, t.loss, dashed));
                accSteps.add(new PngPlot.Series(label, steps, t.accuracy, dashed));
                lossBytes.add(new PngPlot.Series(label, bytes, t.loss, dashed));
                accBytes.add(new PngPlot.Series(label, bytes, t.accuracy, dashed));
            }
            Path file = o.out().resolve("compression-" + e.getKey() + ".png");
            PngPlot.writeSeries(
                    file,
                    "gradstream bench compression: " + e.getKey() + ", " + o.steps()
                            + " steps (dashed: no worker error feedback; -> parameters)",
                    List.of(
                            new PngPlot.SeriesPanel("loss (whole data set) vs steps", "steps", false, lossSteps),
                            new PngPlot.SeriesPanel("accuracy vs steps", "steps", false, accSteps),
                            new PngPlot.SeriesPanel(
                                    "loss vs bytes on the wire (gradients + parameters, log)", "MB", true, lossBytes),
                            new PngPlot.SeriesPanel("accuracy vs bytes on the wire (log)", "MB", true, accBytes)));
            files.add(file);
        }
        return files;
    }
}
