package io.gradstream.core.shard;

/** Why an input was refused; the same symbols as the {@code RejectReason} of the rejected topic's records. */
public enum RejectCode {
    UNDECODABLE, UNKNOWN_MODEL, UNKNOWN_TENSOR, UNKNOWN_SHARD, WRONG_ELEMENT_COUNT, NON_FINITE,
    INVALID_EXAMPLE_COUNT, STALE, FUTURE_VERSION, DUPLICATE, PAUSED, NOT_INITIALIZED, ALREADY_INITIALIZED,
    INVALID_COMMAND, NORM_TOO_LARGE, BUDGET_EXHAUSTED, OTHER
}
