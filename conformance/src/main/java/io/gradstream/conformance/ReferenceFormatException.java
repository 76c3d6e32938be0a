package io.gradstream.conformance;

/** A reference file that is not JSON, or not one of the known reference formats, or misses a required field. */
public final class ReferenceFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public ReferenceFormatException(String message) {
        super(message);
    }

    public ReferenceFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
