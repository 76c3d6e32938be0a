package io.gradstream.model;

import io.gradstream.core.shard.ShardPrivacy;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.TensorSpec;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensor layouts (shape and sharding) of a model as the service cuts them; one definition for the job, the Java
 * client and the demo. {@link #of(ModelSpec, Limits)} checks the model's size against the limits with long arithmetic
 * before anything is allocated, so a CREATE of a billion shards costs nothing but its refusal.
 */
public final class ModelLayouts {
    private ModelLayouts() {}

    /** The layouts of {@code spec} within {@link Limits#DEFAULT}. */
    public static Map<String, TensorLayout> of(ModelSpec spec) {
        return of(spec, Limits.DEFAULT);
    }

    /**
     * The layouts of {@code spec}, by tensor name in the spec's order.
     *
     * @throws IllegalArgumentException naming the tensor and the limit (and its configuration key) that it exceeds
     */
    public static Map<String, TensorLayout> of(ModelSpec spec, Limits limits) {
        List<TensorSpec> tensors = spec.getTensors();
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("the model has no tensors");
        }
        int shardSize = spec.getShardSize();
        if (shardSize <= 0) {
            throw new IllegalArgumentException("shardSize must be > 0, got " + shardSize);
        }
        if (shardSize > limits.shardElements()) {
            throw new IllegalArgumentException(
                    "shardSize " + shardSize + " is above gradstream.limits.shard-elements = " + limits.shardElements()
                            + " (a shard's update must fit one Kafka record)");
        }
        long shards = 0;
        long elements = 0;
        for (TensorSpec t : tensors) {
            limits.requireName("tensor", t.getName());
            long n = 1;
            for (int d : t.getShape()) {
                if (d <= 0) {
                    throw new IllegalArgumentException(
                            "tensor " + t.getName() + " has a non-positive dimension: " + t.getShape());
                }
                if (n > limits.modelElements() / d) {
                    n = limits.modelElements() + 1; // refused below; multiplying could overflow
                    break;
                }
                n *= d;
            }
            elements += n;
            shards += (n + shardSize - 1) / shardSize;
            if (elements > limits.modelElements()) {
                throw new IllegalArgumentException("the model has more than gradstream.limits.model-elements = "
                        + limits.modelElements() + " elements (at tensor " + t.getName() + ")");
            }
            if (shards > limits.modelShards()) {
                throw new IllegalArgumentException("the model has more than gradstream.limits.model-shards = "
                        + limits.modelShards() + " shards (at tensor " + t.getName() + ")");
            }
        }
        Map<String, TensorLayout> m = new LinkedHashMap<>();
        for (TensorSpec t : tensors) {
            int[] shape = t.getShape().stream().mapToInt(Integer::intValue).toArray();
            if (m.put(t.getName(), new TensorLayout(t.getName(), shape, shardSize)) != null) {
                throw new IllegalArgumentException("tensor " + t.getName() + " is listed twice");
            }
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
