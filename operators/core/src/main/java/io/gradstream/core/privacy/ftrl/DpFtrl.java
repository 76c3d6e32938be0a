package io.gradstream.core.privacy.ftrl;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The DP-FTRL step on one shard (Kairouz, McMahan, Song, Thakkar, Thakurta, Xu 2021, "Practical and Private (Deep)
 * Learning without Sampling or Shuffling", arXiv:2103.00039, Alg. 1 and its momentum variant DP-FTRLM): the iterate is
 * the tree's anchor minus the learning rate times the tree-aggregated noisy prefix sum of the clipped gradient sums,
 * divided by the expected count; trees restart every {@link FtrlConfig#stepsPerTree()} steps from the current iterate.
 * One instance per thread (it owns reusable work buffers); the arithmetic is deterministic.
 *
 * <p>Step t of tree r (t counted from 1 inside the tree), with {@code G_t} the clipped sum of step t, {@code N_t} the
 * tree noise of prefix [1, t] ({@link TreeVariant}), d the divisor, eta the learning rate, m the momentum:
 *
 * <pre>
 *   S_t = S_{t-1} + G_t                       (float; the state's prefix sum)
 *   g_t = (S_t + N_t) / d                     (double)
 *   v_t = m v_{t-1} + g_t                     (float; only with m &gt; 0)
 *   theta_t = theta_0 - eta (nesterov ? m v_t + g_t : v_t)   (double, rounded once to float)
 * </pre>
 *
 * This is TF Federated's {@code DPFTRLMServerOptimizer} (google-research/federated, dp_ftrl/optimizer_utils.py), whose
 * restart sets theta_0 to the current iterate and zeroes the sums and the momentum; eta is 1/lambda of the paper's
 * regulariser (lambda/2)||theta - theta_0||^2. With sigma = 0, m = 0 and one tree, theta_t = theta_0 - eta sum G / d:
 * gradient descent with a constant rate.
 */
public final class DpFtrl {
    /** Work buffers per shard size: a subtask steps shards of a few sizes, so the map stays small. */
    private static final int MAX_WORKSPACES = 16;

    private final FtrlConfig config;
    private final Map<Integer, double[][]> workspaces = new HashMap<>();
    private final HonakerPool pool = new HonakerPool();

    public DpFtrl(FtrlConfig config) {
        this.config = Objects.requireNonNull(config, "config must not be null");
    }

    public FtrlConfig config() {
        return config;
    }

    /** Whether the next {@link #step} starts a new tree first (the current one has {@code stepsPerTree} steps). */
    public boolean restartDue(FtrlShardState state) {
        return config.stepsPerTree() > 0 && state.stepInTree() >= config.stepsPerTree();
    }

    /**
     * Applies one step. {@code params} holds the shard's current parameters on entry (the last released iterate,
     * which becomes the anchor when a restart is due) and the new iterate on return.
     *
     * @param clippedSum the sum of this step's clipped contributions to the shard (not divided; not modified)
     * @param learningRate eta, finite and &gt;= 0
     * @param noiseStd sigma C, the std of every tree node's noise per coordinate (C the whole contribution's clip
     *     norm); fixed within a tree: a different value mid-tree is refused, restart the tree to change it
     * @param divisor the expected number of contributions (or examples) per step, finite and &gt; 0
     * @param noise the shard's node noise
     * @return true when this step first started a new tree (the previous one had {@code stepsPerTree} steps): a
     *     ledger kept beside the state records the finished tree then ({@link TreeLedger#plusRestart()})
     * @throws IllegalArgumentException on a wrong length or value, or a noise std that differs from the tree's;
     *     thrown before the state or the parameters change
     */
    public boolean step(
            FtrlShardState state,
            float[] clippedSum,
            double learningRate,
            double noiseStd,
            double divisor,
            NodeNoise noise,
            float[] params) {
        Objects.requireNonNull(state, "state must not be null");
        Objects.requireNonNull(noise, "noise must not be null");
        int n = state.size();
        checkLength("clippedSum", clippedSum, n);
        checkLength("params", params, n);
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be finite and >= 0, got " + learningRate);
        }
        if (!(noiseStd >= 0) || Double.isInfinite(noiseStd)) {
            throw new IllegalArgumentException("noiseStd must be finite and >= 0, got " + noiseStd);
        }
        if (!(divisor > 0) || Double.isInfinite(divisor)) {
            throw new IllegalArgumentException("divisor must be finite and > 0, got " + divisor);
        }
        boolean restarted = restartDue(state);
        if (restarted) {
            state.restart(params, pool);
        }
        if (state.stepInTree() == 0) {
            state.beginTree(noiseStd);
        } else if (Double.compare(noiseStd, state.treeNoiseStd()) != 0) {
            // Nodes already released were drawn with the tree's std; redrawing them with another would change them.
            throw new IllegalArgumentException("noiseStd " + noiseStd + " differs from tree " + state.treeIndex()
                    + "'s " + state.treeNoiseStd() + ": restart the tree to change the noise");
        }
        state.advance();

        float[] sum = state.prefixSum();
        for (int i = 0; i < n; i++) {
            sum[i] = sum[i] + clippedSum[i];
        }
        double[][] ws = workspace(n);
        double[] acc = ws[0];
        if (noiseStd > 0) {
            if (config.variant() == TreeVariant.HONAKER) {
                honakerAdvance(state, noiseStd, noise, acc, ws[1]);
            }
            prefixNoise(state, noise, acc, ws[1]);
        } else {
            Arrays.fill(acc, 0.0);
        }

        float[] anchor = state.anchor();
        double m = config.momentum();
        if (m == 0) {
            for (int i = 0; i < n; i++) {
                double g = (sum[i] + acc[i]) / divisor;
                params[i] = (float) (anchor[i] - learningRate * g);
            }
        } else {
            float[] v = state.momentumBuffer();
            boolean nesterov = config.nesterov();
            for (int i = 0; i < n; i++) {
                double g = (sum[i] + acc[i]) / divisor;
                float vi = (float) (m * v[i] + g);
                v[i] = vi;
                double delta = nesterov ? m * vi + g : vi;
                params[i] = (float) (anchor[i] - learningRate * delta);
            }
        }
        return restarted;
    }

    /**
     * Starts the next tree now, anchored at {@code params} (the current iterate): zero prefix sum and momentum, the
     * next tree number, step 0. A model whose hyperparameters (noise, clip norm, divisor) change does this first.
     */
    public void restart(FtrlShardState state, float[] params) {
        checkLength("params", params, state.size());
        state.restart(params, pool);
    }

    /**
     * Writes the noise of the current prefix [1, stepInTree] of {@code state}'s tree into {@code out} (length: the
     * shard's), for the configured variant: the plain sum of the covering nodes, drawn again from {@code noise}, or the
     * Honaker estimate from the buffered levels. Zero before the tree's first step or when its noise std is 0.
     */
    public void prefixNoise(FtrlShardState state, NodeNoise noise, double[] out) {
        checkLength("out", out, state.size());
        prefixNoise(state, noise, out, workspace(state.size())[1]);
    }

    private void prefixNoise(FtrlShardState state, NodeNoise noise, double[] out, double[] scratch) {
        long t = state.stepInTree();
        double std = state.treeNoiseStd();
        if (t == 0 || !(std > 0)) {
            Arrays.fill(out, 0.0);
            return;
        }
        if (config.variant() == TreeVariant.PLAIN) {
            plainPrefixNoise(state.treeIndex(), t, std, noise, out, scratch);
            return;
        }
        Arrays.fill(out, 0.0);
        float[][] levels = state.honakerLevels();
        // Ascending levels: a fixed order of additions, so every run rounds alike.
        for (int h = 0; h < TreeNodes.MAX_LEVELS; h++) {
            if ((t >>> h & 1) == 0) {
                continue;
            }
            float[] est = levels[h];
            if (est == null) {
                throw new IllegalStateException("Honaker level " + h + " of tree " + state.treeIndex() + " at step " + t
                        + " is missing: the state was not built by the Honaker variant");
            }
            double w = TreeNodes.honakerWeight(h);
            for (int i = 0; i < out.length; i++) {
                out[i] += w * est[i];
            }
        }
    }

    /**
     * The plain tree noise of prefix [1, t] of tree {@code tree}: the sum, over the set bits h of t in ascending
     * order, of node (tree, h, (t &gt;&gt; h) - 1), each drawn with {@code std}; {@code scratch} is overwritten.
     */
    public static void plainPrefixNoise(
            long tree, long t, double std, NodeNoise noise, double[] out, double[] scratch) {
        TreeNodes.checkStep(t);
        if (scratch.length != out.length) {
            throw new IllegalArgumentException("scratch has " + scratch.length + " elements, out " + out.length);
        }
        boolean first = true;
        for (int h = 0; h < TreeNodes.MAX_LEVELS; h++) {
            if ((t >>> h & 1) == 0) {
                continue;
            }
            long index = (t >>> h) - 1;
            if (first) {
                noise.draw(tree, h, index, std, out);
                first = false;
            } else {
                noise.draw(tree, h, index, std, scratch);
                for (int i = 0; i < out.length; i++) {
                    out[i] += scratch[i];
                }
            }
        }
    }

    /**
     * Honaker's online update at step t: the new leaf, then for each level h &lt; ctz(t) the completed parent at level
     * h + 1, whose estimate is its own noise plus half of its two children's estimates (the buffered left one and the
     * one just formed); the result is buffered at level ctz(t) and the lower levels are dropped.
     */
    private void honakerAdvance(FtrlShardState state, double std, NodeNoise noise, double[] cur, double[] scratch) {
        long t = state.stepInTree();
        long tree = state.treeIndex();
        float[][] levels = state.honakerLevels();
        noise.draw(tree, 0, t - 1, std, cur);
        int c = Long.numberOfTrailingZeros(t);
        for (int h = 0; h < c; h++) {
            float[] left = levels[h];
            if (left == null) {
                throw new IllegalStateException("Honaker level " + h + " of tree " + tree + " before step " + t
                        + " is missing: the state was not built by the Honaker variant");
            }
            noise.draw(tree, h + 1, (t >>> (h + 1)) - 1, std, scratch);
            for (int i = 0; i < cur.length; i++) {
                cur[i] = scratch[i] + 0.5 * (left[i] + cur[i]);
            }
            levels[h] = null;
            pool.release(left);
        }
        float[] node = pool.take(cur.length);
        for (int i = 0; i < cur.length; i++) {
            node[i] = (float) cur[i];
        }
        levels[c] = node;
    }

    private double[][] workspace(int n) {
        double[][] ws = workspaces.get(n);
        if (ws == null) {
            if (workspaces.size() >= MAX_WORKSPACES) {
                workspaces.clear();
            }
            ws = new double[][] {new double[n], new double[n]};
            workspaces.put(n, ws);
        }
        return ws;
    }

    private static void checkLength(String name, Object array, int n) {
        Objects.requireNonNull(array, name + " must not be null");
        int len = array instanceof float[] f ? f.length : ((double[]) array).length;
        if (len != n) {
            throw new IllegalArgumentException(name + " has " + len + " elements, the shard " + n);
        }
    }

    @Override
    public String toString() {
        return "DpFtrl[" + config + "]";
    }
}
