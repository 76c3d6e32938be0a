package io.gradstream.ops.model;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.UpdateKind;
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
     * Whether {@code u} holds its shard's whole parameters (kind FULL, as every update of a model without a delta
     * stream). A DELTA holds only the change since its base version, so export reads full snapshots only.
     */
    public static boolean isFullSnapshot(ParameterUpdate u) {
        return u.getKind() == UpdateKind.FULL;
    }
}
