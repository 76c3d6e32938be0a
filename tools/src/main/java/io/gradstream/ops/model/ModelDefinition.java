package io.gradstream.ops.model;

import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.WorkerKey;
import java.util.Map;

/**
 * What a spec file defines: the model id (null when the file leaves it to the command line), the model's spec and the
 * workers it admits (worker id to where its key is; null admits any worker, unsigned).
 */
public record ModelDefinition(String modelId, ModelSpec spec, Map<String, WorkerKey> workers) {

    /** The same definition under another id. */
    public ModelDefinition withId(String id) {
        return new ModelDefinition(id, spec, workers);
    }
}
