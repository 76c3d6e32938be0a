package io.gradstream.core.optim;

/**
 * A hyperparameter was missing, malformed, out of range or not finite. The message names the parameter and the
 * offending value, as torch's {@code ValueError}s do, so a bad ModelSpec or CLI flag can be fixed from the error alone.
 */
public final class InvalidHyperparameterException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String parameter;

    public InvalidHyperparameterException(String parameter, Object value, String requirement) {
        super("Invalid " + parameter + ": " + value + " (" + requirement + ")");
        this.parameter = parameter;
    }

    /** The torch name of the offending hyperparameter, e.g. {@code lr} or {@code betas[0]}. */
    public String parameter() {
        return parameter;
    }
}
