package io.gradstream.cli;

import io.gradstream.bench.PrivacyStudy;
import io.gradstream.demo.DemoPrivacy;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream bench privacy}: the digits demo's accuracy with DP-SGD and with DP-FTRL at the same epsilon. */
@Command(
        name = "privacy",
        mixinStandardHelpOptions = true,
        description = {
            "Trains the digits demo (softmax regression, 2 workers) through gradstream on an embedded broker, "
                    + "without privacy and, at each target epsilon, with per-example DP-SGD (Adam; workers "
                    + "Poisson-sample at --sample-rate; PRV accountant) and with DP-FTRL (momentum 0.9, the "
                    + "efficient tree; no sampling: each worker shuffles its slice every epoch and takes batches of "
                    + "--sample-rate of it, a tree per epoch), the noise calibrated to reach the target after --steps.",
            "Each setting runs --runs times with fresh noise; prints accuracy on the whole data set (median [min, max]) "
                    + "and writes privacy.csv and privacy.png (accuracy against epsilon) to --out."
        })
final class PrivacyStudyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--steps", defaultValue = "200", description = "Steps per run (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--runs", defaultValue = "3", description = "Runs per setting (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(
            names = "--epsilons",
            split = ",",
            defaultValue = "1,2,4,8",
            description = "Target epsilons (default ${DEFAULT-VALUE}).")
    List<Double> epsilons;

    @Option(names = "--delta", defaultValue = "1e-5", description = "Delta (default ${DEFAULT-VALUE}).")
    double delta;

    @Option(names = "--clip", defaultValue = "1.0", description = "Per-example clip norm (default ${DEFAULT-VALUE}).")
    double clip;

    @Option(
            names = "--sample-rate",
            defaultValue = "0.1",
            description = "DP-SGD's sampling rate and DP-FTRL's batch fraction (default ${DEFAULT-VALUE}).")
    double sampleRate;

    @Option(
            names = "--ftrl-lr",
            defaultValue = "" + DemoPrivacy.FTRL_LEARNING_RATE,
            description = "DP-FTRL's learning rate (default ${DEFAULT-VALUE}).")
    double ftrlLearningRate;

    @Option(
            names = "--seed",
            defaultValue = "1",
            description = "Seed of the runs' noise secrets (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--out",
            defaultValue = "privacy-out",
            description = "Folder for privacy.csv and privacy.png (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "-D", paramLabel = "KEY=VALUE", description = "Configuration of the job.")
    Map<String, String> properties = new java.util.LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        var err = spec.commandLine().getErr();
        if (steps > 100_000 || runs > 100) {
            err.println("gradstream bench privacy: --steps is at most 100000 and --runs at most 100");
            return 2;
        }
        PrivacyStudy.Options options;
        try {
            Configuration flink = new Configuration();
            properties.forEach(flink::setString);
            options = new PrivacyStudy.Options(
                    steps, runs, epsilons, delta, clip, sampleRate, ftrlLearningRate, seed, out, flink);
            PrivacyStudy.run(options, spec.commandLine().getOut());
        } catch (IllegalArgumentException e) {
            err.println("gradstream bench privacy: " + e.getMessage());
            return 2;
        }
        return 0;
    }
}
