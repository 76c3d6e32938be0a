package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Runs {@code gradstream privacy} as a user would, against values from the dp_accounting reference files. */
class PrivacyCommandTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static double number(String text, String label) {
        Matcher m = Pattern.compile(label + " ([0-9.eE+-]+)").matcher(text);
        assertThat(m.find()).as(text).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static JsonNode published(String key) throws IOException {
        JsonNode file = MAPPER.readTree(ConformanceCommandTest.referenceDir()
                .resolve("dp_accounting/published_values.json")
                .toFile());
        for (JsonNode e : file.get("entries")) {
            if (e.get("key").asText().equals(key)) {
                return e;
            }
        }
        throw new AssertionError("no published entry " + key);
    }

    /** TF Privacy's MNIST tutorial: 60 epochs of batch 256 from 60000 at z = 1.12 gives (2.92, 1e-5) classically. */
    @Test
    void tfPrivacyTutorialTwoPointNineTwoWithTheClassicConversion() throws IOException {
        JsonNode e = published("tf_privacy_tutorial_readme_default_60_epochs");
        JsonNode p = e.get("parameters");
        assertThat(p.get("sample_rate").asText()).isEqualTo("256/60000");
        double q = 256.0 / 60000;
        Run r = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                Double.toString(q),
                "--noise-multiplier",
                p.get("noise_multiplier").asText(),
                "--steps",
                p.get("steps").asText(),
                "--delta",
                p.get("delta").asText(),
                "--accountant",
                "rdp",
                "--conversion",
                "classic");
        assertThat(r.exit()).as(r.err()).isZero();
        double eps = number(r.out(), "epsilon");
        assertThat(Math.abs(eps - e.get("computed").get("eps_classic").asDouble()) / eps)
                .isLessThan(1e-6);
        assertThat(String.format(java.util.Locale.ROOT, "%.2f", eps)).isEqualTo("2.92");
        assertThat(e.get("published").asDouble()).isEqualTo(2.92);
        assertThat(number(r.out(), "best order"))
                .isEqualTo(e.get("computed").get("alpha_classic").asDouble());
        assertThat(r.out()).contains("classic conversion");

        Run opacus = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                Double.toString(q),
                "--noise-multiplier",
                "1.12",
                "--steps",
                "14040",
                "--delta",
                "1e-5",
                "--accountant",
                "RDP");
        assertThat(number(opacus.out(), "epsilon"))
                .isCloseTo(
                        e.get("computed").get("eps_opacus").asDouble(), org.assertj.core.api.Assertions.within(1e-6));
        assertThat(number(opacus.out(), "best order")).isEqualTo(8.3);
    }

    @Test
    void opacusTestValue() {
        Run r = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.04",
                "--noise-multiplier",
                "1.5",
                "--steps",
                "2250",
                "--delta",
                "1e-5",
                "--accountant",
                "rdp",
                "--conversion",
                "OPACUS");
        assertThat(r.exit()).isZero();
        assertThat(number(r.out(), "epsilon")).isCloseTo(7.32911117143, org.assertj.core.api.Assertions.within(1e-9));
    }

    /** The example: Opacus' default accountant gives 6.78 where RDP gives 7.33, and PRV is the default. */
    @Test
    void prvIsTheDefaultAndMatchesOpacusPrvAccountant() throws IOException {
        JsonNode file = MAPPER.readTree(ConformanceCommandTest.referenceDir()
                .resolve("dp_accounting/prv_epsilon.json")
                .toFile());
        JsonNode row = file.get("rows").get(0);
        String[] args = {
            "privacy",
            "epsilon",
            "--sample-rate",
            row.get("sample_rate").asText(),
            "--noise-multiplier",
            row.get("noise_multiplier").asText(),
            "--steps",
            row.get("steps").asText(),
            "--delta",
            row.get("delta").asText()
        };
        Run r = run(args);
        assertThat(r.exit()).as(r.err()).isZero();
        double eps = number(r.out(), "epsilon");
        assertThat(Math.abs(eps - row.get("eps_prv_upper").asDouble()) / eps).isLessThan(1e-6);
        assertThat(String.format(java.util.Locale.ROOT, "%.2f", eps)).isEqualTo("6.78");
        assertThat(r.out()).contains("PRV accountant: upper bound").contains("eps error 0.01");
        assertThat(number(r.out(), "estimate")).isLessThan(eps - 0.01);

        String[] explicit = java.util.Arrays.copyOf(args, args.length + 2);
        explicit[args.length] = "--accountant";
        explicit[args.length + 1] = "prv";
        assertThat(run(explicit).out()).isEqualTo(r.out());
        explicit[args.length + 1] = "rdp";
        Run rdp = run(explicit);
        assertThat(number(rdp.out(), "epsilon"))
                .isCloseTo(row.get("eps_rdp_same_params").asDouble(), org.assertj.core.api.Assertions.within(1e-9));
        assertThat(rdp.out()).contains("RDP accountant");

        // A coarser grid: a looser bound around the same estimate.
        String[] coarse = java.util.Arrays.copyOf(args, args.length + 2);
        coarse[args.length] = "--eps-error";
        coarse[args.length + 1] = "0.1";
        Run c = run(coarse);
        assertThat(c.exit()).as(c.err()).isZero();
        assertThat(number(c.out(), "epsilon")).isGreaterThan(eps);
        assertThat(c.out()).contains("eps error 0.1");
    }

    @Test
    void noiseMultiplierUnderPrvIsOpacusGetNoiseMultiplier() {
        // Opacus' get_noise_multiplier(target_epsilon=2, target_delta=1e-6, sample_rate=0.05, steps=100,
        // accountant="prv") at the commit of prv_epsilon.json returns 1.4794921875.
        Run r = run(
                "privacy",
                "noise-multiplier",
                "--target-epsilon",
                "2",
                "--sample-rate",
                "0.05",
                "--steps",
                "100",
                "--delta",
                "1e-6");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(number(r.out(), "noise multiplier")).isEqualTo(1.4794921875);
        assertThat(number(r.out(), "epsilon")).isLessThanOrEqualTo(2).isGreaterThan(1.99);
        assertThat(r.out()).contains("PRV accountant");
    }

    @Test
    void noiseMultiplierForATargetEpsilon() throws IOException {
        JsonNode e = published("opacus_test_get_noise_multiplier_rdp_steps");
        Run r = run(
                "privacy",
                "noise-multiplier",
                "--target-epsilon",
                "8",
                "--sample-rate",
                "0.04",
                "--steps",
                "2000",
                "--delta",
                "1e-5",
                "--accountant",
                "rdp");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(number(r.out(), "noise multiplier"))
                .isEqualTo(e.get("computed").get("noise_multiplier").asDouble());
        assertThat(number(r.out(), "epsilon")).isLessThanOrEqualTo(8).isGreaterThan(7.99);
    }

    @Test
    void badInputNamesTheOptionAndValue() {
        Run q = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "1.5",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5");
        assertThat(q.exit()).isEqualTo(2);
        assertThat(q.err()).contains("--sample-rate").contains("1.5");
        Run delta = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "0");
        assertThat(delta.exit()).isEqualTo(2);
        assertThat(delta.err()).contains("--delta").contains("0.0");
        Run sigma = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "NaN",
                "--steps",
                "10",
                "--delta",
                "1e-5");
        assertThat(sigma.exit()).isEqualTo(2);
        assertThat(sigma.err()).contains("--noise-multiplier").contains("NaN");
        Run steps = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "-3",
                "--delta",
                "1e-5");
        assertThat(steps.exit()).isEqualTo(2);
        assertThat(steps.err()).contains("--steps").contains("-3");
        Run conv = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
                "--accountant",
                "rdp",
                "--conversion",
                "balle");
        assertThat(conv.exit()).isEqualTo(2);
        assertThat(conv.err()).contains("--conversion").contains("balle");
        Run convWithPrv = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
                "--conversion",
                "classic");
        assertThat(convWithPrv.exit()).isEqualTo(2);
        assertThat(convWithPrv.err()).contains("--conversion").contains("applies to --accountant rdp only");
        Run accountant = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
                "--accountant",
                "gdp");
        assertThat(accountant.exit()).isEqualTo(2);
        assertThat(accountant.err()).contains("--accountant").contains("gdp");
        Run deltaError = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
                "--delta-error",
                "1e-5");
        assertThat(deltaError.exit()).isEqualTo(2);
        assertThat(deltaError.err()).contains("--delta-error").contains("(0, delta)");
        Run epsErrorWithRdp = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.1",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
                "--accountant",
                "rdp",
                "--eps-error",
                "0.1");
        assertThat(epsErrorWithRdp.exit()).isEqualTo(2);
        assertThat(epsErrorWithRdp.err()).contains("--eps-error").contains("applies to --accountant prv only");
        // A grid beyond the accountant's limit is a clear refusal, not an OutOfMemoryError.
        Run huge = run(
                "privacy",
                "epsilon",
                "--sample-rate",
                "0.001",
                "--noise-multiplier",
                "5",
                "--steps",
                "10000000",
                "--delta",
                "1e-5",
                "--eps-error",
                "1e-4");
        assertThat(huge.exit()).isEqualTo(2);
        assertThat(huge.err()).contains("PRV accounting").contains("larger epsilon error");
        Run target = run(
                "privacy",
                "noise-multiplier",
                "--target-epsilon",
                "-1",
                "--sample-rate",
                "0.04",
                "--steps",
                "2000",
                "--delta",
                "1e-5");
        assertThat(target.exit()).isEqualTo(2);
        assertThat(target.err()).contains("--target-epsilon").contains("-1.0");
        Run unreachable = run(
                "privacy",
                "noise-multiplier",
                "--target-epsilon",
                "1e-9",
                "--sample-rate",
                "1",
                "--steps",
                "1000000",
                "--delta",
                "1e-5",
                "--accountant",
                "rdp");
        assertThat(unreachable.exit()).isEqualTo(2);
        assertThat(unreachable.err()).contains("--target-epsilon").contains("out of reach");
        // Below PRV's epsilon error of 0.01 no noise is enough.
        Run belowError = run(
                "privacy",
                "noise-multiplier",
                "--target-epsilon",
                "0.005",
                "--sample-rate",
                "0.01",
                "--steps",
                "100",
                "--delta",
                "1e-5");
        assertThat(belowError.exit()).isEqualTo(2);
        assertThat(belowError.err()).contains("--target-epsilon").contains("out of reach");
    }

    @Test
    void helpListsTheSubcommands() {
        Run r = run("privacy", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("epsilon").contains("noise-multiplier");
        assertThat(run("--help").out()).contains("privacy");
        assertThat(r.out())
                .contains("--accountant prv (default")
                .contains("accounts with the accountant its CREATE names");
        assertThat(run("privacy", "epsilon", "--help").out())
                .contains("--conversion")
                .contains("classic")
                .contains("--accountant")
                .contains("prv (default");
        assertThat(run("privacy", "noise-multiplier", "--help").out()).contains("--accountant");
    }
}
