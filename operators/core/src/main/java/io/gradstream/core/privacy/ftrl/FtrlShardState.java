package io.gradstream.core.privacy.ftrl;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * One shard's DP-FTRL state between steps (Kairouz et al. 2021, arXiv:2103.00039): the sum of the clipped
 * contribution sums of the current tree, the parameters at the tree's start (the FTRL anchor theta_0), the momentum
 * buffer of DP-FTRLM, the tree number and the step inside the tree. The plain variant keeps no noise (nodes are drawn
 * again from the keyed generator); the Honaker variant keeps one node estimate per set bit of {@link #stepInTree()}.
 * Mutable, not thread-safe; {@link #writeTo}/{@link #readFrom} give a stable binary form for checkpoints.
 */
public final class FtrlShardState {
    /** Format version of {@link #writeTo}. */
    public static final int FORMAT_VERSION = 1;

    private static final float[] NO_MOMENTUM = new float[0];

    private final float[] prefixSum;
    private final float[] anchor;
    private float[] momentum;
    /** Entry h: the Honaker estimate of the tree's buffered level-h node; non-null exactly for the set bits. */
    private final float[][] honaker;

    private long treeIndex;
    private long stepInTree;
    private double treeNoiseStd;

    private FtrlShardState(
            float[] prefixSum,
            float[] anchor,
            float[] momentum,
            float[][] honaker,
            long treeIndex,
            long stepInTree,
            double treeNoiseStd) {
        this.prefixSum = prefixSum;
        this.anchor = anchor;
        this.momentum = momentum;
        this.honaker = honaker;
        this.treeIndex = treeIndex;
        this.stepInTree = stepInTree;
        this.treeNoiseStd = treeNoiseStd;
    }

    /** The state before the first step of tree 0: anchored at (a copy of) the initial parameters. */
    public static FtrlShardState initial(float[] params) {
        Objects.requireNonNull(params, "params must not be null");
        return new FtrlShardState(
                new float[params.length],
                params.clone(),
                NO_MOMENTUM,
                new float[TreeNodes.MAX_LEVELS][],
                0,
                0,
                Double.NaN);
    }

    /** Number of elements of the shard. */
    public int size() {
        return anchor.length;
    }

    /** The sum of the clipped contribution sums of steps 1..stepInTree of the current tree (not divided). */
    public float[] prefixSum() {
        return prefixSum;
    }

    /** The parameters at the start of the current tree: theta_0 of the FTRL objective. */
    public float[] anchor() {
        return anchor;
    }

    /** DP-FTRLM's momentum buffer: empty until a step with momentum, then one value per element. */
    public float[] momentum() {
        return momentum;
    }

    /** The tree number, from 0; a restart starts the next tree. */
    public long treeIndex() {
        return treeIndex;
    }

    /** Steps applied in the current tree (0 right after a restart). */
    public long stepInTree() {
        return stepInTree;
    }

    /** The noise std (sigma C) the current tree's nodes are drawn with; NaN before the tree's first step. */
    public double treeNoiseStd() {
        return treeNoiseStd;
    }

    /** The Honaker estimate buffered at {@code level}, or null (always null in the plain variant). */
    public float[] honakerLevel(int level) {
        TreeNodes.checkLevel(level);
        return honaker[level];
    }

    float[][] honakerLevels() {
        return honaker;
    }

    float[] momentumBuffer() {
        if (momentum.length != anchor.length) {
            momentum = new float[anchor.length];
        }
        return momentum;
    }

    void advance() {
        if (stepInTree >= TreeNodes.MAX_STEPS_PER_TREE) {
            throw new IllegalStateException(
                    "tree " + treeIndex + " is full (" + stepInTree + " steps): restart it before the next step");
        }
        stepInTree++;
    }

    void beginTree(double noiseStd) {
        treeNoiseStd = noiseStd;
    }

    /** Starts the next tree anchored at {@code params}; returns the Honaker buffers it dropped for reuse. */
    void restart(float[] params, HonakerPool pool) {
        System.arraycopy(params, 0, anchor, 0, anchor.length);
        Arrays.fill(prefixSum, 0f);
        if (momentum.length > 0) {
            Arrays.fill(momentum, 0f);
        }
        for (int h = 0; h < honaker.length; h++) {
            if (honaker[h] != null) {
                pool.release(honaker[h]);
                honaker[h] = null;
            }
        }
        treeIndex++;
        stepInTree = 0;
        treeNoiseStd = Double.NaN;
    }

    /** A deep copy. */
    public FtrlShardState copy() {
        float[][] h = new float[TreeNodes.MAX_LEVELS][];
        for (int i = 0; i < h.length; i++) {
            h[i] = honaker[i] == null ? null : honaker[i].clone();
        }
        return new FtrlShardState(
                prefixSum.clone(),
                anchor.clone(),
                momentum.length == 0 ? NO_MOMENTUM : momentum.clone(),
                h,
                treeIndex,
                stepInTree,
                treeNoiseStd);
    }

    /**
     * Writes the state: format version (int), size n (int), tree (long), step in tree (long), tree noise std (double
     * bits), prefix sum and anchor (n floats each), momentum length (0 or n) and values, the number k of Honaker
     * levels, then k times (level as int, n floats). Floats are written as raw bits, so a restore is bit-identical.
     */
    public void writeTo(DataOutput out) throws IOException {
        int n = anchor.length;
        out.writeInt(FORMAT_VERSION);
        out.writeInt(n);
        out.writeLong(treeIndex);
        out.writeLong(stepInTree);
        out.writeLong(Double.doubleToRawLongBits(treeNoiseStd));
        writeFloats(out, prefixSum);
        writeFloats(out, anchor);
        out.writeInt(momentum.length);
        writeFloats(out, momentum);
        int k = 0;
        for (float[] level : honaker) {
            if (level != null) {
                k++;
            }
        }
        out.writeInt(k);
        for (int h = 0; h < honaker.length; h++) {
            if (honaker[h] != null) {
                out.writeInt(h);
                writeFloats(out, honaker[h]);
            }
        }
    }

    /**
     * Reads what {@link #writeTo} wrote, refusing a size above {@code maxElements} or an inconsistent form (unknown
     * format, negative counters, a Honaker level that is not a set bit of the step) with an {@link IOException}.
     */
    public static FtrlShardState readFrom(DataInput in, int maxElements) throws IOException {
        int format = in.readInt();
        if (format != FORMAT_VERSION) {
            throw new IOException("unknown DP-FTRL state format " + format + ", expected " + FORMAT_VERSION);
        }
        int n = in.readInt();
        if (n < 0 || n > maxElements) {
            throw new IOException("DP-FTRL state size " + n + " outside [0, " + maxElements + "]");
        }
        long tree = in.readLong();
        long step = in.readLong();
        if (tree < 0 || step < 0 || step > TreeNodes.MAX_STEPS_PER_TREE) {
            throw new IOException("DP-FTRL state has tree " + tree + " and step " + step);
        }
        double std = Double.longBitsToDouble(in.readLong());
        if (!(Double.isNaN(std) || (std >= 0 && !Double.isInfinite(std)))) {
            throw new IOException("DP-FTRL state has tree noise std " + std);
        }
        float[] prefix = readFloats(in, n);
        float[] anchor = readFloats(in, n);
        int m = in.readInt();
        if (m != 0 && m != n) {
            throw new IOException("DP-FTRL momentum has " + m + " elements, the shard " + n);
        }
        float[] momentum = m == 0 ? NO_MOMENTUM : readFloats(in, n);
        int k = in.readInt();
        if (k < 0 || k > Long.bitCount(step)) {
            throw new IOException("DP-FTRL state has " + k + " Honaker levels at step " + step);
        }
        float[][] honaker = new float[TreeNodes.MAX_LEVELS][];
        for (int i = 0; i < k; i++) {
            int h = in.readInt();
            if (h < 0 || h >= TreeNodes.MAX_LEVELS || (step >>> h & 1) == 0 || honaker[h] != null) {
                throw new IOException("DP-FTRL Honaker level " + h + " is not a set bit of step " + step);
            }
            honaker[h] = readFloats(in, n);
        }
        return new FtrlShardState(prefix, anchor, momentum, honaker, tree, step, std);
    }

    private static void writeFloats(DataOutput out, float[] values) throws IOException {
        for (float v : values) {
            out.writeInt(Float.floatToRawIntBits(v));
        }
    }

    private static float[] readFloats(DataInput in, int n) throws IOException {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = Float.intBitsToFloat(in.readInt());
        }
        return values;
    }

    /** Equal when every field is equal bit for bit (floats compared as raw bits, like the serialised form). */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FtrlShardState s)) {
            return false;
        }
        if (treeIndex != s.treeIndex
                || stepInTree != s.stepInTree
                || Double.doubleToRawLongBits(treeNoiseStd) != Double.doubleToRawLongBits(s.treeNoiseStd)
                || !sameBits(prefixSum, s.prefixSum)
                || !sameBits(anchor, s.anchor)
                || !sameBits(momentum, s.momentum)) {
            return false;
        }
        for (int h = 0; h < honaker.length; h++) {
            if ((honaker[h] == null) != (s.honaker[h] == null)
                    || (honaker[h] != null && !sameBits(honaker[h], s.honaker[h]))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = Long.hashCode(treeIndex);
        h = 31 * h + Long.hashCode(stepInTree);
        h = 31 * h + Arrays.hashCode(prefixSum);
        h = 31 * h + Arrays.hashCode(anchor);
        return h;
    }

    private static boolean sameBits(float[] a, float[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        int k = 0;
        for (float[] level : honaker) {
            if (level != null) {
                k++;
            }
        }
        return "FtrlShardState[size=" + anchor.length + ", tree=" + treeIndex + ", step=" + stepInTree + ", noiseStd="
                + treeNoiseStd + ", momentum=" + (momentum.length > 0) + ", honakerLevels=" + k + "]";
    }
}
