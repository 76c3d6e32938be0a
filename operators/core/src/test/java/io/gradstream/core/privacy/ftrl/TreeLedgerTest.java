package io.gradstream.core.privacy.ftrl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The ledger of DP-FTRL trees agrees with the accountant's closed form and composes trees of different noise. */
class TreeLedgerTest {

    @Test
    void ledgerOfEqualTreesEqualsTheClosedForm() {
        TreeLedger ledger = TreeLedger.EMPTY;
        for (int tree = 0; tree < 5; tree++) {
            for (int t = 0; t < 240; t++) {
                ledger = ledger.plusStep(1.2);
            }
            ledger = ledger.plusRestart();
        }
        for (int t = 0; t < 17; t++) {
            ledger = ledger.plusStep(1.2);
        }
        assertThat(ledger.completed()).containsExactly(new TreeLedger.Trees(1.2, 240, 5));
        assertThat(ledger.steps()).isEqualTo(5 * 240 + 17);
        long s = TreeAggregationAccountant.sensitivitySquared(5 * 240 + 17, 240);
        assertThat(ledger.rho()).isCloseTo(TreeAggregationAccountant.zcdp(1.2, s), within(1e-12));
        assertThat(ledger.epsilon(1e-5))
                .isCloseTo(TreeAggregationAccountant.epsilon(1.2, s, 1e-5).epsilon(), within(1e-9));
    }

    @Test
    void aLedgerBesideTheKernelFollowsItsRestarts() {
        DpFtrl ftrl = new DpFtrl(FtrlConfig.plain(TreeVariant.HONAKER, 6));
        FtrlShardState s = FtrlShardState.initial(new float[4]);
        float[] params = new float[4];
        NodeNoise zero = (tree, level, index, std, out) -> Arrays.fill(out, 0.0);
        TreeLedger ledger = TreeLedger.EMPTY;
        int restarts = 0;
        for (int t = 0; t < 20; t++) {
            if (ftrl.step(s, new float[4], 0.1, 2.0, 5, zero, params)) {
                ledger = ledger.plusRestart();
                restarts++;
            }
            // Noise std sigma C = 2.0 with clip norm C = 1: noise multiplier 2.
            ledger = ledger.plusStep(2.0);
        }
        assertThat(restarts).isEqualTo(3);
        assertThat(s.treeIndex()).isEqualTo(3);
        assertThat(ledger.completed()).containsExactly(new TreeLedger.Trees(2.0, 6, 3));
        assertThat(ledger.currentSteps()).isEqualTo(s.stepInTree()).isEqualTo(2);
        assertThat(ledger.rho())
                .isCloseTo(
                        TreeAggregationAccountant.zcdp(2.0, TreeAggregationAccountant.sensitivitySquared(20, 6)),
                        within(1e-12));
    }

    @Test
    void treesWithDifferentNoiseAddTheirRho() {
        TreeLedger ledger = TreeLedger.EMPTY;
        for (int t = 0; t < 100; t++) {
            ledger = ledger.plusStep(1.0);
        }
        ledger = ledger.plusRestart();
        for (int t = 0; t < 50; t++) {
            ledger = ledger.plusStep(3.0);
        }
        // depth(100) = 7, depth(50) = 6.
        assertThat(ledger.rho()).isCloseTo(7 / 2.0 + 6 / (2 * 9.0), within(1e-12));
        assertThat(ledger.plusRestart().rho()).isEqualTo(ledger.rho());
        assertThat(ledger.plusRestart().plusRestart()).isEqualTo(ledger.plusRestart());
        TreeLedger mid = ledger;
        assertThatThrownBy(() -> mid.plusStep(2.0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(TreeLedger.EMPTY.epsilon(1e-5)).isZero();
        assertThat(TreeLedger.EMPTY.plusStep(0.0).epsilon(1e-5)).isInfinite();
    }
}
