package io.gradstream.ops;

/** A Flink REST call that failed: the endpoint was unreachable, or Flink answered with an error it explained. */
public final class FlinkRestException extends Exception {
    private static final long serialVersionUID = 1L;

    public FlinkRestException(String message) {
        super(message);
    }

    public FlinkRestException(String message, Throwable cause) {
        super(message, cause);
    }
}
