package io.gradstream.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.client.GradientEncoding;
import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.ftrl.TreeAggregationAccountant;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The private demo's two mechanisms: the models they create and the rows their workers train on. */
class DemoPrivacyTest {
    private static final int N = 1797;

    @TempDir
    Path tmp;

    private Path secret() throws Exception {
        Path f = tmp.resolve("seed");
        Files.writeString(f, "00112233445566778899aabbccddeeff");
        return f;
    }

    private ModelConfig config(DemoPrivacy dp, int steps) {
        ModelSpec spec = DigitsDemo.spec(2, dp, steps, GradientEncoding.of(Encoding.FP32));
        return ModelConfig.of(
                "digits", spec, "control-0@0", Limits.DEFAULT, name -> null, null, null, dp.accounting(2, N));
    }

    @Test
    void ftrlCreatesAnSgdMomentumModelWithATreePerEpochAndTheDemosSigma() throws Exception {
        DemoPrivacy dp = DemoPrivacy.dpFtrl(8, 1e-5, 1.0, 0.1, secret(), 0.5);
        // 898 rows in the smaller slice: batches of 89, ten to an epoch.
        assertThat(dp.batchPerWorker(2, N)).isEqualTo(89);
        assertThat(dp.stepsPerTree(2, N)).isEqualTo(10);
        ModelConfig c = config(dp, 200);
        assertThat(c.isFtrl()).isTrue();
        assertThat(c.spec().getOptimizer()).isEqualTo("SGD");
        assertThat(c.spec().getHyperparameters()).containsEntry("lr", 0.5).containsEntry("momentum", 0.9);
        assertThat(c.privacyAccounting().getStepsPerRestart()).isEqualTo(10L);
        assertThat(c.privacyAccounting().getEfficientTree()).isTrue();
        assertThat(c.privacy().expectedPerStep()).isEqualTo(178);
        // The service derives the noise the demo prints, and it reaches the target after the planned steps.
        double sigma = dp.noiseMultiplier(200, 2, N);
        assertThat(c.privacy().noiseMultiplier()).isEqualTo(sigma);
        double eps = TreeAggregationAccountant.epsilon(sigma, 200, 10, 1e-5).epsilon();
        assertThat(eps).isBetween(7.9, 8.0);
    }

    @Test
    void sgdKeepsAdamAndPoissonSampling() throws Exception {
        DemoPrivacy dp = DemoPrivacy.dpSgd(8, 1e-5, 1.0, 0.1, secret(), Accountant.RDP);
        ModelConfig c = config(dp, 200);
        assertThat(c.isFtrl()).isFalse();
        assertThat(c.spec().getOptimizer()).isEqualTo("Adam");
        assertThat(c.privacy().sampleRate()).isEqualTo(0.1);
        assertThat(c.privacy().accountant()).isEqualTo(Accountant.RDP);
        assertThat(c.privacy().noiseMultiplier()).isEqualTo(dp.noiseMultiplier(200, 2, N));
        int[] slice = IntStream.range(0, 1000).toArray();
        DemoPrivacy.Rows rows = dp.rows(slice, 2, N, new SplittableRandom(3));
        int[] a = rows.of(0);
        int[] b = rows.of(1);
        // Poisson: sizes vary around q * 1000 and two steps differ.
        assertThat(a.length).isBetween(60, 140);
        assertThat(a).isNotEqualTo(b);
    }

    /** DP-FTRL's guarantee needs each example at most once per tree: every epoch is a fresh permutation's prefix. */
    @Test
    void ftrlRowsUseEachExampleAtMostOncePerTreeAndReshuffleEveryEpoch() throws Exception {
        DemoPrivacy dp = DemoPrivacy.dpFtrl(8, 1e-5, 1.0, 0.1, secret(), 0.5);
        int[] slice = IntStream.range(0, N).filter(i -> i % 2 == 1).toArray(); // 898 rows
        DemoPrivacy.Rows rows = dp.rows(slice, 2, N, new SplittableRandom(7));
        long perTree = dp.stepsPerTree(2, N);
        Set<Integer> sliceRows = new HashSet<>();
        for (int r : slice) {
            sliceRows.add(r);
        }
        int[][] firstOfEpoch = new int[3][];
        for (int epoch = 0; epoch < 3; epoch++) {
            Set<Integer> seen = new HashSet<>();
            for (long t = epoch * perTree; t < (epoch + 1) * perTree; t++) {
                int[] batch = rows.of(t);
                assertThat(batch).hasSize(89);
                for (int r : batch) {
                    assertThat(sliceRows).contains(r);
                    assertThat(seen.add(r))
                            .as("row %d twice in tree %d", r, epoch)
                            .isTrue();
                }
                if (t == epoch * perTree) {
                    firstOfEpoch[epoch] = batch;
                }
            }
            assertThat(seen).hasSize(890);
        }
        assertThat(firstOfEpoch[1]).as("a fresh shuffle per epoch").isNotEqualTo(firstOfEpoch[0]);
        assertThat(firstOfEpoch[2]).as("a fresh shuffle per epoch").isNotEqualTo(firstOfEpoch[1]);
    }

    @Test
    void invalidRatesAndLearningRatesAreRefused() throws Exception {
        Path s = secret();
        assertThatThrownBy(() -> DemoPrivacy.dpFtrl(8, 1e-5, 1, 0, s, 0.5)).hasMessageContaining("sample rate");
        assertThatThrownBy(() -> DemoPrivacy.dpFtrl(8, 1e-5, 1, 1.5, s, 0.5)).hasMessageContaining("sample rate");
        assertThatThrownBy(() -> DemoPrivacy.dpFtrl(8, 1e-5, 1, 0.1, s, -1)).hasMessageContaining("learning rate");
    }
}
