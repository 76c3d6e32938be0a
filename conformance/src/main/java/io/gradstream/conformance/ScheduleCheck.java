package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradstream.core.optim.Hyperparameters;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.schedule.LrCursor;
import io.gradstream.core.schedule.LrSchedule;
import io.gradstream.core.schedule.LrSchedules;
import java.util.Locale;
import java.util.Map;

/**
 * Replays a learning-rate schedule file ({@code lr_schedulers/*.json}): {@code lrs[k]} is the rate after k steps.
 * Schedules are double arithmetic like torch's, so the error (scaled by the largest rate of the run) is held to
 * 1e-12; OneCycleLR's {@code momentum} list is checked the same way.
 */
final class ScheduleCheck {
    static final double TOLERANCE = 1e-12;

    private ScheduleCheck() {}

    static boolean accepts(JsonNode root) {
        return root.has("scheduler") && root.has("lrs");
    }

    static Verdict run(JsonNode root) throws ReferenceFormatException {
        String name = Json.field(root, "scheduler").asText();
        Map<String, Object> hp = Json.toMap(Json.field(root, "hyperparameters"), "hyperparameters");
        double[] lrs = Json.numbers(Json.field(root, "lrs"), "lrs");
        double[] momenta = root.has("momentum") && root.get("momentum").isArray()
                ? Json.numbers(root.get("momentum"), "momentum")
                : null;
        double baseLr;
        double baseMomentum = Double.NaN;
        Map<String, Object> optHp = root.has("optimizer_hyperparameters")
                ? Json.toMap(root.get("optimizer_hyperparameters"), "optimizer_hyperparameters")
                : Map.of();
        if (root.has("optimizer")) {
            try {
                Optimizer opt = Optimizers.create(root.get("optimizer").asText(), optHp);
                Hyperparameters resolved = opt.hyperparameters();
                baseLr = opt.learningRate();
                if (resolved.has("betas")) {
                    baseMomentum = resolved.pair("betas", 0.9, 0.999)[0];
                } else if (resolved.has("momentum")) {
                    baseMomentum = resolved.number("momentum", 0);
                }
            } catch (IllegalArgumentException e) {
                throw new ReferenceFormatException("optimizer: " + e.getMessage(), e);
            }
        } else {
            baseLr = Json.number(Json.field(root, "base_lr"), "base_lr");
        }

        LrCursor cursor;
        try {
            LrSchedule schedule = LrSchedules.create(name, hp);
            cursor = schedule.start(baseLr, baseMomentum);
        } catch (IllegalArgumentException e) {
            throw new ReferenceFormatException(e.getMessage(), e);
        }
        double[] got = new double[lrs.length];
        double[] gotMomentum = new double[lrs.length];
        for (int k = 0; k < lrs.length; k++) {
            if (k > 0) {
                cursor.step();
            }
            got[k] = cursor.lr();
            gotMomentum[k] = cursor.momentum();
        }
        double lrError = maxScaledError(got, lrs);
        double momentumError = momenta == null ? 0 : maxScaledError(gotMomentum, momenta);
        ObjectNode computed = root.deepCopy();
        computed.set("lrs", Json.array(got));
        if (momenta != null) {
            computed.set("momentum", Json.array(gotMomentum));
        }
        double overall = Math.max(lrError, momentumError);
        ObjectNode meta = computed.putObject("gradstream");
        meta.put("max_scaled_error", overall);
        meta.put("tolerance", TOLERANCE);
        String detail = LrSchedules.canonicalName(name) + ", " + lrs.length + " steps, lrs "
                + String.format(Locale.ROOT, "%.2e", lrError)
                + (momenta == null ? "" : ", momentum " + String.format(Locale.ROOT, "%.2e", momentumError));
        return Verdict.judge(overall, TOLERANCE, true, detail, computed);
    }

    /** Largest {@code |a − e|} over the largest {@code |e|} of the run (a cosine schedule passes through ~0). */
    private static double maxScaledError(double[] actual, double[] expected) throws ReferenceFormatException {
        if (actual.length != expected.length) {
            throw new ReferenceFormatException("length mismatch: " + actual.length + " vs " + expected.length);
        }
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        double max = 0;
        for (int k = 0; k < actual.length; k++) {
            double err = OptimizerCheck.scaledError(actual[k], expected[k], scale);
            max = Math.max(max, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
        }
        return max;
    }
}
