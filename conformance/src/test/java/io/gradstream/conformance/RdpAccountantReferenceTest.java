package io.gradstream.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Checks the core's accountant against values computed by Opacus' own code ({@code reference/dp_accounting}), with
 * bounds tighter than the conformance replay's 1e-6 where the arithmetic is the same as Opacus'.
 */
class RdpAccountantReferenceTest {
    private static final double TOLERANCE = 1e-6;

    private static double rel(double actual, double expected) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }

    private static double number(JsonNode obj, String field) throws ReferenceFormatException {
        return Json.number(Json.field(obj, field), field);
    }

    @Test
    void defaultOrdersAreOpacusDefaultAlphas() throws ReferenceFormatException {
        JsonNode grid = ReferenceFiles.load("dp_accounting/rdp_epsilon_grid.json");
        double[] alphas = Json.numbers(grid.get("alphas"), "alphas");
        double[] orders = RdpAccountant.defaultOrders();
        assertThat(orders).hasSize(151);
        for (int i = 0; i < orders.length; i++) {
            assertThat(orders[i]).as("order %d", i).isEqualTo(alphas[i]);
        }
    }

    @Test
    void everyGridRowMatchesOpacus() throws ReferenceFormatException {
        JsonNode rows =
                ReferenceFiles.load("dp_accounting/rdp_epsilon_grid.json").get("rows");
        assertThat(rows).hasSize(140);
        double maxEps = 0;
        double maxClassic = 0;
        for (JsonNode row : rows) {
            RdpAccountant acc = new RdpAccountant()
                    .step(number(row, "noise_multiplier"), number(row, "sample_rate"), (long) number(row, "steps"));
            double delta = number(row, "delta");
            PrivacySpent got = acc.privacySpent(delta);
            PrivacySpent classic = acc.privacySpent(delta, Conversion.CLASSIC);
            String what = row.toString();
            assertThat(rel(got.epsilon(), number(row, "eps"))).as(what).isLessThanOrEqualTo(TOLERANCE);
            assertThat(got.bestOrder()).as(what).isEqualTo(number(row, "best_alpha"));
            assertThat(rel(classic.epsilon(), number(row, "eps_classic_conversion")))
                    .as(what)
                    .isLessThanOrEqualTo(TOLERANCE);
            maxEps = Math.max(maxEps, rel(got.epsilon(), number(row, "eps")));
            maxClassic = Math.max(maxClassic, rel(classic.epsilon(), number(row, "eps_classic_conversion")));
        }
        // Far tighter than the 1e-6 contract: the same double arithmetic as Opacus, up to erfc and binom rounding.
        assertThat(maxEps).isLessThan(1e-9);
        assertThat(maxClassic).isLessThan(1e-9);
    }

    @Test
    void everyPerAlphaCurveMatchesOpacus() throws ReferenceFormatException {
        JsonNode file = ReferenceFiles.load("dp_accounting/rdp_per_alpha.json");
        double[] alphas = Json.numbers(file.get("alphas"), "alphas");
        double max = 0;
        for (JsonNode c : file.get("cases")) {
            double[] got = RdpAccountant.rdp(
                    number(c, "sample_rate"), number(c, "noise_multiplier"), (long) number(c, "steps"), alphas);
            double[] expected = Json.numbers(c.get("rdp"), "rdp");
            for (int i = 0; i < alphas.length; i++) {
                assertThat(rel(got[i], expected[i]))
                        .as("%s alpha %s", c.get("sample_rate"), alphas[i])
                        .isLessThanOrEqualTo(TOLERANCE);
                max = Math.max(max, rel(got[i], expected[i]));
            }
        }
        assertThat(max).isLessThan(1e-9);
    }

    @Test
    void theRdpColumnOfThePrvFileMatches() throws ReferenceFormatException {
        JsonNode file = ReferenceFiles.load("dp_accounting/prv_epsilon.json");
        for (JsonNode row : file.get("rows")) {
            if (!row.has("eps_rdp_same_params")) {
                continue;
            }
            double eps = RdpAccountant.epsilon(
                            number(row, "noise_multiplier"),
                            number(row, "sample_rate"),
                            (long) number(row, "steps"),
                            number(row, "delta"),
                            Conversion.OPACUS)
                    .epsilon();
            assertThat(rel(eps, number(row, "eps_rdp_same_params")))
                    .as(row.toString())
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @Test
    void everyPublishedValueIsRecomputed() throws ReferenceFormatException {
        JsonNode file = ReferenceFiles.load("dp_accounting/published_values.json");
        int checked = 0;
        for (JsonNode e : file.get("entries")) {
            JsonNode p = e.get("parameters");
            JsonNode computed = e.get("computed");
            String key = e.get("key").asText();
            if (computed.has("noise_multiplier")) {
                double q = number(p, "sample_rate");
                long steps = p.has("steps") ? (long) number(p, "steps") : (long) (number(p, "epochs") / q);
                double sigma = RdpAccountant.noiseMultiplierFor(
                        number(p, "target_epsilon"), number(p, "target_delta"), q, steps);
                assertThat(sigma).as(key).isEqualTo(number(computed, "noise_multiplier"));
                checked++;
                continue;
            }
            double[] orders = PrivacyCheck.orders(p.has("orders") ? p.get("orders") : p.get("alphas"));
            double delta = number(p, "delta");
            if (p.has("composition")) {
                RdpAccountant acc = new RdpAccountant(orders);
                for (JsonNode phase : p.get("composition")) {
                    double[] ph = Json.numbers(phase, "composition entry"); // [q, sigma, steps] as in Opacus' docstring
                    acc.step(ph[1], ph[0], (long) ph[2]);
                }
                checkSpent(key, acc, delta, computed);
                checked++;
                continue;
            }
            double q = sampleRate(p);
            double sigma = number(p, "noise_multiplier");
            if (!computed.has("eps") && !computed.has("eps_opacus") && !computed.has("eps_classic")) {
                // One result per step-count interpretation, keyed "...=STEPS".
                Iterator<Map.Entry<String, JsonNode>> variants = computed.fields();
                while (variants.hasNext()) {
                    Map.Entry<String, JsonNode> variant = variants.next();
                    String name = variant.getKey();
                    long steps = Long.parseLong(name.substring(name.lastIndexOf('=') + 1));
                    checkSpent(
                            key + " " + name,
                            new RdpAccountant(orders).step(sigma, q, steps),
                            delta,
                            variant.getValue());
                }
            } else {
                long steps = (long) number(p, "steps");
                checkSpent(key, new RdpAccountant(orders).step(sigma, q, steps), delta, computed);
            }
            if (e.path("reproduced").asBoolean(false)) {
                assertThat(e.get("published")).as(key).isNotNull();
            }
            checked++;
        }
        assertThat(checked).isEqualTo(12);
    }

    private static void checkSpent(String key, RdpAccountant acc, double delta, JsonNode values)
            throws ReferenceFormatException {
        for (String suffix : new String[] {"", "_opacus", "_classic"}) {
            if (!values.has("eps" + suffix)) {
                continue;
            }
            Conversion conv = suffix.equals("_classic") ? Conversion.CLASSIC : Conversion.OPACUS;
            PrivacySpent got = acc.privacySpent(delta, conv);
            double expected = number(values, "eps" + suffix);
            assertThat(rel(got.epsilon(), expected)).as(key + " eps" + suffix).isLessThanOrEqualTo(TOLERANCE);
            if (values.has("alpha" + suffix)) {
                assertThat(got.bestOrder()).as(key + " alpha" + suffix).isEqualTo(number(values, "alpha" + suffix));
            }
        }
    }

    /** A number, a fraction such as "256/60000", or batch_size / sample_size. */
    private static double sampleRate(JsonNode p) throws ReferenceFormatException {
        JsonNode q = p.get("sample_rate");
        if (q != null && q.isTextual() && q.textValue().contains("/")) {
            String[] parts = q.textValue().split("/");
            return Double.parseDouble(parts[0].trim()) / Double.parseDouble(parts[1].trim());
        }
        if (q == null) {
            return number(p, "batch_size") / number(p, "sample_size");
        }
        return Json.number(q, "sample_rate");
    }
}
