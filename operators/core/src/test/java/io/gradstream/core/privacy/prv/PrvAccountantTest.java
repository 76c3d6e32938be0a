package io.gradstream.core.privacy.prv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.prv.PrvAccountant.Bounds;
import io.gradstream.core.privacy.prv.PrvAccountant.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The accountant against values of Opacus' own {@code PRVAccountant} (github:pytorch/opacus at 4d0ebc84, the commit of
 * {@code reference/dp_accounting/prv_epsilon.json}), and its own rules. The public file's rows are checked by the
 * conformance module's PrvAccountantReferenceTest; the heterogeneous, custom-error and noise values here were computed
 * with that commit's accountant code under CPython 3.11, numpy 2.4.6, scipy 1.17.1 (Opacus' own result moves by
 * ~1e-9 between numpy/scipy versions through its quadrature of the mean).
 */
class PrvAccountantTest {
    private static final double TOLERANCE = 1e-6;

    private static double rel(double actual, double expected) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }

    /** The issue's example: sigma 1.5, q 0.04, 2249 steps, delta 1e-5 gives 6.78 with PRV against 7.33 with RDP. */
    @Test
    void theIssueExampleIsOpacusValueAndTighterThanRdp() {
        double prv = PrvAccountant.epsilon(1.5, 0.04, 2249, 1e-5);
        assertThat(rel(prv, 6.777395710070868)).isLessThan(TOLERANCE);
        double rdp =
                RdpAccountant.epsilon(1.5, 0.04, 2249, 1e-5, Conversion.OPACUS).epsilon();
        assertThat(Math.round(prv * 100) / 100.0).isEqualTo(6.78);
        assertThat(Math.round(rdp * 100) / 100.0).isEqualTo(7.33);
    }

    @Test
    void phasesWithDifferentNoiseAndRateComposeAsInOpacus() {
        double two = PrvAccountant.epsilon(List.of(new Phase(1.0, 0.02, 300), new Phase(2.0, 0.05, 200)), 1e-5);
        assertThat(rel(two, 2.702664410143311)).isLessThan(TOLERANCE);
        double three = PrvAccountant.epsilon(
                List.of(new Phase(1.2, 0.01, 500), new Phase(0.9, 0.02, 100), new Phase(1.2, 0.01, 400)), 1e-6);
        assertThat(rel(three, 2.6465977299436942)).isLessThan(TOLERANCE);
        // Composition commutes: the order of the phases changes only rounding.
        double reversed = PrvAccountant.epsilon(List.of(new Phase(2.0, 0.05, 200), new Phase(1.0, 0.02, 300)), 1e-5);
        assertThat(rel(reversed, two)).isLessThan(1e-9);
    }

    @Test
    void epsErrorAndDeltaErrorSetTheGridAndWidenTheBounds() {
        List<Phase> phases = List.of(new Phase(1.5, 0.04, 2249));
        double coarse = PrvAccountant.epsilon(phases, 1e-5, 0.1, 1e-7);
        assertThat(rel(coarse, 6.870686577862574)).isLessThan(TOLERANCE);
        Bounds b = PrvAccountant.bounds(phases, 1e-5, 0.01, 1e-8);
        assertThat(b.upper()).isEqualTo(PrvAccountant.epsilon(phases, 1e-5));
        assertThat(b.lower()).isLessThan(b.estimate());
        assertThat(b.estimate()).isLessThan(b.upper());
        // The upper bound is the estimate at delta - deltaError plus epsError: a little over epsError above.
        assertThat(b.upper() - b.estimate()).isBetween(0.01, 0.011);
        // A coarser grid gives a looser, still valid bound around the same estimate.
        Bounds c = PrvAccountant.bounds(phases, 1e-5, 0.1, 1e-7);
        assertThat(c.upper()).isGreaterThan(b.upper());
        assertThat(c.lower()).isLessThan(b.lower());
        assertThat(Math.abs(c.estimate() - b.estimate())).isLessThan(0.01);
    }

    @Test
    void moreStepsOrLessNoiseSpendMore() {
        double base = PrvAccountant.epsilon(1.1, 0.01, 1000, 1e-5);
        assertThat(PrvAccountant.epsilon(1.1, 0.01, 2000, 1e-5)).isGreaterThan(base);
        assertThat(PrvAccountant.epsilon(0.9, 0.01, 1000, 1e-5)).isGreaterThan(base);
        assertThat(PrvAccountant.epsilon(1.1, 0.02, 1000, 1e-5)).isGreaterThan(base);
        assertThat(PrvAccountant.epsilon(1.1, 0.01, 1000, 1e-6)).isGreaterThan(base);
    }

    @Test
    void theHistoryJoinsEqualNeighboursAsOpacusStepDoes() {
        PrvAccountant acc = new PrvAccountant().step(1.1, 0.01, 400).step(1.1, 0.01, 600);
        assertThat(acc.history()).containsExactly(new Phase(1.1, 0.01, 1000));
        assertThat(acc.epsilon(1e-5)).isEqualTo(PrvAccountant.epsilon(1.1, 0.01, 1000, 1e-5));
        acc.step(2.0, 0.01, 10).step(1.1, 0.01, 1);
        assertThat(acc.history()).hasSize(3);
    }

    @Test
    void edgeCases() {
        assertThat(new PrvAccountant().epsilon(1e-5)).isZero();
        // No steps or nothing sampled: nothing leaks, and those phases do not change the others' grid.
        assertThat(PrvAccountant.epsilon(1.0, 0, 100, 1e-5)).isZero();
        assertThat(PrvAccountant.epsilon(1.0, 0.1, 0, 1e-5)).isZero();
        double alone = PrvAccountant.epsilon(1.1, 0.01, 1000, 1e-5);
        assertThat(PrvAccountant.epsilon(List.of(new Phase(3, 0, 500), new Phase(1.1, 0.01, 1000)), 1e-5))
                .isEqualTo(alone);
        assertThat(PrvAccountant.epsilon(0, 0.1, 10, 1e-5)).isInfinite();
        // Without subsampling, one step of the Gaussian mechanism at sigma 2 and delta 1e-3 has the exact epsilon
        // 1.352276 (Balle & Wang 2018, Thm 8: Phi(1/(2s) - eps s) - e^eps Phi(-1/(2s) - eps s) = delta); the upper
        // bound lies above it by about epsError.
        double gaussian = PrvAccountant.epsilon(2.0, 1.0, 1, 1e-3);
        assertThat(gaussian).isBetween(1.352276 + 0.009, 1.352276 + 0.0125);
    }

    @Test
    void noiseMultiplierIsOpacusGetNoiseMultiplierWithPrv() {
        double sigma = PrvAccountant.noiseMultiplier(2.0, 1e-6, 0.05, 100);
        assertThat(sigma).isEqualTo(1.4794921875);
        double eps = PrvAccountant.epsilon(sigma, 0.05, 100, 1e-6);
        assertThat(eps).isLessThanOrEqualTo(2.0).isGreaterThan(2.0 - 0.01);
        assertThatThrownBy(() -> PrvAccountant.noiseMultiplier(0.005, 1e-5, 0.01, 100))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("out of reach");
    }

    @Test
    void aTypicalQueryTakesWellUnderTwoSeconds() {
        PrvAccountant.epsilon(1.1, 0.01, 1000, 1e-5); // warm up the JIT on a small grid
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0; i < 2; i++) {
            long start = System.nanoTime();
            PrvAccountant.epsilon(1.5, 0.04, 2249, 1e-5);
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        // About 0.35 s on a 2-core build machine (391,570 grid points); the better of two runs, so that a busy
        // machine does not fail the build.
        assertThat(best).isLessThan(2);
    }

    @Test
    void refusesBadArguments() {
        List<Phase> one = List.of(new Phase(1, 0.01, 10));
        assertThatThrownBy(() -> PrvAccountant.epsilon(one, 0)).hasMessageContaining("delta must be in (0, 1)");
        assertThatThrownBy(() -> PrvAccountant.epsilon(one, 1e-5, 0, 1e-8)).hasMessageContaining("epsError");
        assertThatThrownBy(() -> PrvAccountant.epsilon(one, 1e-5, 0.01, 1e-5)).hasMessageContaining("deltaError");
        assertThatThrownBy(() -> new Phase(-1, 0.1, 1)).hasMessageContaining("noiseMultiplier");
        assertThatThrownBy(() -> new Phase(1, 1.5, 1)).hasMessageContaining("sampleRate");
        assertThatThrownBy(() -> new Phase(1, 0.1, -1)).hasMessageContaining("steps");
        // A grid too fine for memory is refused with a way out, not an OutOfMemoryError.
        assertThatThrownBy(() -> PrvAccountant.epsilon(List.of(new Phase(5, 0.001, 10_000_000)), 1e-5, 1e-4, 1e-8))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("larger epsilon error");
        assertThatThrownBy(() -> PrvAccountant.noiseMultiplier(1, 1e-5, 0, 10)).hasMessageContaining("sampleRate");
        assertThatThrownBy(() -> PrvAccountant.noiseMultiplier(1, 1e-5, 0.1, 0)).hasMessageContaining("steps");
    }
}
