package io.gradstream.core.privacy.ftrl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The tree-restart accountant against the paper's published epsilons (test resource {@code
 * dp-ftrl/published_epsilon.csv}, with its provenance), against an independent count of the nodes each contribution
 * touches, against the nodes the kernel actually draws, and against the Gaussian mechanism of RdpAccountant.
 */
class TreeAggregationAccountantTest {

    @Test
    void depthIsTheBitLengthOfTheStepCount() {
        assertThat(TreeAggregationAccountant.treeDepth(0)).isZero();
        assertThat(TreeAggregationAccountant.treeDepth(1)).isEqualTo(1);
        assertThat(TreeAggregationAccountant.treeDepth(2)).isEqualTo(2);
        assertThat(TreeAggregationAccountant.treeDepth(3)).isEqualTo(2);
        assertThat(TreeAggregationAccountant.treeDepth(4)).isEqualTo(3);
        assertThat(TreeAggregationAccountant.treeDepth(240)).isEqualTo(8);
        assertThat(TreeAggregationAccountant.treeDepth(256)).isEqualTo(9);
        assertThat(TreeAggregationAccountant.treeDepth(1600)).isEqualTo(11);
        for (long t = 1; t < 5000; t++) {
            // floor(log2 t) + 1 as TF Privacy's compute_rdp_tree_restart writes it.
            assertThat(TreeAggregationAccountant.treeDepth(t))
                    .isEqualTo((int) Math.floor(Math.log(t) / Math.log(2) + 1e-12) + 1);
        }
    }

    /**
     * Independent re-derivation: build the tree of T leaves layer by layer (merging neighbours in pairs, dropping an
     * odd last node as the paper's code does), and count for every leaf the nodes that contain it; the worst leaf's
     * count is the squared sensitivity of one tree.
     */
    private static int maxNodesContainingALeaf(int leaves) {
        int[] count = new int[leaves];
        List<int[]> layer = new ArrayList<>();
        for (int i = 0; i < leaves; i++) {
            layer.add(new int[] {i, i});
        }
        while (!layer.isEmpty()) {
            for (int[] node : layer) {
                for (int i = node[0]; i <= node[1]; i++) {
                    count[i]++;
                }
            }
            List<int[]> next = new ArrayList<>();
            for (int i = 0; i + 1 < layer.size(); i += 2) {
                next.add(new int[] {layer.get(i)[0], layer.get(i + 1)[1]});
            }
            layer = next;
        }
        return Arrays.stream(count).max().orElse(0);
    }

    @Test
    void depthEqualsAnExplicitCountOfTheNodesALeafIsIn() {
        for (int t = 1; t <= 600; t++) {
            assertThat(TreeAggregationAccountant.treeDepth(t)).as("T=%d", t).isEqualTo(maxNodesContainingALeaf(t));
        }
    }

    /** What the kernel really releases: every node it draws, over a run with restarts, counted per contribution. */
    @Test
    void depthBoundsTheNodesTheKernelDrawsForOneContribution() {
        for (TreeVariant variant : TreeVariant.values()) {
            for (int stepsPerTree : new int[] {1, 5, 8, 13}) {
                int trees = 3;
                Set<List<Long>> drawn = new HashSet<>();
                NodeNoise record = (tree, level, index, std, out) -> {
                    drawn.add(List.of(tree, (long) level, index));
                    Arrays.fill(out, 0.0);
                };
                FtrlShardState s = FtrlShardState.initial(new float[2]);
                DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(variant, stepsPerTree));
                float[] params = new float[2];
                for (int t = 0; t < trees * stepsPerTree; t++) {
                    ftrl.step(s, new float[2], 0.1, 1.0, 1.0, record, params);
                }
                // A contribution at leaf p of every tree: the nodes containing it, summed over the trees.
                int worst = 0;
                for (int p = 1; p <= stepsPerTree; p++) {
                    int touched = 0;
                    for (List<Long> node : drawn) {
                        int level = node.get(1).intValue();
                        long index = node.get(2);
                        if (TreeNodes.firstStep(level, index) <= p && p <= TreeNodes.lastStep(level, index)) {
                            touched++;
                        }
                    }
                    worst = Math.max(worst, touched);
                }
                assertThat((long) worst)
                        .as("%s, %d steps per tree", variant, stepsPerTree)
                        .isEqualTo(TreeAggregationAccountant.sensitivitySquared(
                                (long) trees * stepsPerTree, stepsPerTree));
            }
        }
    }

    @Test
    void restartsAddTheirTreesDepths() {
        assertThat(TreeAggregationAccountant.sensitivitySquared(400, 400, 400, 400))
                .isEqualTo(4 * 9);
        assertThat(TreeAggregationAccountant.sensitivitySquared(10, 400, 400, 400, 390))
                .isEqualTo(4 + 9 + 9 + 9 + 9);
        assertThat(TreeAggregationAccountant.sensitivitySquared(1600, 400)).isEqualTo(4 * 9);
        assertThat(TreeAggregationAccountant.sensitivitySquared(1601, 400)).isEqualTo(4 * 9 + 1);
        assertThat(TreeAggregationAccountant.sensitivitySquared(1600, 0)).isEqualTo(11);
        assertThat(TreeAggregationAccountant.sensitivitySquared(0, 7)).isZero();
        double[] orders = RdpAccountant.defaultOrders();
        double[] composed =
                TreeAggregationAccountant.rdp(0.7, TreeAggregationAccountant.sensitivitySquared(10, 400, 390), orders);
        double[] a = TreeAggregationAccountant.rdp(0.7, TreeAggregationAccountant.sensitivitySquared(10), orders);
        double[] b = TreeAggregationAccountant.rdp(0.7, TreeAggregationAccountant.sensitivitySquared(400), orders);
        double[] c = TreeAggregationAccountant.rdp(0.7, TreeAggregationAccountant.sensitivitySquared(390), orders);
        for (int i = 0; i < orders.length; i++) {
            assertThat(composed[i]).isCloseTo(a[i] + b[i] + c[i], within(1e-12 * composed[i]));
        }
    }

    /** Trees of one step each are T Gaussian mechanisms without sampling: RdpAccountant with q = 1 (TF's own check). */
    @Test
    void singleStepTreesAreTheGaussianMechanism() {
        double[] orders = RdpAccountant.defaultOrders();
        for (double sigma : new double[] {0.1, 1.0, 4.0}) {
            long[] ones = new long[100];
            Arrays.fill(ones, 1);
            double[] tree =
                    TreeAggregationAccountant.rdp(sigma, TreeAggregationAccountant.sensitivitySquared(ones), orders);
            double[] gaussian = RdpAccountant.rdp(1.0, sigma, 100, orders);
            for (int i = 0; i < orders.length; i++) {
                assertThat(tree[i]).isCloseTo(gaussian[i], within(1e-12 * gaussian[i]));
            }
        }
    }

    private record Published(
            double sigma, long[] steps, double delta, Conversion conversion, double eps, int decimals) {}

    private static List<Published> published() throws IOException {
        List<Published> rows = new ArrayList<>();
        try (InputStream in = Objects.requireNonNull(
                        TreeAggregationAccountantTest.class.getResourceAsStream("/dp-ftrl/published_epsilon.csv"));
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(",");
                long[] steps = Arrays.stream(f[1].split(";"))
                        .mapToLong(Long::parseLong)
                        .toArray();
                rows.add(new Published(
                        Double.parseDouble(f[0]),
                        steps,
                        Double.parseDouble(f[2]),
                        Conversion.valueOf(f[3]),
                        Double.parseDouble(f[4]),
                        Integer.parseInt(f[5])));
            }
        }
        return rows;
    }

    @Test
    void reproducesThePapersPublishedEpsilons() throws IOException {
        List<Published> rows = published();
        assertThat(rows).hasSize(2);
        for (Published p : rows) {
            long s = TreeAggregationAccountant.sensitivitySquared(p.steps());
            PrivacySpent spent = TreeAggregationAccountant.epsilon(
                    p.sigma(), s, p.delta(), p.conversion(), RdpAccountant.defaultOrders());
            // Published to p.decimals() decimals: half a unit of the last one.
            assertThat(spent.epsilon())
                    .as("sigma %s", p.sigma())
                    .isCloseTo(p.eps(), within(0.5 * Math.pow(10, -p.decimals()) + 1e-12));
            // Today's conversion (Balle et al. 2020, what Opacus and dp_accounting use) is tighter, as TF's test
            // expects of newer accounting.
            assertThat(TreeAggregationAccountant.epsilon(p.sigma(), s, p.delta())
                            .epsilon())
                    .isLessThan(p.eps())
                    .isEqualTo(TreeAggregationAccountant.epsilon(p.sigma(), p.steps(), p.delta())
                            .epsilon());
        }
    }

    /**
     * Epsilon re-derived here from rho = (nodes counted explicitly) / (2 sigma^2) with the Balle et al. 2020 (Thm 21)
     * conversion written out, minimised over Opacus' orders.
     */
    @Test
    void epsilonMatchesAnIndependentDerivation() {
        double delta = 1e-5;
        double[] orders = RdpAccountant.defaultOrders();
        for (double sigma : new double[] {0.8, 2.0, 7.5}) {
            for (int[] trees : new int[][] {{240}, {240, 240, 240}, {100, 37}, {256, 256}}) {
                long nodes = 0;
                for (int t : trees) {
                    nodes += maxNodesContainingALeaf(t);
                }
                double rho = nodes / (2 * sigma * sigma);
                double best = Double.POSITIVE_INFINITY;
                for (double a : orders) {
                    double eps = a * rho - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
                    best = Math.min(best, eps);
                }
                long[] steps = Arrays.stream(trees).asLongStream().toArray();
                assertThat(TreeAggregationAccountant.zcdp(sigma, TreeAggregationAccountant.sensitivitySquared(steps)))
                        .isEqualTo(rho);
                assertThat(TreeAggregationAccountant.epsilon(
                                        sigma, TreeAggregationAccountant.sensitivitySquared(steps), delta)
                                .epsilon())
                        .isCloseTo(best, within(1e-12 * best));
            }
        }
    }

    @Test
    void noiseMultiplierForATargetEpsilon() {
        // MNIST-like: 60000 examples, batch 250, 240 steps per epoch, 20 epochs, a tree per epoch.
        double sigma = TreeAggregationAccountant.noiseMultiplierFor(8, 1e-5, 240 * 20, 240);
        double eps =
                TreeAggregationAccountant.epsilon(sigma, 240 * 20, 240, 1e-5).epsilon();
        assertThat(eps).isLessThanOrEqualTo(8).isGreaterThan(8 - 0.01);
        // More trees cost more: the same sigma over 40 epochs spends more.
        assertThat(TreeAggregationAccountant.epsilon(sigma, 240 * 40, 240, 1e-5).epsilon())
                .isGreaterThan(eps);
        // Monotone in sigma.
        double prev = Double.POSITIVE_INFINITY;
        for (double s = 0.5; s < 20; s += 0.5) {
            double e = TreeAggregationAccountant.epsilon(s, 1600, 400, 1e-6).epsilon();
            assertThat(e).isLessThan(prev);
            prev = e;
        }
    }

    @Test
    void edgeCases() {
        assertThat(TreeAggregationAccountant.epsilon(0.0, 10, 5, 1e-5).epsilon())
                .isInfinite();
        assertThat(TreeAggregationAccountant.epsilon(1.0, 0, 5, 1e-5)).isEqualTo(new PrivacySpent(0, 0));
        assertThat(TreeAggregationAccountant.zcdp(0.0, 0)).isZero();
        assertThatThrownBy(() -> TreeAggregationAccountant.sensitivitySquared(-1, 5))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TreeAggregationAccountant.epsilon(-1.0, 10, 5, 1e-5))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TreeAggregationAccountant.epsilon(1.0, 10, 5, 1.0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TreeAggregationAccountant.noiseMultiplierFor(1, 1e-5, 0, 5))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
