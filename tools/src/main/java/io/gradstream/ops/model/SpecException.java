package io.gradstream.ops.model;

/** A spec file or command argument that is refused before anything is sent: the field's path and the reason. */
public final class SpecException extends IllegalArgumentException {
    private final String field;

    public SpecException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
    }

    /** The path of the offending field, e.g. {@code privacy.delta} or {@code tensors[0].shape[1]}. */
    public String field() {
        return field;
    }
}
