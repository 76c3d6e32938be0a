package io.gradstream.client;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorSpec;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The tensor layouts (shape and sharding) of a model, as the service cuts them. */
public final class ModelLayouts {
    private ModelLayouts() {
    }

    public static Map<String, TensorLayout> of(ModelSpec spec) {
        Map<String, TensorLayout> m = new LinkedHashMap<>();
        for (TensorSpec t : spec.getTensors()) {
            m.put(t.getName(), new TensorLayout(t.getName(),
                    t.getShape().stream().mapToInt(Integer::intValue).toArray(), spec.getShardSize()));
        }
        return Collections.unmodifiableMap(m);
    }
}
