package io.gradstream.core.privacy.ftrl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.privacy.NoiseGenerator;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * DP-FTRL's step: tree noise as the sum of its nodes' keyed noise, its variance (plain and Honaker), restarts,
 * momentum, bit-identical restore, and the noiseless case equal to gradient descent.
 */
class DpFtrlTest {
    private static final byte[] SEED = "dp-ftrl-test-seed-0123456789".getBytes(StandardCharsets.UTF_8);
    private static final NoiseGenerator GENERATOR = new NoiseGenerator(SEED);
    private static final String MODEL = "digits/control-0@42";

    private static KeyedNodeNoise noise(String tensor, int shard) {
        return new KeyedNodeNoise(GENERATOR, MODEL, tensor, shard);
    }

    /** Records every node drawn, and delegates the values. */
    private record Recorder(NodeNoise inner, List<long[]> draws) implements NodeNoise {
        Recorder(NodeNoise inner) {
            this(inner, new ArrayList<>());
        }

        @Override
        public void draw(long tree, int level, long index, double std, double[] out) {
            draws.add(new long[] {tree, level, index});
            inner.draw(tree, level, index, std, out);
        }
    }

    private static float[] gaussianVector(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return v;
    }

    /** The node's noise drawn straight from the generator under the key the Javadoc documents, not via the class. */
    private static double[] nodeByDocumentedKey(long tree, int level, long index, double std, int n, String tensor) {
        double[] out = new double[n];
        long version = (1L << 62) | ((long) level << 56) | index;
        GENERATOR.gaussian(out, 0, std, "gradstream/dp-ftrl/v1/tree=" + tree + "/" + MODEL, tensor, 3, version);
        return out;
    }

    @Test
    void prefixNoiseIsTheSumOfTheCoveringNodes() {
        int n = 777;
        double std = 1.7;
        long tree = 5;
        double[] out = new double[n];
        double[] scratch = new double[n];
        for (long t = 1; t <= 40; t++) {
            DpFtrl.plainPrefixNoise(tree, t, std, noise("w", 3), out, scratch);
            double[] expected = new double[n];
            for (int h = 0; h < 63; h++) {
                if ((t >>> h & 1) == 1) {
                    double[] node = nodeByDocumentedKey(tree, h, (t >>> h) - 1, std, n, "w");
                    for (int i = 0; i < n; i++) {
                        expected[i] += node[i];
                    }
                }
            }
            assertThat(out).as("prefix noise at t=%d", t).containsExactly(expected);
        }
    }

    @Test
    void stepReleasesAnchorMinusRateTimesNoisyPrefixOverDivisor() {
        int n = 300;
        Random r = new Random(1);
        float[] theta0 = gaussianVector(r, n, 1);
        FtrlShardState s = FtrlShardState.initial(theta0);
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(TreeVariant.PLAIN, 0));
        float[] params = theta0.clone();
        double lr = 0.3;
        double std = 0.8;
        double d = 16;
        float[] sum = new float[n];
        double[] scratch = new double[n];
        for (int t = 1; t <= 9; t++) {
            float[] g = gaussianVector(r, n, 2);
            ftrl.step(s, g, lr, std, d, noise("w", 3), params);
            double[] z = new double[n];
            DpFtrl.plainPrefixNoise(0, t, std, noise("w", 3), z, scratch);
            for (int i = 0; i < n; i++) {
                sum[i] = sum[i] + g[i];
                assertThat(params[i]).isEqualTo((float) (theta0[i] - lr * ((sum[i] + z[i]) / d)));
            }
        }
        assertThat(s.prefixSum()).containsExactly(sum);
        assertThat(s.stepInTree()).isEqualTo(9);
        assertThat(s.treeIndex()).isZero();
        // The inputs are not modified, the state's anchor is still theta_0.
        assertThat(s.anchor()).containsExactly(theta0);
    }

    /** Sample variance of -params over a 64 Ki shard after each step with zero gradients from a zero anchor. */
    private static double[] prefixNoiseVariances(TreeVariant variant, double std, long[] steps) {
        int n = 1 << 16;
        FtrlShardState s = FtrlShardState.initial(new float[n]);
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(variant, 0));
        float[] params = new float[n];
        float[] zero = new float[n];
        double[] out = new double[steps.length];
        int k = 0;
        for (long t = 1; t <= steps[steps.length - 1]; t++) {
            ftrl.step(s, zero, 1.0, std, 1.0, noise("w", 0), params);
            if (t == steps[k]) {
                double sum = 0;
                double sq = 0;
                for (float p : params) {
                    sum += p;
                    sq += (double) p * p;
                }
                double mean = sum / n;
                // The mean of iid N(0, v) over n draws has std sqrt(v / n): 5 of those is a bound that could fail.
                double var = sq / n - mean * mean;
                assertThat(Math.abs(mean)).as("mean at t=%d", t).isLessThan(5 * Math.sqrt(var / n));
                out[k++] = var;
            }
        }
        return out;
    }

    @Test
    void plainPrefixNoiseVarianceIsPopcountTimesSigmaSquared() {
        double std = 2.5;
        long[] steps = {1, 2, 3, 7, 8, 11, 15, 16, 31};
        double[] var = prefixNoiseVariances(TreeVariant.PLAIN, std, steps);
        for (int k = 0; k < steps.length; k++) {
            double expected = Long.bitCount(steps[k]) * std * std;
            // The sample variance of 65536 normals has relative std sqrt(2 / 65536) = 0.55 %; 3 % is 5.4 of those.
            assertThat(var[k] / expected).as("t=%d", steps[k]).isCloseTo(1.0, within(0.03));
        }
    }

    @Test
    void honakerVarianceMatchesItsFormulaAndIsLower() {
        double std = 2.5;
        long[] steps = {1, 2, 3, 7, 8, 11, 15, 16, 31};
        double[] plain = prefixNoiseVariances(TreeVariant.PLAIN, std, steps);
        double[] honaker = prefixNoiseVariances(TreeVariant.HONAKER, std, steps);
        for (int k = 0; k < steps.length; k++) {
            long t = steps[k];
            double expected = 0;
            for (int h = 0; h < 63; h++) {
                if ((t >>> h & 1) == 1) {
                    expected += std * std / (2 - Math.pow(2, -h));
                }
            }
            assertThat(honaker[k] / expected).as("t=%d", t).isCloseTo(1.0, within(0.03));
            if (t == 1) {
                // One leaf: both estimators are that leaf's noise.
                assertThat(honaker[k]).isEqualTo(plain[k]);
            } else {
                // At least 1/3 lower whenever a level above the leaves is used (t=3: 1 + 2/3 against 2).
                assertThat(honaker[k]).as("t=%d", t).isLessThan(0.9 * plain[k]);
            }
        }
    }

    /** Honaker's estimate written out recursively from raw node draws: v(0,j) = z, v(h,j) = z + (v(h-1,2j) + ...)/2. */
    private static double[] recursiveEstimate(long tree, int level, long index, double std, int n) {
        double[] z = nodeByDocumentedKey(tree, level, index, std, n, "w");
        if (level == 0) {
            return z;
        }
        double[] left = recursiveEstimate(tree, level - 1, 2 * index, std, n);
        double[] right = recursiveEstimate(tree, level - 1, 2 * index + 1, std, n);
        for (int i = 0; i < n; i++) {
            z[i] += (left[i] + right[i]) / 2;
        }
        return z;
    }

    @Test
    void honakerEstimateEqualsTheRecursiveDefinition() {
        int n = 64;
        double std = 1.3;
        FtrlShardState s = FtrlShardState.initial(new float[n]);
        // Tree 1: restart once first, so the tree number is part of what is checked.
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(TreeVariant.HONAKER, 0));
        ftrl.restart(s, new float[n]);
        float[] params = new float[n];
        double[] got = new double[n];
        for (long t = 1; t <= 23; t++) {
            ftrl.step(s, new float[n], 1.0, std, 1.0, noise("w", 3), params);
            ftrl.prefixNoise(s, noise("w", 3), got);
            double[] expected = new double[n];
            for (int h = 0; h < 63; h++) {
                if ((t >>> h & 1) == 1) {
                    double[] v = recursiveEstimate(1, h, (t >>> h) - 1, std, n);
                    for (int i = 0; i < n; i++) {
                        expected[i] += v[i] / (2 - Math.pow(2, -h));
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                // The state keeps each level's estimate in float: relative 2^-24 per level, a few levels.
                assertThat(got[i])
                        .as("t=%d i=%d", t, i)
                        .isCloseTo(expected[i], within(1e-5 * (1 + Math.abs(expected[i]))));
            }
            for (int h = 0; h < TreeNodes.MAX_LEVELS; h++) {
                assertThat(s.honakerLevel(h) != null).isEqualTo((t >>> h & 1) == 1);
            }
        }
    }

    @Test
    void restartAnchorsTheNextTreeAtTheCurrentIterate() {
        int n = 50;
        Random r = new Random(7);
        float[] theta0 = gaussianVector(r, n, 1);
        FtrlShardState s = FtrlShardState.initial(theta0);
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(TreeVariant.PLAIN, 3));
        Recorder rec = new Recorder(noise("w", 3));
        float[] params = theta0.clone();
        double lr = 0.1;
        double std = 0.5;
        double d = 4;
        for (int t = 1; t <= 3; t++) {
            ftrl.step(s, gaussianVector(r, n, 1), lr, std, d, rec, params);
        }
        assertThat(ftrl.restartDue(s)).isTrue();
        float[] endOfTree0 = params.clone();
        rec.draws().clear();
        float[] g4 = gaussianVector(r, n, 1);
        ftrl.step(s, g4, lr, std, d, rec, params);
        assertThat(s.treeIndex()).isEqualTo(1);
        assertThat(s.stepInTree()).isEqualTo(1);
        assertThat(s.anchor()).containsExactly(endOfTree0);
        assertThat(s.prefixSum()).containsExactly(g4);
        // The first step of tree 1 uses only its first leaf.
        assertThat(rec.draws()).containsExactly(new long[] {1, 0, 0});
        double[] z = nodeByDocumentedKey(1, 0, 0, std, n, "w");
        for (int i = 0; i < n; i++) {
            assertThat(params[i]).isEqualTo((float) (endOfTree0[i] - lr * ((0f + g4[i] + z[i]) / d)));
        }
        // An explicit restart does the same at any point.
        ftrl.step(s, gaussianVector(r, n, 1), lr, std, d, rec, params);
        ftrl.restart(s, params);
        assertThat(s.treeIndex()).isEqualTo(2);
        assertThat(s.stepInTree()).isZero();
        assertThat(s.prefixSum()).containsOnly(0f);
        assertThat(s.anchor()).containsExactly(params);
        assertThat(s.treeNoiseStd()).isNaN();
    }

    @Test
    void withoutNoiseOneTreeIsGradientDescent() {
        int n = 200;
        Random r = new Random(3);
        float[] theta0 = gaussianVector(r, n, 1);
        FtrlShardState s = FtrlShardState.initial(theta0);
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(TreeVariant.PLAIN, 0));
        float[] params = theta0.clone();
        double[] gd = new double[n];
        for (int i = 0; i < n; i++) {
            gd[i] = theta0[i];
        }
        double lr = 0.05;
        double d = 32;
        NodeNoise never = (tree, level, index, std, out) -> {
            throw new AssertionError("sigma = 0 draws no noise");
        };
        for (int t = 1; t <= 100; t++) {
            float[] g = gaussianVector(r, n, 3);
            ftrl.step(s, g, lr, 0.0, d, never, params);
            for (int i = 0; i < n; i++) {
                gd[i] -= lr * g[i] / d;
            }
        }
        for (int i = 0; i < n; i++) {
            // theta_0 - eta sum g / d: only the float prefix sum's rounding separates it from the double GD iterate.
            assertThat((double) params[i]).isCloseTo(gd[i], within(1e-5 * (1 + Math.abs(gd[i]))));
            assertThat(params[i]).isEqualTo((float) (theta0[i] - lr * (s.prefixSum()[i] / d)));
        }
    }

    @Test
    void momentumFollowsDpFtrlm() {
        for (boolean nesterov : new boolean[] {false, true}) {
            int n = 40;
            Random r = new Random(11);
            float[] theta0 = gaussianVector(r, n, 1);
            double m = 0.9;
            FtrlShardState s = FtrlShardState.initial(theta0);
            DpFtrl ftrl = new DpFtrl(new FtrlConfig(TreeVariant.PLAIN, m, nesterov, 0));
            float[] params = theta0.clone();
            double lr = 0.02;
            double d = 8;
            double[] sum = new double[n];
            double[] v = new double[n];
            for (int t = 1; t <= 30; t++) {
                float[] g = gaussianVector(r, n, 1);
                ftrl.step(s, g, lr, 0.0, d, noise("w", 3), params);
                for (int i = 0; i < n; i++) {
                    // TF Federated's DPFTRLMServerOptimizer: v = m v + S_t / d; theta = theta_0 - lr (m v + S_t/d | v).
                    sum[i] += g[i];
                    double gi = sum[i] / d;
                    v[i] = m * v[i] + gi;
                    double delta = nesterov ? m * v[i] + gi : v[i];
                    assertThat((double) params[i]).isCloseTo(theta0[i] - lr * delta, within(1e-5));
                }
            }
            assertThat(s.momentum()).hasSize(n);
        }
    }

    @Test
    void drawsPerStepArePopcountForPlainAndOnePlusTrailingZerosForHonaker() {
        for (TreeVariant variant : TreeVariant.values()) {
            int n = 8;
            FtrlShardState s = FtrlShardState.initial(new float[n]);
            DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(variant, 0));
            Recorder rec = new Recorder((tree, level, index, std, out) -> Arrays.fill(out, 1.0));
            float[] params = new float[n];
            for (long t = 1; t <= 100; t++) {
                rec.draws().clear();
                ftrl.step(s, new float[n], 1.0, 1.0, 1.0, rec, params);
                long expected = variant == TreeVariant.PLAIN ? Long.bitCount(t) : 1 + Long.numberOfTrailingZeros(t);
                assertThat(rec.draws()).as("%s t=%d", variant, t).hasSize((int) expected);
                if (variant == TreeVariant.PLAIN) {
                    // Unit node noise: the prefix noise counts the nodes, as the paper's test_mode check does.
                    assertThat(params[0]).isEqualTo((float) -Long.bitCount(t));
                }
            }
        }
    }

    private static byte[] serialise(FtrlShardState s) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            s.writeTo(out);
        }
        return bytes.toByteArray();
    }

    private static FtrlShardState restore(byte[] b) throws IOException {
        return FtrlShardState.readFrom(new DataInputStream(new ByteArrayInputStream(b)), 1 << 20);
    }

    @Test
    void restoredMidTreeContinuesBitIdentically() throws IOException {
        for (TreeVariant variant : TreeVariant.values()) {
            int n = 1000;
            Random r = new Random(5);
            float[] theta0 = gaussianVector(r, n, 1);
            FtrlConfig config = new FtrlConfig(variant, 0.5, false, 8);
            FtrlShardState live = FtrlShardState.initial(theta0);
            DpFtrl a = new DpFtrl(config);
            float[] pa = theta0.clone();
            List<float[]> grads = new ArrayList<>();
            for (int t = 0; t < 20; t++) {
                grads.add(gaussianVector(r, n, 1));
            }
            for (int t = 0; t < 7; t++) {
                a.step(live, grads.get(t), 0.1, 1.5, 10, noise("w", 3), pa);
            }
            byte[] checkpoint = serialise(live);
            FtrlShardState restored = restore(checkpoint);
            assertThat(restored).isEqualTo(live).isEqualTo(live.copy());
            assertThat(serialise(restored)).isEqualTo(checkpoint);
            // A fresh kernel (a restarted job) with the restored state and parameters.
            DpFtrl b = new DpFtrl(config);
            float[] pb = pa.clone();
            for (int t = 7; t < 20; t++) {
                a.step(live, grads.get(t), 0.1, 1.5, 10, noise("w", 3), pa);
                b.step(restored, grads.get(t), 0.1, 1.5, 10, noise("w", 3), pb);
                assertThat(Arrays.equals(pa, pb))
                        .as("%s step %d", variant, t + 1)
                        .isTrue();
            }
            assertThat(restored).isEqualTo(live);
            assertThat(live.treeIndex()).isEqualTo(2);
            assertThat(serialise(restored)).isEqualTo(serialise(live));
        }
    }

    @Test
    void restoreRefusesInconsistentState() throws IOException {
        FtrlShardState s = FtrlShardState.initial(new float[4]);
        byte[] ok = serialise(s);
        assertThatThrownBy(() -> FtrlShardState.readFrom(new DataInputStream(new ByteArrayInputStream(ok)), 3))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("size 4");
        byte[] badFormat = ok.clone();
        badFormat[3] = 9;
        assertThatThrownBy(() -> restore(badFormat)).isInstanceOf(IOException.class);
        // A Honaker level at step 0 (no set bit) is refused.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(ok, 0, ok.length - 4);
            out.writeInt(1);
            out.writeInt(0);
            for (int i = 0; i < 4; i++) {
                out.writeFloat(0f);
            }
        }
        assertThatThrownBy(() -> restore(bytes.toByteArray())).isInstanceOf(IOException.class);
    }

    @Test
    void treesNodesAndDpSgdStepsDrawDifferentNoise() {
        int n = 16;
        NodeNoise nn = noise("w", 3);
        long[][] nodes = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 1, 1}, {1, 1, 0}, {2, 3, 5}};
        List<double[]> seen = new ArrayList<>();
        for (long[] node : nodes) {
            double[] z = new double[n];
            nn.draw(node[0], (int) node[1], node[2], 1.0, z);
            double[] again = new double[n];
            nn.draw(node[0], (int) node[1], node[2], 1.0, again);
            assertThat(again).containsExactly(z);
            seen.add(z);
        }
        // DP-SGD's per-version noise of the same model, tensor and shard.
        for (long version = 0; version < 4; version++) {
            double[] z = new double[n];
            GENERATOR.gaussian(z, 0, 1.0, MODEL, "w", 3, version);
            seen.add(z);
        }
        // Another shard and another tensor.
        double[] other = new double[n];
        noise("w", 4).draw(0, 0, 0, 1.0, other);
        seen.add(other);
        other = new double[n];
        noise("b", 3).draw(0, 0, 0, 1.0, other);
        seen.add(other);
        for (int a = 0; a < seen.size(); a++) {
            for (int b = a + 1; b < seen.size(); b++) {
                assertThat(Arrays.equals(seen.get(a), seen.get(b)))
                        .as("draws %d and %d", a, b)
                        .isFalse();
            }
        }
    }

    @Test
    void refusesBadArguments() {
        FtrlShardState s = FtrlShardState.initial(new float[3]);
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(TreeVariant.PLAIN, 0));
        float[] p = new float[3];
        NodeNoise nn = noise("w", 0);
        assertThatThrownBy(() -> ftrl.step(s, new float[2], 0.1, 1, 1, nn, p))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ftrl.step(s, new float[3], Double.NaN, 1, 1, nn, p))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ftrl.step(s, new float[3], 0.1, -1, 1, nn, p))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ftrl.step(s, new float[3], 0.1, 1, 0, nn, p))
                .isInstanceOf(IllegalArgumentException.class);
        ftrl.step(s, new float[3], 0.1, 1, 1, nn, p);
        // Mid-tree the noise std is fixed: the released nodes were drawn with it.
        assertThatThrownBy(() -> ftrl.step(s, new float[3], 0.1, 2, 1, nn, p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("restart");
        ftrl.restart(s, p);
        ftrl.step(s, new float[3], 0.1, 2, 1, nn, p);
        assertThat(s.treeNoiseStd()).isEqualTo(2);
        assertThatThrownBy(() -> new FtrlConfig(TreeVariant.PLAIN, 1.0, false, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FtrlConfig(TreeVariant.PLAIN, 0, true, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FtrlConfig(TreeVariant.PLAIN, 0, false, -1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
