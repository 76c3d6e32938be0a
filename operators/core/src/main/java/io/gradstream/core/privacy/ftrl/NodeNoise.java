package io.gradstream.core.privacy.ftrl;

/**
 * The noise of one node of one shard's aggregation tree in DP-FTRL (Kairouz et al. 2021, arXiv:2103.00039): a pure
 * function of (tree, level, index) for a fixed shard, so that a node's noise can be drawn again whenever a prefix sum
 * needs it instead of being kept in state. {@link KeyedNodeNoise} draws it from the keyed generator.
 */
@FunctionalInterface
public interface NodeNoise {
    /**
     * Writes {@code std} times the standard normals of node (tree, level, index) for elements {@code [0, out.length)}
     * of the shard into {@code out}. Equal arguments must give equal values, bit for bit.
     */
    void draw(long tree, int level, long index, double std, double[] out);
}
