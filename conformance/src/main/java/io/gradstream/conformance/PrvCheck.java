package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.privacy.prv.PrvAccountant;
import io.gradstream.core.privacy.prv.PrvAccountant.Phase;
import java.util.ArrayList;
import java.util.List;

/**
 * Recomputes a PRV value of a reference file with {@link PrvAccountant} (Gopi, Lee, Wutschitz 2021, as Opacus'
 * {@code PRVAccountant}): the parameters of a row or entry, with its own {@code eps_error} and {@code delta_error}
 * where it gives them (else the file's, else Opacus' defaults 0.01 and delta / 1000). A value is judged within the
 * entry's own eps_error when it gives one, else to the relative tolerance of the other accounting values.
 */
final class PrvCheck {
    private PrvCheck() {}

    /** The entry's (or else the file's) numeric {@code eps_error}, or NaN when neither gives one. */
    static double givenEpsError(JsonNode entry, JsonNode file) throws ReferenceFormatException {
        if (entry.has("eps_error")) {
            return Json.number(entry.get("eps_error"), "eps_error");
        }
        if (file != null && file.has("eps_error")) {
            return Json.number(file.get("eps_error"), "eps_error");
        }
        return Double.NaN;
    }

    /**
     * The upper bound Opacus' {@code get_epsilon} returns for the entry: one phase (noise_multiplier, sample_rate,
     * steps) or a {@code composition} of [sample_rate, noise_multiplier, steps] phases, at its delta.
     */
    static double epsilon(JsonNode entry, JsonNode file, double sampleRate) throws ReferenceFormatException {
        double delta = Json.number(Json.field(entry, "delta"), "delta");
        double given = givenEpsError(entry, file);
        double epsError = Double.isNaN(given) ? PrvAccountant.DEFAULT_EPS_ERROR : given;
        double deltaError;
        if (entry.has("delta_error")) {
            deltaError = Json.number(entry.get("delta_error"), "delta_error");
        } else if (file != null && file.has("delta_error")) {
            deltaError = Json.number(file.get("delta_error"), "delta_error");
        } else {
            deltaError = delta * PrvAccountant.DEFAULT_DELTA_ERROR_FRACTION;
        }
        List<Phase> phases = new ArrayList<>();
        if (entry.has("composition")) {
            for (JsonNode phase : entry.get("composition")) {
                double[] v = Json.numbers(phase, "composition entry");
                if (v.length != 3) {
                    throw new ReferenceFormatException("a composition entry is [sample rate, noise multiplier, steps]");
                }
                phases.add(new Phase(v[1], v[0], wholeSteps(v[2])));
            }
        } else {
            double steps = Json.number(Json.field(entry, "steps"), "steps");
            phases.add(new Phase(
                    Json.number(Json.field(entry, "noise_multiplier"), "noise_multiplier"),
                    sampleRate,
                    wholeSteps(steps)));
        }
        try {
            return PrvAccountant.epsilon(phases, delta, epsError, deltaError);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new ReferenceFormatException("PRV accounting refused the entry: " + e.getMessage(), e);
        }
    }

    private static long wholeSteps(double v) throws ReferenceFormatException {
        if (v != Math.rint(v) || v < 0) {
            throw new ReferenceFormatException("steps is not a non-negative integer: " + v);
        }
        return (long) v;
    }
}
