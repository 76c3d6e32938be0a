package io.gradstream.conformance;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The outcome of checking one reference file: its status, the largest scaled error against the tolerance, a short
 * detail for the terminal, and what the kernels computed in the input's JSON shape (for {@code --output}).
 */
public record Verdict(Status status, double maxScaledError, double tolerance, String detail, ObjectNode computed) {

    public enum Status {
        PASS,
        FAIL,
        SKIP
    }

    static Verdict judge(
            double maxScaledError, double tolerance, boolean exactPartsMatch, String detail, ObjectNode computed) {
        boolean pass = exactPartsMatch && maxScaledError <= tolerance;
        return new Verdict(pass ? Status.PASS : Status.FAIL, maxScaledError, tolerance, detail, computed);
    }

    static Verdict skip(String reason) {
        return new Verdict(Status.SKIP, Double.NaN, Double.NaN, reason, null);
    }
}
