package io.gradstream.ops.model;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.io.IOException;

/** Decodes the parameters topic's records for the commands that read it ({@code model status}, {@code export}). */
public final class ParameterRecords {
    private final AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class, 1 << 16);

    /** The update in {@code value}, or null when it is not one (other producers' data, a tombstone). */
    public ParameterUpdate decode(byte[] value) {
        if (value == null) {
            return null;
        }
        try {
            return avro.decode(value);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Whether {@code u} holds its shard's whole parameters, as every record of today's job does. A delta stream (only
     * the change since a base version) is not a snapshot: it cannot be exported or counted as the shard's version
     * alone. MERGE NOTE: once ParameterUpdate has a field that marks delta records (branch compress), return false
     * for them here; status and export then read the full snapshots only.
     */
    public static boolean isFullSnapshot(ParameterUpdate u) {
        return true;
    }
}
