package io.gradstream.client;

import io.gradstream.core.shard.ShardPrivacy;
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

    /**
     * For a private model: the clip threshold C_s of every shard, by tensor, as the service computes them. Workers of
     * the EXAMPLE unit clip each example's slice of shard s to C_s before summing, so that the sum passes the
     * service's bound check and the whole example has norm at most the clip norm C.
     */
    public static Map<String, double[]> clipThresholds(ModelSpec spec) {
        if (spec.getPrivacy() == null) {
            throw new IllegalArgumentException("the model has no privacy settings");
        }
        return ShardPrivacy.thresholds(spec.getPrivacy().getClipNorm(), of(spec).values());
    }
}
