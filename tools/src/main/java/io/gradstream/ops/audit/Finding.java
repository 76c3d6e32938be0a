package io.gradstream.ops.audit;

/**
 * One line of {@code gradstream audit}: an area (e.g. {@code kafka listeners}), a verdict and a one-line reason.
 * INFO lines report what was found without counting towards the overall verdict.
 */
public record Finding(String area, Verdict verdict, String detail) {

    /** PASS: as it should be; INFO: reported only; WARN: deserves a look; FAIL: open to attack as it stands. */
    public enum Verdict {
        PASS,
        INFO,
        WARN,
        FAIL
    }

    public static Finding pass(String area, String detail) {
        return new Finding(area, Verdict.PASS, detail);
    }

    public static Finding info(String area, String detail) {
        return new Finding(area, Verdict.INFO, detail);
    }

    public static Finding warn(String area, String detail) {
        return new Finding(area, Verdict.WARN, detail);
    }

    public static Finding fail(String area, String detail) {
        return new Finding(area, Verdict.FAIL, detail);
    }
}
