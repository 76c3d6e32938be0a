package io.gradstream.core.privacy.ftrl;

/**
 * The binary tree of tree aggregation (Dwork, Naor, Pitassi, Rothblum 2010; Chan, Shi, Song 2011) as DP-FTRL uses it
 * (Kairouz et al. 2021, "Practical and Private (Deep) Learning without Sampling or Shuffling", arXiv:2103.00039): the
 * node at level {@code h}, index {@code j} holds the sum of steps {@code [j 2^h + 1, (j + 1) 2^h]} of one tree, and the
 * prefix {@code [1, t]} is covered by one node per set bit of {@code t}. Also the domain-separated key under which a
 * node's noise is drawn from {@link io.gradstream.core.privacy.NoiseGenerator}.
 */
public final class TreeNodes {
    /** Levels 0..55: steps inside one tree are below 2^56, so level and index fit the noise key's version slot. */
    public static final int MAX_LEVELS = 56;
    /** The largest step index inside one tree (2^56 - 1): at a step a microsecond, over 2,000 years. */
    public static final long MAX_STEPS_PER_TREE = (1L << MAX_LEVELS) - 1;
    /**
     * Bit 62 of the version slot marks a DP-FTRL node. DP-SGD draws use the shard's version (its count of applied
     * steps), which stays below 2^62 in any run that can exist (2^62 steps at one per nanosecond take 146 years), so
     * no DP-FTRL node key equals a DP-SGD key, whatever the model and tensor names.
     */
    public static final long NODE_VERSION_BIT = 1L << 62;
    /** Prefix of the model slot of a DP-FTRL node's noise key; the tree number follows, then the model's noise name. */
    public static final String MODEL_PREFIX = "gradstream/dp-ftrl/v1/tree=";

    private static final int LEVEL_SHIFT = MAX_LEVELS;

    private TreeNodes() {}

    /**
     * The index at {@code level} of the node that covers the part of {@code [1, t]} belonging to bit {@code level} of
     * {@code t} (which must be set): {@code (t >> level) - 1}; it spans steps {@code [j 2^h + 1, (j + 1) 2^h]}.
     */
    public static long coveringIndex(long t, int level) {
        checkStep(t);
        checkLevel(level);
        if ((t >>> level & 1) == 0) {
            throw new IllegalArgumentException("bit " + level + " of step " + t + " is not set");
        }
        return (t >>> level) - 1;
    }

    /** The first step (1-based) the node at (level, index) covers. */
    public static long firstStep(int level, long index) {
        checkNode(level, index);
        return (index << level) + 1;
    }

    /** The last step the node at (level, index) covers: the step at which it is complete. */
    public static long lastStep(int level, long index) {
        checkNode(level, index);
        return (index + 1) << level;
    }

    /**
     * The version slot of a node's noise key: {@code 2^62 | level << 56 | index}. Injective on valid (level, index),
     * and always at least 2^62, where DP-SGD versions never are.
     */
    public static long noiseVersion(int level, long index) {
        checkNode(level, index);
        return NODE_VERSION_BIT | ((long) level << LEVEL_SHIFT) | index;
    }

    /**
     * The model slot of a node's noise key: {@value #MODEL_PREFIX} + tree (decimal) + "/" + the model's noise name
     * (its id and incarnation, as DP-SGD uses it). The decimal tree number ends at the first '/' after the prefix, so
     * distinct (tree, name) pairs give distinct strings.
     */
    public static String noiseModel(String modelNoiseName, long tree) {
        if (modelNoiseName == null) {
            throw new IllegalArgumentException("modelNoiseName must not be null");
        }
        if (tree < 0) {
            throw new IllegalArgumentException("tree must be >= 0, got " + tree);
        }
        return MODEL_PREFIX + tree + "/" + modelNoiseName;
    }

    /**
     * Honaker's weight of a level-{@code h} node's recursive estimate, {@code 1 / (2 - 2^-h)}: the estimate sums its
     * own noise and half of each child's, so its noise variance is {@code (2 - 2^-h) sigma^2} and its signal
     * {@code (2 - 2^-h)} times the node's sum.
     */
    public static double honakerWeight(int level) {
        checkLevel(level);
        return 1.0 / (2.0 - Math.scalb(1.0, -level));
    }

    /** Number of tree nodes the noise of prefix {@code [1, t]} sums in the plain variant: the set bits of t. */
    public static int nodesInPrefix(long t) {
        checkStep(t);
        return Long.bitCount(t);
    }

    static void checkStep(long t) {
        if (t < 1 || t > MAX_STEPS_PER_TREE) {
            throw new IllegalArgumentException(
                    "step inside a tree must be in [1, " + MAX_STEPS_PER_TREE + "], got " + t);
        }
    }

    static void checkLevel(int level) {
        if (level < 0 || level >= MAX_LEVELS) {
            throw new IllegalArgumentException("level must be in [0, " + MAX_LEVELS + "), got " + level);
        }
    }

    static void checkNode(int level, long index) {
        checkLevel(level);
        if (index < 0 || index > (MAX_STEPS_PER_TREE >>> level) - 1) {
            throw new IllegalArgumentException("index at level " + level + " must be in [0, "
                    + ((MAX_STEPS_PER_TREE >>> level) - 1) + "], got " + index);
        }
    }
}
