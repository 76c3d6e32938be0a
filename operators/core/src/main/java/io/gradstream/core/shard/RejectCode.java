package io.gradstream.core.shard;

/**
 * Why an input was refused; the same symbols as the {@code RejectReason} of the rejected topic's records. New symbols
 * go at the end: readers with an older schema read them as the enum's default, OTHER.
 */
public enum RejectCode {
    UNDECODABLE,
    UNKNOWN_MODEL,
    UNKNOWN_TENSOR,
    UNKNOWN_SHARD,
    WRONG_ELEMENT_COUNT,
    NON_FINITE,
    INVALID_EXAMPLE_COUNT,
    STALE,
    FUTURE_VERSION,
    DUPLICATE,
    PAUSED,
    NOT_INITIALIZED,
    ALREADY_INITIALIZED,
    INVALID_COMMAND,
    NORM_TOO_LARGE,
    BUDGET_EXHAUSTED,
    OTHER,
    /** Beyond a configured size limit (a record, a waiting room); the detail names the limit's key. */
    TOO_LARGE,
    /** A number outside its valid range (a negative baseVersion, a workerStep far beyond the worker's last). */
    OUT_OF_RANGE,
    /** The aggregate or the new parameters would not be finite; the step was not applied. */
    NON_FINITE_RESULT,
    /**
     * The model names its authorised workers and the record's worker is not one of them, or its signature header is
     * missing, malformed or wrong, or the worker's key cannot be read on this task manager.
     */
    UNAUTHORIZED,
    /** The gradient's payload encoding is not one of those its model accepts (the model's input encodings). */
    ENCODING_NOT_ALLOWED
}
