package io.gradstream.cli;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import io.gradstream.core.privacy.prv.PrvAccountant;
import io.gradstream.core.privacy.prv.PrvAccountant.Bounds;
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
 * {@code gradstream privacy}: the (epsilon, delta) of DP-SGD as Opacus computes it, by its default PRV accountant
 * (Gopi, Lee, Wutschitz 2021) or its RDP accountant (Mironov, Talwar, Zhang 2019), and the noise multiplier that meets
 * a target epsilon.
 */
@Command(
        name = "privacy",
        mixinStandardHelpOptions = true,
        description = {
            "Differential-privacy accounting for DP-SGD with Poisson sampling, as Opacus does it: "
                    + "--accountant prv (default, as in Opacus: privacy random variables composed by FFT, "
                    + "Gopi, Lee, Wutschitz 2021) or rdp (Renyi DP of the sampled Gaussian mechanism at Opacus' "
                    + "orders 1.1..10.9, 12..63).",
            "A model in the service accounts with the accountant its CREATE names (the privacy block's "
                    + "accountant: PRV by default; models created before 0.4.0 keep RDP); `gradstream model status` "
                    + "shows which."
        },
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

    /** The two accountants, by their Opacus names. */
    enum Accountant {
        PRV,
        RDP
    }

    /** The accountant option both subcommands take; PRV by default, as Opacus' make_private. */
    static final class AccountantChoice {
        @Option(
                names = "--accountant",
                paramLabel = "prv|rdp",
                defaultValue = "prv",
                description = "prv (default, Opacus' default: tighter) or rdp (what the service's privacy ledger "
                        + "reports until the model setting for the accountant lands).",
                converter = AccountantConverter.class)
        Accountant accountant;
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
                        + "multiplier S at the given delta.",
                "--accountant prv (default): the upper bound Opacus' PRVAccountant.get_epsilon returns, within "
                        + "--eps-error of the true epsilon, with the estimate beside it.",
                "--accountant rdp: also the RDP order that attains it; --conversion opacus (default): Balle et "
                        + "al. 2020, Thm 21, as Opacus reports it; classic: eps = min rdp(a) - log(delta)/(a-1) "
                        + "(Mironov 2017), as TF Privacy and Opacus before 2021.",
                "A model in the service reports the epsilon of its own accountant (`gradstream model status`)."
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

        @Mixin
        AccountantChoice choice;

        @Option(
                names = "--conversion",
                paramLabel = "opacus|classic",
                description = "With --accountant rdp: the RDP to (eps, delta) conversion, ${COMPLETION-CANDIDATES} "
                        + "(default: opacus).",
                converter = ConversionConverter.class,
                completionCandidates = Conversions.class)
        Conversion conversion;

        @Option(
                names = "--eps-error",
                paramLabel = "E",
                description = "With --accountant prv: the allowed error of epsilon, > 0 (default: 0.01, as Opacus).")
        Double epsError;

        @Option(
                names = "--delta-error",
                paramLabel = "D",
                description = "With --accountant prv: the allowed error of delta, in (0, delta) (default: delta / "
                        + "1000, as Opacus).")
        Double deltaError;

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
            PrintWriter out = spec.commandLine().getOut();
            if (choice.accountant == Accountant.RDP) {
                require(spec, epsError == null, "--eps-error", epsError, "applies to --accountant prv only");
                require(spec, deltaError == null, "--delta-error", deltaError, "applies to --accountant prv only");
                Conversion conv = conversion == null ? Conversion.OPACUS : conversion;
                PrivacySpent spent =
                        RdpAccountant.epsilon(noiseMultiplier, sampling.sampleRate, sampling.steps, delta, conv);
                out.println(String.format(
                        Locale.ROOT,
                        "epsilon %s  best order %s  (delta %s, RDP accountant, %s conversion)",
                        spent.epsilon(),
                        spent.bestOrder(),
                        delta,
                        conv.name().toLowerCase(Locale.ROOT)));
                out.flush();
                return 0;
            }
            require(
                    spec,
                    conversion == null,
                    "--conversion",
                    conversion == null ? null : conversion.name().toLowerCase(Locale.ROOT),
                    "applies to --accountant rdp only");
            double eErr = epsError == null ? PrvAccountant.DEFAULT_EPS_ERROR : epsError;
            double dErr = deltaError == null ? delta * PrvAccountant.DEFAULT_DELTA_ERROR_FRACTION : deltaError;
            require(spec, eErr > 0 && !Double.isInfinite(eErr), "--eps-error", eErr, "must be finite and > 0");
            require(spec, dErr > 0 && dErr < delta, "--delta-error", dErr, "must be in (0, delta)");
            Bounds b = prv(
                    spec,
                    () -> PrvAccountant.bounds(
                            java.util.List.of(
                                    new PrvAccountant.Phase(noiseMultiplier, sampling.sampleRate, sampling.steps)),
                            delta,
                            eErr,
                            dErr));
            out.println(String.format(
                    Locale.ROOT,
                    "epsilon %s  (delta %s, PRV accountant: upper bound; estimate %s, eps error %s, delta error %s)",
                    b.upper(),
                    delta,
                    b.estimate(),
                    eErr,
                    dErr));
            out.flush();
            return 0;
        }
    }

    /** Runs a PRV computation; parameters it cannot account (e.g. a grid beyond its limit) are exit status 2. */
    private static <T> T prv(CommandSpec spec, java.util.function.Supplier<T> computation) {
        try {
            return computation.get();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "PRV accounting: " + e.getMessage());
        }
    }

    @Command(
            name = "noise-multiplier",
            mixinStandardHelpOptions = true,
            description = {
                "Prints the noise multiplier that keeps N steps at sampling rate Q within the target "
                        + "epsilon at delta, found like Opacus' get_noise_multiplier: doubling from 10, then "
                        + "bisection until epsilon is within the tolerance below the target.",
                "--accountant prv (default, as Opacus' make_private_with_epsilon): the PRV upper bound at "
                        + "eps error 0.01 and delta error delta / 1000; rdp: the RDP epsilon, Opacus conversion. "
                        + "PRV takes about a second per bisection step on long runs."
            })
    static final class NoiseMultiplier implements Callable<Integer> {
        @Option(names = "--target-epsilon", required = true, paramLabel = "E", description = "Target epsilon, > 0.")
        double targetEpsilon;

        @Mixin
        Sampling sampling;

        @Mixin
        AccountantChoice choice;

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
            boolean prv = choice.accountant == Accountant.PRV;
            if (prv) {
                require(spec, sampleRate > 0, "--sample-rate", sampleRate, "must be > 0 for a PRV noise search");
                require(spec, steps >= 1, "--steps", steps, "must be >= 1 for a PRV noise search");
            }
            double sigma;
            try {
                sigma = prv
                        ? PrvAccountant.noiseMultiplier(targetEpsilon, delta, sampleRate, steps, tolerance)
                        : RdpAccountant.noiseMultiplierFor(targetEpsilon, delta, sampleRate, steps, tolerance);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "Invalid value for option '--target-epsilon': " + targetEpsilon + " (" + e.getMessage() + ")");
            }
            double eps = prv
                    ? PrvAccountant.epsilon(sigma, sampleRate, steps, delta)
                    : RdpAccountant.epsilon(sigma, sampleRate, steps, delta, Conversion.OPACUS)
                            .epsilon();
            PrintWriter out = spec.commandLine().getOut();
            out.println(String.format(
                    Locale.ROOT,
                    "noise multiplier %s  (epsilon %s at delta %s, %s accountant)",
                    sigma,
                    eps,
                    delta,
                    choice.accountant.name()));
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

    /** Accepts prv/rdp in any case, naming the value otherwise. */
    static final class AccountantConverter implements CommandLine.ITypeConverter<Accountant> {
        @Override
        public Accountant convert(String value) {
            try {
                return Accountant.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not one of prv, rdp");
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
