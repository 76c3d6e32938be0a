package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import io.gradstream.core.privacy.prv.PrvAccountant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Recomputes a differential-privacy accounting file ({@code dp_accounting/*.json}, values from Opacus' RDP
 * accountant: Mironov, Talwar, Zhang 2019; Balle et al. 2020; and its PRV accountant: Gopi, Lee, Wutschitz 2021) with
 * {@link RdpAccountant} and {@link io.gradstream.core.privacy.prv.PrvAccountant}: epsilon grids, per-order RDP curves,
 * PRV upper bounds and published values, judged by relative error &lt;= 1e-6 (a PRV value within its entry's own
 * eps_error where it gives one); best orders and noise multipliers must match.
 */
final class PrivacyCheck {
    static final double TOLERANCE = 1e-6;

    private static final Set<String> NAMES = Set.of(
            "rdp_accountant_epsilon_grid", "rdp_per_alpha", "published_epsilon_values", "prv_accountant_epsilon");

    private PrivacyCheck() {}

    static boolean accepts(JsonNode root) {
        return root.has("name") && NAMES.contains(root.get("name").asText())
                || root.has("accountant")
                || root.has("conversion_opacus")
                || root.has("rdp_definition");
    }

    static Verdict run(JsonNode root) throws ReferenceFormatException {
        ObjectNode computed = root.deepCopy();
        Tally tally = new Tally();
        String detail;
        if (root.has("cases")) {
            detail = perAlpha(computed, tally);
        } else if (root.has("entries")) {
            detail = published(computed, tally);
        } else if (root.has("rows")) {
            detail = rows(computed, tally);
        } else {
            throw new ReferenceFormatException("dp_accounting file without rows, cases or entries");
        }
        ObjectNode meta = computed.putObject("gradstream");
        meta.put("max_scaled_error", tally.max);
        meta.put("tolerance", TOLERANCE);
        if (!tally.mismatches.isEmpty()) {
            detail += ", " + tally.mismatches.size() + " mismatched (first: " + tally.mismatches.get(0) + ")";
        }
        return Verdict.judge(tally.max, TOLERANCE, tally.mismatches.isEmpty(), detail, computed);
    }

    /** The largest relative error seen and the exact parts (orders, bisection results) that differ. */
    private static final class Tally {
        double max;
        /** Largest relative error of a PRV value (NaN when the file has none), for the detail line. */
        double prvMax = Double.NaN;

        final List<String> mismatches = new ArrayList<>();

        /**
         * A PRV value: within {@code epsError} when the entry gives one (scaled so that epsError counts as the
         * tolerance), else by relative error like every other value.
         */
        void prv(double actual, double expected, double epsError) {
            double rel = OptimizerCheck.scaledError(actual, expected, 0);
            prvMax = Double.isNaN(prvMax) ? rel : Math.max(prvMax, Double.isNaN(rel) ? Double.POSITIVE_INFINITY : rel);
            if (Double.isNaN(epsError)) {
                relative(actual, expected);
            } else {
                double err = Math.abs(actual - expected) / epsError * TOLERANCE;
                max = Math.max(max, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
            }
        }

        void relative(double actual, double expected) {
            double err = OptimizerCheck.scaledError(actual, expected, 0);
            max = Math.max(max, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
        }

        void exact(double actual, double expected, String what) {
            if (Double.compare(actual, expected) != 0) {
                mismatches.add(what + ": " + actual + " vs " + expected);
            }
        }
    }

    private static String perAlpha(ObjectNode file, Tally tally) throws ReferenceFormatException {
        double[] alphas = orders(Json.field(file, "alphas"));
        int n = 0;
        for (JsonNode c : Json.field(file, "cases")) {
            double[] expected = Json.numbers(Json.field(c, "rdp"), "rdp");
            if (expected.length != alphas.length) {
                throw new ReferenceFormatException(
                        "rdp has " + expected.length + " values for " + alphas.length + " alphas");
            }
            double[] got = RdpAccountant.rdp(
                    Json.number(Json.field(c, "sample_rate"), "sample_rate"),
                    Json.number(Json.field(c, "noise_multiplier"), "noise_multiplier"),
                    steps(c, "steps"),
                    alphas);
            for (int i = 0; i < got.length; i++) {
                tally.relative(got[i], expected[i]);
            }
            ((ObjectNode) c).set("rdp", Json.array(got));
            n++;
        }
        return n + " RDP curves at " + alphas.length + " orders";
    }

    private static String rows(ObjectNode file, Tally tally) throws ReferenceFormatException {
        double[] orders = file.has("alphas") ? orders(file.get("alphas")) : RdpAccountant.defaultOrders();
        int n = 0;
        boolean prv = false;
        boolean epsErrorGiven = false;
        for (JsonNode r : Json.field(file, "rows")) {
            ObjectNode row = (ObjectNode) r;
            RdpAccountant acc = new RdpAccountant(orders)
                    .step(
                            Json.number(Json.field(row, "noise_multiplier"), "noise_multiplier"),
                            Json.number(Json.field(row, "sample_rate"), "sample_rate"),
                            steps(row, "steps"));
            double delta = Json.number(Json.field(row, "delta"), "delta");
            String where = "row " + n;
            if (row.has("eps_prv_upper") || row.has("eps_rdp_same_params")) {
                prv = true;
                if (row.has("eps_prv_upper")) {
                    double epsError = PrvCheck.givenEpsError(row, file);
                    epsErrorGiven |= !Double.isNaN(epsError);
                    double eps =
                            PrvCheck.epsilon(row, file, Json.number(Json.field(row, "sample_rate"), "sample_rate"));
                    tally.prv(eps, Json.number(row.get("eps_prv_upper"), "eps_prv_upper"), epsError);
                    row.set("eps_prv_upper", Json.numberNode(eps));
                }
                if (row.has("eps_rdp_same_params")) {
                    double eps = acc.privacySpent(delta).epsilon();
                    tally.relative(eps, Json.number(row.get("eps_rdp_same_params"), "eps_rdp_same_params"));
                    row.set("eps_rdp_same_params", Json.numberNode(eps));
                }
            } else {
                PrivacySpent spent = acc.privacySpent(delta);
                tally.relative(spent.epsilon(), Json.number(Json.field(row, "eps"), "eps"));
                row.set("eps", Json.numberNode(spent.epsilon()));
                if (row.has("best_alpha")) {
                    tally.exact(
                            spent.bestOrder(), Json.number(row.get("best_alpha"), "best_alpha"), where + " best_alpha");
                    row.set("best_alpha", Json.numberNode(spent.bestOrder()));
                    row.put(
                            "best_alpha_at_boundary_of_alphas",
                            spent.bestOrder() == orders[0] || spent.bestOrder() == orders[orders.length - 1]);
                }
                if (row.has("eps_classic_conversion")) {
                    double classic = acc.privacySpent(delta, Conversion.CLASSIC).epsilon();
                    tally.relative(classic, Json.number(row.get("eps_classic_conversion"), "eps_classic_conversion"));
                    row.set("eps_classic_conversion", Json.numberNode(classic));
                }
            }
            n++;
        }
        if (!prv) {
            return n + " rows, eps + best alpha + classic conversion";
        }
        return n + " rows, PRV upper bound (max relative error " + String.format(Locale.ROOT, "%.1e", tally.prvMax)
                + (epsErrorGiven ? ", judged within each row's eps_error" : "") + ") + RDP epsilon";
    }

    private static String published(ObjectNode file, Tally tally) throws ReferenceFormatException {
        int n = 0;
        for (JsonNode e : Json.field(file, "entries")) {
            String key = e.has("key") ? e.get("key").asText() : "entry " + n;
            JsonNode p = Json.field(e, "parameters");
            ObjectNode computed = (ObjectNode) Json.field(e, "computed");
            try {
                if (computed.has("eps_prv_upper")) {
                    double eps = PrvCheck.epsilon(p, null, p.has("composition") ? Double.NaN : sampleRate(p));
                    tally.prv(
                            eps,
                            Json.number(computed.get("eps_prv_upper"), "eps_prv_upper"),
                            PrvCheck.givenEpsError(p, e));
                    computed.set("eps_prv_upper", Json.numberNode(eps));
                } else if (computed.has("noise_multiplier")) {
                    double q = sampleRate(p);
                    long steps = p.has("steps")
                            ? steps(p, "steps")
                            : (long) (Json.number(Json.field(p, "epochs"), "epochs") / q);
                    double target = Json.number(Json.field(p, "target_epsilon"), "target_epsilon");
                    double delta = Json.number(Json.field(p, "target_delta"), "target_delta");
                    double sigma = "prv".equals(p.path("accountant").asText())
                            ? PrvAccountant.noiseMultiplier(target, delta, q, steps)
                            : RdpAccountant.noiseMultiplierFor(target, delta, q, steps);
                    tally.exact(
                            sigma,
                            Json.number(computed.get("noise_multiplier"), "noise_multiplier"),
                            key + " noise_multiplier");
                    tally.relative(sigma, Json.number(computed.get("noise_multiplier"), "noise_multiplier"));
                    computed.set("noise_multiplier", Json.numberNode(sigma));
                } else {
                    double[] orders = orders(p.has("orders") ? p.get("orders") : p.get("alphas"));
                    double delta = Json.number(Json.field(p, "delta"), "delta");
                    if (p.has("composition")) {
                        RdpAccountant acc = new RdpAccountant(orders);
                        for (JsonNode phase : p.get("composition")) {
                            // [sample rate, noise multiplier, steps], the order of Opacus' rdp.py docstring
                            double[] v = Json.numbers(phase, "composition entry");
                            acc.step(v[1], v[0], (long) v[2]);
                        }
                        recompute(key, acc, delta, computed, tally);
                    } else if (computed.has("eps") || computed.has("eps_opacus") || computed.has("eps_classic")) {
                        recompute(key, single(p, orders, steps(p, "steps")), delta, computed, tally);
                    } else {
                        // One result per reading of the step count, each keyed "...=STEPS".
                        Iterator<Map.Entry<String, JsonNode>> it = computed.fields();
                        while (it.hasNext()) {
                            Map.Entry<String, JsonNode> variant = it.next();
                            String name = variant.getKey();
                            long steps;
                            try {
                                steps = Long.parseLong(name.substring(name.lastIndexOf('=') + 1)
                                        .trim());
                            } catch (NumberFormatException ex) {
                                throw new ReferenceFormatException(
                                        key + ": computed variant '" + name + "' does not end in =STEPS");
                            }
                            recompute(
                                    key + " " + name,
                                    single(p, orders, steps),
                                    delta,
                                    (ObjectNode) variant.getValue(),
                                    tally);
                        }
                    }
                }
            } catch (IllegalArgumentException | ArithmeticException ex) {
                throw new ReferenceFormatException(key + ": " + ex.getMessage(), ex);
            }
            n++;
        }
        return n + " published values recomputed (eps under both conversions, best alpha, noise multipliers"
                + (Double.isNaN(tally.prvMax) ? "" : ", PRV upper bounds") + ")";
    }

    private static RdpAccountant single(JsonNode p, double[] orders, long steps) throws ReferenceFormatException {
        return new RdpAccountant(orders)
                .step(Json.number(Json.field(p, "noise_multiplier"), "noise_multiplier"), sampleRate(p), steps);
    }

    /** Recomputes eps/alpha, eps_opacus/alpha_opacus and eps_classic/alpha_classic where present. */
    private static void recompute(String key, RdpAccountant acc, double delta, ObjectNode values, Tally tally)
            throws ReferenceFormatException {
        for (String suffix : new String[] {"", "_opacus", "_classic"}) {
            if (!values.has("eps" + suffix)) {
                continue;
            }
            PrivacySpent spent =
                    acc.privacySpent(delta, suffix.equals("_classic") ? Conversion.CLASSIC : Conversion.OPACUS);
            tally.relative(spent.epsilon(), Json.number(values.get("eps" + suffix), "eps" + suffix));
            values.set("eps" + suffix, Json.numberNode(spent.epsilon()));
            if (values.has("alpha" + suffix)) {
                tally.exact(
                        spent.bestOrder(),
                        Json.number(values.get("alpha" + suffix), "alpha" + suffix),
                        key + " alpha" + suffix);
                values.set("alpha" + suffix, Json.numberNode(spent.bestOrder()));
            }
        }
    }

    private static long steps(JsonNode obj, String name) throws ReferenceFormatException {
        double v = Json.number(Json.field(obj, name), name);
        if (v != Math.rint(v) || v < 0) {
            throw new ReferenceFormatException(name + " is not a non-negative integer: " + v);
        }
        return (long) v;
    }

    /** A number, a fraction such as "256/60000", or batch_size / sample_size. */
    private static double sampleRate(JsonNode p) throws ReferenceFormatException {
        JsonNode q = p.get("sample_rate");
        if (q == null) {
            return Json.number(Json.field(p, "batch_size"), "batch_size")
                    / Json.number(Json.field(p, "sample_size"), "sample_size");
        }
        if (q.isTextual() && q.textValue().contains("/")) {
            String[] parts = q.textValue().split("/");
            try {
                return Double.parseDouble(parts[0].trim()) / Double.parseDouble(parts[1].trim());
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                throw new ReferenceFormatException("sample_rate is not a fraction: " + q.textValue(), e);
            }
        }
        return Json.number(q, "sample_rate");
    }

    /**
     * The orders of an entry: a list of numbers, "opacus default", or a sum of parts such as
     * "[1 + x/10 for x in 1..99] + 12..63" or "[1.25, 1.5] + 5..63 + [128, 256]" (ranges inclusive); a trailing
     * parenthesised remark is ignored.
     */
    static double[] orders(JsonNode spec) throws ReferenceFormatException {
        if (spec == null || spec.isNull()) {
            return RdpAccountant.defaultOrders();
        }
        if (spec.isArray()) {
            return Json.numbers(spec, "orders");
        }
        String s = spec.asText().replaceAll("\\s*\\(.*\\)\\s*$", "").trim();
        if (s.equals("opacus default")) {
            return RdpAccountant.defaultOrders();
        }
        List<Double> out = new ArrayList<>();
        try {
            for (String part : splitTopLevel(s)) {
                if (part.matches("\\[1 \\+ x ?/ ?10(\\.0)? for x in 1\\.\\.99\\]")) {
                    for (int x = 1; x <= 99; x++) {
                        out.add(1 + x / 10.0);
                    }
                } else if (part.startsWith("[") && part.endsWith("]")) {
                    for (String v : part.substring(1, part.length() - 1).split(",")) {
                        out.add(Double.parseDouble(v.trim()));
                    }
                } else {
                    String[] range = part.split("\\.\\.");
                    for (int k = Integer.parseInt(range[0].trim()); k <= Integer.parseInt(range[1].trim()); k++) {
                        out.add((double) k);
                    }
                }
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw new ReferenceFormatException("orders not understood: " + spec.asText(), e);
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

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
}
