package io.gradstream.cli;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradstream privacy}: the (epsilon, delta) of DP-SGD from the Rényi-DP of the sampled Gaussian mechanism
 * (Mironov, Talwar, Zhang 2019) as Opacus computes it, and the noise multiplier that meets a target epsilon.
 */
@Command(
        name = "privacy",
        mixinStandardHelpOptions = true,
        description = "Differential-privacy accounting for DP-SGD (RDP of the sampled Gaussian mechanism, "
                + "Opacus' default orders 1.1..10.9, 12..63).",
        subcommands = {PrivacyCommand.Epsilon.class, PrivacyCommand.NoiseMultiplier.class},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:computed", "2:invalid option value"})
final class PrivacyCommand implements Runnable {
    static final int EXIT_BAD_INPUT = 2;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Picocli reports a ParameterException with exit status 2 and the usage; the message names option and value. */
    private static void require(CommandSpec spec, boolean ok, String option, Object value, String rule) {
        if (!ok) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "Invalid value for option '" + option + "': " + value + " (" + rule + ")");
        }
    }

    /** The options both subcommands take: how often, how many steps, which delta. */
    static final class Sampling {
        @Option(
                names = "--sample-rate",
                required = true,
                paramLabel = "Q",
                description = "Sampling rate per step (batch size / dataset size), in [0, 1].")
        double sampleRate;

        @Option(names = "--steps", required = true, paramLabel = "N", description = "Number of steps, >= 0.")
        long steps;

        @Option(names = "--delta", required = true, paramLabel = "D", description = "Target delta, in (0, 1).")
        double delta;

        void check(CommandSpec spec) {
            require(spec, sampleRate >= 0 && sampleRate <= 1, "--sample-rate", sampleRate, "must be in [0, 1]");
            require(spec, steps >= 0, "--steps", steps, "must be >= 0");
            require(spec, delta > 0 && delta < 1, "--delta", delta, "must be in (0, 1)");
        }
    }

    @Command(
            name = "epsilon",
            mixinStandardHelpOptions = true,
            description = {
                "Prints the epsilon of N steps of DP-SGD with Poisson sampling rate Q and noise "
                        + "multiplier S at the given delta, and the RDP order that attains it.",
                "--conversion opacus (default): Balle et al. 2020, Thm 21, as Opacus reports it; classic: "
                        + "eps = min rdp(a) - log(delta)/(a-1) (Mironov 2017), as TF Privacy and Opacus before 2021."
            })
    static final class Epsilon implements Callable<Integer> {
        @Mixin
        Sampling sampling;

        @Option(
                names = "--noise-multiplier",
                required = true,
                paramLabel = "S",
                description = "Noise standard deviation over the clipping norm, >= 0.")
        double noiseMultiplier;

        @Option(
                names = "--conversion",
                paramLabel = "opacus|classic",
                defaultValue = "opacus",
                description = "RDP to (eps, delta) conversion: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
                converter = ConversionConverter.class,
                completionCandidates = Conversions.class)
        Conversion conversion;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            sampling.check(spec);
            require(
                    spec,
                    noiseMultiplier >= 0 && !Double.isInfinite(noiseMultiplier),
                    "--noise-multiplier",
                    noiseMultiplier,
                    "must be finite and >= 0");
            double delta = sampling.delta;
            PrivacySpent spent =
                    RdpAccountant.epsilon(noiseMultiplier, sampling.sampleRate, sampling.steps, delta, conversion);
            PrintWriter out = spec.commandLine().getOut();
            out.println(String.format(
                    Locale.ROOT,
                    "epsilon %s  best order %s  (delta %s, %s conversion)",
                    spent.epsilon(),
                    spent.bestOrder(),
                    delta,
                    conversion.name().toLowerCase(Locale.ROOT)));
            out.flush();
            return 0;
        }
    }

    @Command(
            name = "noise-multiplier",
            mixinStandardHelpOptions = true,
            description = "Prints the noise multiplier that keeps N steps at sampling rate Q within the target "
                    + "epsilon at delta (Opacus conversion), found like Opacus' get_noise_multiplier: doubling from "
                    + "10, then bisection until epsilon is within the tolerance below the target.")
    static final class NoiseMultiplier implements Callable<Integer> {
        @Option(names = "--target-epsilon", required = true, paramLabel = "E", description = "Target epsilon, > 0.")
        double targetEpsilon;

        @Mixin
        Sampling sampling;

        @Option(
                names = "--epsilon-tolerance",
                paramLabel = "T",
                defaultValue = "0.01",
                description = "Stop once epsilon is within T below the target (default: ${DEFAULT-VALUE}).")
        double tolerance;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            require(
                    spec,
                    targetEpsilon > 0 && !Double.isInfinite(targetEpsilon),
                    "--target-epsilon",
                    targetEpsilon,
                    "must be finite and > 0");
            sampling.check(spec);
            double sampleRate = sampling.sampleRate;
            long steps = sampling.steps;
            double delta = sampling.delta;
            require(
                    spec,
                    tolerance > 0 && !Double.isInfinite(tolerance),
                    "--epsilon-tolerance",
                    tolerance,
                    "must be finite and > 0");
            double sigma;
            try {
                sigma = RdpAccountant.noiseMultiplierFor(targetEpsilon, delta, sampleRate, steps, tolerance);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "Invalid value for option '--target-epsilon': " + targetEpsilon + " (" + e.getMessage() + ")");
            }
            double eps = RdpAccountant.epsilon(sigma, sampleRate, steps, delta, Conversion.OPACUS)
                    .epsilon();
            PrintWriter out = spec.commandLine().getOut();
            out.println(String.format(Locale.ROOT, "noise multiplier %s  (epsilon %s at delta %s)", sigma, eps, delta));
            out.flush();
            return 0;
        }
    }

    /** Accepts opacus/classic in any case, naming the option and value otherwise. */
    static final class ConversionConverter implements CommandLine.ITypeConverter<Conversion> {
        @Override
        public Conversion convert(String value) {
            try {
                return Conversion.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not one of opacus, classic");
            }
        }
    }

    static final class Conversions implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.List.of("opacus", "classic").iterator();
        }
    }
}
