package io.gradstream.ops.model;

import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.WorkerKey;
import java.util.Map;

/**
 * What a spec file defines: the model id (null when the file leaves it to the command line), the model's spec, the
 * workers it admits (worker id to where its key is; null admits any worker, unsigned) and its compression settings
 * (null: any input encoding, full parameters every step) and a private model's mechanism and accountant (null: DP-SGD
 * with RDP, as models created before 0.4.0), the last three being fields of the CREATE, not of the spec.
 */
public record ModelDefinition(
        String modelId,
        ModelSpec spec,
        Map<String, WorkerKey> workers,
        CompressionSpec compression,
        PrivacyAccountingSpec privacyAccounting) {

    /** A definition without privacy accounting settings. */
    public ModelDefinition(
            String modelId, ModelSpec spec, Map<String, WorkerKey> workers, CompressionSpec compression) {
        this(modelId, spec, workers, compression, null);
    }

    /** The same definition under another id. */
    public ModelDefinition withId(String id) {
        return new ModelDefinition(id, spec, workers, compression, privacyAccounting);
    }
}
