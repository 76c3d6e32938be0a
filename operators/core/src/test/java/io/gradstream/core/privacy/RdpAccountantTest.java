package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import io.gradstream.core.testing.ReferenceData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Checks the accountant against values computed by Opacus' own code ({@code reference/dp_accounting}). */
class RdpAccountantTest {
    private static final double TOLERANCE = 1e-6;

    private static double rel(double actual, double expected) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }

    @Test
    void defaultOrdersAreOpacusDefaultAlphas() {
        Map<String, Object> grid = ReferenceData.load("dp_accounting/rdp_epsilon_grid.json");
        List<?> alphas = (List<?>) grid.get("alphas");
        double[] orders = RdpAccountant.defaultOrders();
        assertThat(orders).hasSize(151);
        for (int i = 0; i < orders.length; i++) {
            assertThat(orders[i]).as("order %d", i).isEqualTo(ReferenceData.number(alphas.get(i)));
        }
    }

    @Test
    void everyGridRowMatchesOpacus() {
        Map<String, Object> grid = ReferenceData.load("dp_accounting/rdp_epsilon_grid.json");
        List<Map<String, Object>> rows = list(grid.get("rows"));
        assertThat(rows).hasSize(140);
        double maxEps = 0;
        double maxClassic = 0;
        for (Map<String, Object> row : rows) {
            double q = ReferenceData.number(row.get("sample_rate"));
            double sigma = ReferenceData.number(row.get("noise_multiplier"));
            long steps = (long) ReferenceData.number(row.get("steps"));
            double delta = ReferenceData.number(row.get("delta"));
            RdpAccountant acc = new RdpAccountant().step(sigma, q, steps);
            PrivacySpent got = acc.privacySpent(delta);
            PrivacySpent classic = acc.privacySpent(delta, Conversion.CLASSIC);
            String what = row.toString();
            assertThat(rel(got.epsilon(), ReferenceData.number(row.get("eps")))).as(what)
                    .isLessThanOrEqualTo(TOLERANCE);
            assertThat(got.bestOrder()).as(what).isEqualTo(ReferenceData.number(row.get("best_alpha")));
            assertThat(rel(classic.epsilon(), ReferenceData.number(row.get("eps_classic_conversion")))).as(what)
                    .isLessThanOrEqualTo(TOLERANCE);
            maxEps = Math.max(maxEps, rel(got.epsilon(), ReferenceData.number(row.get("eps"))));
            maxClassic = Math.max(maxClassic, rel(classic.epsilon(),
                    ReferenceData.number(row.get("eps_classic_conversion"))));
        }
        // Far tighter than the 1e-6 contract: the same double arithmetic as Opacus, up to erfc and binom rounding.
        assertThat(maxEps).isLessThan(1e-9);
        assertThat(maxClassic).isLessThan(1e-9);
    }

    @Test
    void everyPerAlphaCurveMatchesOpacus() {
        Map<String, Object> file = ReferenceData.load("dp_accounting/rdp_per_alpha.json");
        double[] alphas = numbers(file.get("alphas"));
        double max = 0;
        for (Map<String, Object> c : list(file.get("cases"))) {
            double[] got = RdpAccountant.rdp(ReferenceData.number(c.get("sample_rate")),
                    ReferenceData.number(c.get("noise_multiplier")), (long) ReferenceData.number(c.get("steps")),
                    alphas);
            double[] expected = numbers(c.get("rdp"));
            for (int i = 0; i < alphas.length; i++) {
                assertThat(rel(got[i], expected[i])).as("%s alpha %s", c.get("sample_rate"), alphas[i])
                        .isLessThanOrEqualTo(TOLERANCE);
                max = Math.max(max, rel(got[i], expected[i]));
            }
        }
        assertThat(max).isLessThan(1e-9);
    }

    @Test
    void theRdpColumnOfThePrvFileMatches() {
        Map<String, Object> file = ReferenceData.load("dp_accounting/prv_epsilon.json");
        for (Map<String, Object> row : list(file.get("rows"))) {
            if (!row.containsKey("eps_rdp_same_params")) {
                continue;
            }
            double eps = RdpAccountant.epsilon(ReferenceData.number(row.get("noise_multiplier")),
                    ReferenceData.number(row.get("sample_rate")), (long) ReferenceData.number(row.get("steps")),
                    ReferenceData.number(row.get("delta")), Conversion.OPACUS).epsilon();
            assertThat(rel(eps, ReferenceData.number(row.get("eps_rdp_same_params")))).as(row.toString())
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @Test
    void everyPublishedValueIsRecomputed() {
        Map<String, Object> file = ReferenceData.load("dp_accounting/published_values.json");
        int checked = 0;
        for (Map<String, Object> e : list(file.get("entries"))) {
            @SuppressWarnings("unchecked")
            Map<String, Object> p = (Map<String, Object>) e.get("parameters");
            @SuppressWarnings("unchecked")
            Map<String, Object> computed = (Map<String, Object>) e.get("computed");
            String key = (String) e.get("key");
            if (computed.containsKey("noise_multiplier")) {
                double q = ReferenceData.number(p.get("sample_rate"));
                long steps = p.containsKey("steps") ? (long) ReferenceData.number(p.get("steps"))
                        : (long) (ReferenceData.number(p.get("epochs")) / q);
                double sigma = RdpAccountant.noiseMultiplierFor(ReferenceData.number(p.get("target_epsilon")),
                        ReferenceData.number(p.get("target_delta")), q, steps);
                assertThat(sigma).as(key).isEqualTo(ReferenceData.number(computed.get("noise_multiplier")));
                checked++;
                continue;
            }
            double[] orders = orders(p.get(p.containsKey("orders") ? "orders" : "alphas"));
            double delta = ReferenceData.number(p.get("delta"));
            List<double[]> phases = new ArrayList<>();
            if (p.containsKey("composition")) {
                for (Object phase : (List<?>) p.get("composition")) {
                    phases.add(numbers(phase)); // [q, sigma, steps] as in Opacus' docstring
                }
                RdpAccountant acc = new RdpAccountant(orders);
                phases.forEach(ph -> acc.step(ph[1], ph[0], (long) ph[2]));
                checkSpent(key, acc, delta, computed);
                checked++;
                continue;
            }
            double q = sampleRate(p);
            double sigma = ReferenceData.number(p.get("noise_multiplier"));
            if (!computed.containsKey("eps") && !computed.containsKey("eps_opacus")
                    && !computed.containsKey("eps_classic")) {
                // One result per step-count interpretation, keyed "...=STEPS".
                for (Map.Entry<String, Object> variant : computed.entrySet()) {
                    String name = variant.getKey();
                    long steps = Long.parseLong(name.substring(name.lastIndexOf('=') + 1));
                    @SuppressWarnings("unchecked")
                    Map<String, Object> values = (Map<String, Object>) variant.getValue();
                    checkSpent(key + " " + name, new RdpAccountant(orders).step(sigma, q, steps), delta, values);
                }
            } else {
                long steps = (long) ReferenceData.number(p.get("steps"));
                checkSpent(key, new RdpAccountant(orders).step(sigma, q, steps), delta, computed);
            }
            if (Boolean.TRUE.equals(e.get("reproduced"))) {
                assertThat(e.get("published")).as(key).isNotNull();
            }
            checked++;
        }
        assertThat(checked).isEqualTo(12);
    }

    /** The TF Privacy tutorial's 2.92 (60 epochs of batch 256 from 60000, z = 1.12) under the classic conversion. */
    @Test
    void tfPrivacyTutorialEpsilonWithTheClassicConversion() {
        PrivacySpent spent = RdpAccountant.epsilon(1.12, 256.0 / 60000, 14040, 1e-5, Conversion.CLASSIC);
        assertThat(spent.epsilon()).isCloseTo(2.919890520258786, within(1e-9));
        assertThat(spent.bestOrder()).isEqualTo(9.1);
        assertThat(Math.round(spent.epsilon() * 100) / 100.0).isEqualTo(2.92);
    }

    private static void checkSpent(String key, RdpAccountant acc, double delta, Map<String, Object> values) {
        for (String suffix : new String[] {"", "_opacus", "_classic"}) {
            if (!values.containsKey("eps" + suffix)) {
                continue;
            }
            Conversion conv = suffix.equals("_classic") ? Conversion.CLASSIC : Conversion.OPACUS;
            PrivacySpent got = acc.privacySpent(delta, conv);
            double expected = ReferenceData.number(values.get("eps" + suffix));
            assertThat(rel(got.epsilon(), expected)).as(key + " eps" + suffix).isLessThanOrEqualTo(TOLERANCE);
            if (values.containsKey("alpha" + suffix)) {
                assertThat(got.bestOrder()).as(key + " alpha" + suffix)
                        .isEqualTo(ReferenceData.number(values.get("alpha" + suffix)));
            }
        }
    }

    private static double sampleRate(Map<String, Object> p) {
        Object q = p.get("sample_rate");
        if (q instanceof String s && s.contains("/")) {
            String[] parts = s.split("/");
            return Double.parseDouble(parts[0].trim()) / Double.parseDouble(parts[1].trim());
        }
        if (q == null) {
            return ReferenceData.number(p.get("batch_size")) / ReferenceData.number(p.get("sample_size"));
        }
        return ReferenceData.number(q);
    }

    /** An orders description of the reference file: a list, "opacus default", or "a..b + [x, y] + [1 + x/10 ...]". */
    private static double[] orders(Object spec) {
        if (spec instanceof List<?> l) {
            return numbers(l);
        }
        String s = ((String) spec).replaceAll("\\s*\\(.*\\)$", "").trim();
        if (s.equals("opacus default")) {
            return RdpAccountant.defaultOrders();
        }
        List<Double> out = new ArrayList<>();
        for (String part : splitTopLevel(s)) {
            if (part.startsWith("[1 + x/10")) {
                for (int x = 1; x <= 99; x++) {
                    out.add(1 + x / 10.0);
                }
            } else if (part.startsWith("[")) {
                for (String v : part.substring(1, part.length() - 1).split(",")) {
                    out.add(Double.parseDouble(v.trim()));
                }
            } else {
                String[] range = part.split("\\.\\.");
                for (int k = Integer.parseInt(range[0]); k <= Integer.parseInt(range[1]); k++) {
                    out.add((double) k);
                }
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Splits "a + [b + c] + d" at the '+' signs outside brackets. */
    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            } else if (c == '+' && depth == 0) {
                parts.add(s.substring(start, i).trim());
                start = i + 1;
            }
        }
        parts.add(s.substring(start).trim());
        return parts;
    }

    private static double[] numbers(Object list) {
        List<?> l = (List<?>) list;
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ReferenceData.number(l.get(i));
        }
        return out;
    }

    @Test
    void edgeCasesFollowOpacus() {
        double[] orders = {1.5, 2, 32};
        assertThat(RdpAccountant.rdp(0, 1.0, 10, orders)).containsExactly(0, 0, 0);
        assertThat(RdpAccountant.rdp(1, 2.0, 1, orders)).containsExactly(1.5 / 8, 2.0 / 8, 32.0 / 8);
        assertThat(RdpAccountant.rdp(0.1, 0, 1, orders)).containsOnly(Double.POSITIVE_INFINITY);
        PrivacySpent none = RdpAccountant.epsilon(0, 0.1, 10, 1e-5, Conversion.OPACUS);
        assertThat(none.epsilon()).isInfinite();
        assertThat(new RdpAccountant().privacySpent(1e-5)).isEqualTo(new PrivacySpent(0, 0));
    }

    @Test
    void phasesComposeByAddingCurves() {
        RdpAccountant two = new RdpAccountant().step(1.0, 0.01, 100).step(2.0, 0.02, 50);
        double[] a = RdpAccountant.rdp(0.01, 1.0, 100, RdpAccountant.defaultOrders());
        double[] b = RdpAccountant.rdp(0.02, 2.0, 50, RdpAccountant.defaultOrders());
        double[] sum = two.rdp();
        for (int i = 0; i < sum.length; i++) {
            assertThat(sum[i]).isEqualTo(a[i] + b[i]);
        }
        assertThat(two.history()).hasSize(2);
        assertThat(two.privacySpent(1e-5).epsilon())
                .isGreaterThan(RdpAccountant.epsilon(1.0, 0.01, 100, 1e-5, Conversion.OPACUS).epsilon());
    }

    @Test
    void noiseMultiplierReachesTheTarget() {
        double sigma = RdpAccountant.noiseMultiplierFor(8, 1e-5, 0.04, 2000);
        assertThat(sigma).isEqualTo(1.356201171875);
        double eps = RdpAccountant.epsilon(sigma, 0.04, 2000, 1e-5, Conversion.OPACUS).epsilon();
        assertThat(eps).isLessThanOrEqualTo(8).isGreaterThan(8 - 0.01);
        double finer = RdpAccountant.noiseMultiplierFor(8, 1e-5, 0.04, 2000, 1e-4);
        assertThat(RdpAccountant.epsilon(finer, 0.04, 2000, 1e-5, Conversion.OPACUS).epsilon())
                .isLessThanOrEqualTo(8).isGreaterThan(8 - 1e-4);
    }

    @Test
    void invalidArgumentsAreNamed() {
        assertThatThrownBy(() -> RdpAccountant.epsilon(1.0, 0.01, 10, 1.0, Conversion.OPACUS))
                .hasMessage("delta must be in (0, 1), got 1.0");
        assertThatThrownBy(() -> new RdpAccountant().step(1.0, 1.5, 10))
                .hasMessage("sampleRate must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> new RdpAccountant().step(-1.0, 0.1, 10))
                .hasMessage("noiseMultiplier must be finite and >= 0, got -1.0");
        assertThatThrownBy(() -> new RdpAccountant().step(Double.NaN, 0.1, 10))
                .hasMessage("noiseMultiplier must be finite and >= 0, got NaN");
        assertThatThrownBy(() -> new RdpAccountant().step(1.0, 0.1, -1)).hasMessage("steps must be >= 0, got -1");
        assertThatThrownBy(() -> new RdpAccountant(new double[] {1.0}))
                .hasMessage("every order must be finite and > 1, got 1.0");
        assertThatThrownBy(() -> RdpAccountant.noiseMultiplierFor(0, 1e-5, 0.01, 10))
                .hasMessage("targetEpsilon must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> RdpAccountant.noiseMultiplierFor(1e-9, 1e-5, 1.0, 1_000_000))
                .hasMessageContaining("out of reach");
    }
}
