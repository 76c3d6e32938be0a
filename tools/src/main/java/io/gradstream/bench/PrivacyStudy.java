package io.gradstream.bench;

import io.gradstream.core.privacy.Accountant;
import io.gradstream.demo.DemoPrivacy;
import io.gradstream.demo.DigitsDemo;
import io.gradstream.job.JobSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.flink.configuration.Configuration;

/**
 * Utility against privacy on the digits demo: the demo trained through the service with DP-SGD (Poisson sampling,
 * PRV accountant) and with DP-FTRL (no sampling, tree aggregation; Kairouz et al. 2021, arXiv:2103.00039) at each
 * target epsilon, several runs each with fresh noise, beside the non-private demo; accuracy on the whole data set.
 */
public final class PrivacyStudy {
    private static final int WORKERS = 2;

    /**
     * What to run.
     *
     * @param epsilons the target epsilons, each reached after {@code steps} steps
     * @param ftrlLearningRate DP-FTRL's learning rate (DP-SGD keeps the demo's Adam)
     */
    public record Options(
            int steps,
            int runs,
            List<Double> epsilons,
            double delta,
            double clipNorm,
            double sampleRate,
            double ftrlLearningRate,
            long seed,
            Path out,
            Configuration flink) {
        public Options {
            if (steps < 1 || runs < 1 || epsilons.isEmpty()) {
                throw new IllegalArgumentException("--steps and --runs must be >= 1 and --epsilons not empty");
            }
            for (double e : epsilons) {
                if (!(e > 0) || Double.isInfinite(e)) {
                    throw new IllegalArgumentException("every epsilon must be finite and > 0, got " + e);
                }
            }
            DemoPrivacy.checkRates(sampleRate, ftrlLearningRate);
        }
    }

    /** One training run; {@code mechanism} null is the non-private demo (epsilon and sigma NaN). */
    public record Run(
            DemoPrivacy.Mechanism mechanism,
            double targetEpsilon,
            int run,
            double epsilon,
            double noiseMultiplier,
            double accuracy,
            double loss,
            double seconds) {
        String label() {
            return mechanism == null ? "non-private" : mechanism == DemoPrivacy.Mechanism.DP_SGD ? "DP-SGD" : "DP-FTRL";
        }
    }

    /** The runs and the files written. */
    public record Result(List<Run> runs, Path csv, Path plot) {}

    private PrivacyStudy() {}

    public static Result run(Options o, PrintWriter out) throws Exception {
        Files.createDirectories(o.out());
        List<Run> runs = new ArrayList<>();
        try (BenchServices services = BenchServices.open("privacy")) {
            Path dir = services.dir();
            JobSettings s = services.startBrokerAndJob(o.flink(), 2);
            out.printf(
                    Locale.ROOT,
                    "privacy study: %d steps, %d runs per setting, epsilons %s at delta %.0e, clip %.2f, "
                            + "rate %.3f, DP-FTRL learning rate %.3g; web UI %s%n",
                    o.steps(),
                    o.runs(),
                    o.epsilons(),
                    o.delta(),
                    o.clipNorm(),
                    o.sampleRate(),
                    o.ftrlLearningRate(),
                    services.local().webUrl());
            out.flush();
            DigitsDemo.Clients clients = DigitsDemo.Clients.of(s);
            PrintWriter quiet = new PrintWriter(Writer.nullWriter());
            SplittableRandom secrets = new SplittableRandom(o.seed());
            for (int r = 0; r < o.runs(); r++) {
                runs.add(train(s, clients, o, null, Double.NaN, r, null, quiet, out));
                for (double eps : o.epsilons()) {
                    for (DemoPrivacy.Mechanism m : DemoPrivacy.Mechanism.values()) {
                        Path secret = secret(dir, secrets);
                        DemoPrivacy dp = m == DemoPrivacy.Mechanism.DP_FTRL
                                ? DemoPrivacy.dpFtrl(
                                        eps, o.delta(), o.clipNorm(), o.sampleRate(), secret, o.ftrlLearningRate())
                                : DemoPrivacy.dpSgd(
                                        eps, o.delta(), o.clipNorm(), o.sampleRate(), secret, Accountant.PRV);
                        runs.add(train(s, clients, o, m, eps, r, dp, quiet, out));
                    }
                }
            }
        }
        Path csv = o.out().resolve("privacy.csv");
        writeCsv(csv, runs);
        Path plot = o.out().resolve("privacy.png");
        plot(plot, o, runs);
        printSummary(o, runs, out);
        out.println("wrote " + csv + " and " + plot);
        out.flush();
        return new Result(runs, csv, plot);
    }

    private static Run train(
            JobSettings s,
            DigitsDemo.Clients clients,
            Options o,
            DemoPrivacy.Mechanism m,
            double eps,
            int r,
            DemoPrivacy dp,
            PrintWriter quiet,
            PrintWriter out)
            throws Exception {
        long start = System.nanoTime();
        DigitsDemo.Result d = DigitsDemo.run(s, clients, WORKERS, o.steps(), dp, quiet);
        Run run = new Run(
                m,
                eps,
                r + 1,
                d.epsilon(),
                d.noiseMultiplier(),
                d.lastAccuracy(),
                d.lastLoss(),
                (System.nanoTime() - start) / 1e9);
        out.printf(
                Locale.ROOT,
                "run %d %-11s target %-5s epsilon %-6s sigma %-6s accuracy %.3f loss %.4f (%.1f s)%n",
                run.run(),
                run.label(),
                Double.isNaN(eps) ? "-" : String.format(Locale.ROOT, "%.2f", eps),
                Double.isNaN(run.epsilon()) ? "-" : String.format(Locale.ROOT, "%.3f", run.epsilon()),
                Double.isNaN(run.noiseMultiplier()) ? "-" : String.format(Locale.ROOT, "%.3f", run.noiseMultiplier()),
                run.accuracy(),
                run.loss(),
                run.seconds());
        out.flush();
        return run;
    }

    /** A fresh 256-bit noise secret for one run, owner-only, in the study's work folder. */
    private static Path secret(Path dir, SplittableRandom secrets) throws IOException {
        byte[] bytes = new byte[32];
        secrets.nextBytes(bytes);
        Path file = Files.createTempFile(dir, "dp-seed-", "");
        Files.writeString(file, HexFormat.of().formatHex(bytes));
        return file;
    }

    /** Median, min and max of the accuracies of {@code label} at {@code eps} (NaN-safe: non-private ignores eps). */
    static double[] accuracyStats(List<Run> runs, String label, double eps) {
        double[] a = runs.stream()
                .filter(r -> r.label().equals(label) && (r.mechanism() == null || r.targetEpsilon() == eps))
                .mapToDouble(Run::accuracy)
                .sorted()
                .toArray();
        if (a.length == 0) {
            return new double[] {Double.NaN, Double.NaN, Double.NaN};
        }
        double median = a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
        return new double[] {median, a[0], a[a.length - 1]};
    }

    private static void writeCsv(Path csv, List<Run> runs) throws IOException {
        StringBuilder b =
                new StringBuilder("mechanism,target_epsilon,run,epsilon,noise_multiplier,accuracy,loss,seconds\n");
        for (Run r : runs) {
            b.append(String.format(
                    Locale.ROOT,
                    "%s,%s,%d,%s,%s,%.6f,%.6f,%.2f%n",
                    r.label(),
                    Double.isNaN(r.targetEpsilon()) ? "" : r.targetEpsilon(),
                    r.run(),
                    Double.isNaN(r.epsilon()) ? "" : String.format(Locale.ROOT, "%.6f", r.epsilon()),
                    Double.isNaN(r.noiseMultiplier()) ? "" : String.format(Locale.ROOT, "%.6f", r.noiseMultiplier()),
                    r.accuracy(),
                    r.loss(),
                    r.seconds()));
        }
        Files.writeString(csv, b);
    }

    private static void plot(Path file, Options o, List<Run> runs) throws IOException {
        double[] eps =
                o.epsilons().stream().mapToDouble(Double::doubleValue).sorted().toArray();
        List<PngPlot.Series> series = new ArrayList<>();
        for (String label : List.of("DP-SGD", "DP-FTRL")) {
            double[] median = new double[eps.length];
            double[] min = new double[eps.length];
            double[] max = new double[eps.length];
            for (int i = 0; i < eps.length; i++) {
                double[] st = accuracyStats(runs, label, eps[i]);
                median[i] = st[0];
                min[i] = st[1];
                max[i] = st[2];
            }
            series.add(new PngPlot.Series(label + " (median)", eps, median, false));
            if (o.runs() > 1) {
                series.add(new PngPlot.Series(label + " (min)", eps, min, true));
                series.add(new PngPlot.Series(label + " (max)", eps, max, true));
            }
        }
        double plain = accuracyStats(runs, "non-private", Double.NaN)[0];
        double[] flat = new double[eps.length];
        Arrays.fill(flat, plain);
        series.add(new PngPlot.Series("non-private (median)", eps, flat, true));
        PngPlot.writeSeries(
                file,
                String.format(
                        Locale.ROOT,
                        "digits demo through gradstream: accuracy after %d steps against epsilon (delta %.0e), %d runs",
                        o.steps(),
                        o.delta(),
                        o.runs()),
                List.of(new PngPlot.SeriesPanel(
                        "accuracy (whole data set) vs target epsilon (log)", "epsilon", true, series)));
    }

    private static void printSummary(Options o, List<Run> runs, PrintWriter out) {
        double[] plain = accuracyStats(runs, "non-private", Double.NaN);
        out.printf(
                Locale.ROOT,
                "%nnon-private accuracy: %.3f [%.3f, %.3f]%n| epsilon | DP-SGD accuracy | DP-FTRL accuracy | "
                        + "DP-SGD sigma | DP-FTRL sigma |%n|---:|---|---|---:|---:|%n",
                plain[0],
                plain[1],
                plain[2]);
        for (double eps : o.epsilons()) {
            double[] sgd = accuracyStats(runs, "DP-SGD", eps);
            double[] ftrl = accuracyStats(runs, "DP-FTRL", eps);
            out.printf(
                    Locale.ROOT,
                    "| %.2f | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] | %.3f | %.3f |%n",
                    eps,
                    sgd[0],
                    sgd[1],
                    sgd[2],
                    ftrl[0],
                    ftrl[1],
                    ftrl[2],
                    sigma(runs, "DP-SGD", eps),
                    sigma(runs, "DP-FTRL", eps));
        }
    }

    private static double sigma(List<Run> runs, String label, double eps) {
        return runs.stream()
                .filter(r -> r.label().equals(label) && r.targetEpsilon() == eps)
                .mapToDouble(Run::noiseMultiplier)
                .findFirst()
                .orElse(Double.NaN);
    }
}
