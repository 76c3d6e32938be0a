package io.gradstream.cli;

import io.gradstream.bench.CompressionStudy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream bench compression}: accuracy against bytes on the wire for every encoding, in one run. */
@Command(
        name = "compression",
        mixinStandardHelpOptions = true,
        description = {
            "Trains the digits demo model (softmax regression) and a 64-H-10 MLP through gradstream on an embedded "
                    + "broker (the job as gradstream local runs it), once per encoding, every run side by side with "
                    + "the same seed, minibatches and steps; records loss and accuracy on the whole data set against "
                    + "steps and against the record bytes (key + value) on gradients and parameters.",
            "A run is GRADIENTS[/PARAMETERS]: gradients fp32, fp16, bf16, int8 or topk:F (:noef turns the worker's "
                    + "error feedback off); parameters fp32, bf16 or fp16 snapshots, or an int8 or topk:F delta "
                    + "stream (default: the gradients' encoding, as snapshots for fp32/fp16/bf16, as deltas for "
                    + "int8/topk).",
            "Writes compression.csv and compression-MODEL-OPTIMIZER.png to --out and prints the summary table."
        })
final class CompressionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--steps", defaultValue = "200", description = "Steps per run (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(
            names = "--out",
            defaultValue = "compression-out",
            description = "Folder for the CSV and plots (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(
            names = "--models",
            split = ",",
            defaultValue = "digits,mlp",
            description = "digits and/or mlp (default ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(
            names = "--optimizers",
            split = ",",
            defaultValue = "adam,sgd",
            description =
                    "adam (Adam), amsgrad (Adam with amsgrad, Adam's learning rate and runs) and/or sgd (SGD with "
                            + "momentum 0.9) (default ${DEFAULT-VALUE}).")
    List<String> optimizers;

    @Option(
            names = "--encodings",
            split = ",",
            description = "Runs, e.g. fp32,bf16,topk:0.01,topk:0.01:noef,topk:0.01/int8 (default: every encoding "
                    + "for adam, a TOPK 1% set for sgd; see the description).")
    List<String> encodings = new ArrayList<>();

    @Option(
            names = "--eval-every",
            defaultValue = "5",
            description = "Steps between evaluations on the whole data set (default ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(
            names = "--snapshot-every",
            defaultValue = "100",
            description = "Full snapshot period of delta streams (default ${DEFAULT-VALUE}).")
    int snapshotEvery;

    @Option(
            names = "--hidden",
            defaultValue = "256",
            description = "Hidden units of the MLP (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(
            names = "--seed",
            defaultValue = "1",
            description = "Seed of minibatches and MLP init (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "-D", paramLabel = "KEY=VALUE", description = "Configuration of the job.")
    Map<String, String> properties = new java.util.LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || steps > 100_000 || evalEvery < 1 || snapshotEvery < 1 || hidden < 1 || hidden > 4096) {
            spec.commandLine()
                    .getErr()
                    .println("gradstream bench compression: --steps (at most 100000), --eval-every, --snapshot-every "
                            + "and --hidden (at most 4096) must be >= 1");
            return 2;
        }
        Configuration flink = new Configuration();
        properties.forEach(flink::setString);
        try {
            CompressionStudy.run(
                    new CompressionStudy.Options(
                            steps, out, models, optimizers, encodings, evalEvery, snapshotEvery, hidden, seed, flink),
                    spec.commandLine().getOut());
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("gradstream bench compression: " + e.getMessage());
            return 2;
        }
        return 0;
    }
}
