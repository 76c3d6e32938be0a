package io.gradstream.core.privacy.ftrl;

import io.gradstream.core.privacy.NoiseGenerator;
import java.util.Objects;

/**
 * Tree-node noise of one shard from the keyed ChaCha20 generator ({@link NoiseGenerator}), for DP-FTRL's tree
 * aggregation (Kairouz et al. 2021, arXiv:2103.00039). Node (tree r, level h, index j) of shard s of tensor T of a
 * model whose noise name is M (its id and incarnation, as for DP-SGD) is drawn under the key (model {@code
 * TreeNodes.noiseModel(M, r)}, tensor T, shard s, version {@code TreeNodes.noiseVersion(h, j)}): the version slot has
 * bit 62 set, which DP-SGD's per-step versions never reach, and (r, h, j) maps injectively onto (model, version), so no
 * two nodes and no node and DP-SGD step share a key. Immutable and thread-safe.
 */
public final class KeyedNodeNoise implements NodeNoise {
    private final NoiseGenerator generator;
    private final String modelNoiseName;
    private final String tensor;
    private final int shard;

    /**
     * @param modelNoiseName the model's noise name as DP-SGD uses it ({@code model/incarnation}, or the bare id for a
     *     model without an incarnation)
     */
    public KeyedNodeNoise(NoiseGenerator generator, String modelNoiseName, String tensor, int shard) {
        this.generator = Objects.requireNonNull(generator, "generator must not be null");
        this.modelNoiseName = Objects.requireNonNull(modelNoiseName, "modelNoiseName must not be null");
        this.tensor = Objects.requireNonNull(tensor, "tensor must not be null");
        if (shard < 0) {
            throw new IllegalArgumentException("shard must be >= 0, got " + shard);
        }
        this.shard = shard;
    }

    @Override
    public void draw(long tree, int level, long index, double std, double[] out) {
        generator.gaussian(
                out,
                0,
                std,
                TreeNodes.noiseModel(modelNoiseName, tree),
                tensor,
                shard,
                TreeNodes.noiseVersion(level, index));
    }

    @Override
    public String toString() {
        return "KeyedNodeNoise[" + modelNoiseName + ", " + tensor + ", shard " + shard + ", " + generator + "]";
    }
}
