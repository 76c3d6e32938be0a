package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.privacy.RdpAccountant.Conversion;
import io.gradstream.core.privacy.RdpAccountant.PrivacySpent;
import org.junit.jupiter.api.Test;

/**
 * The accountant's own rules: edge cases, composition, the noise search and argument checks. Its values against
 * Opacus' ({@code reference/dp_accounting}) are checked by the conformance module's RdpAccountantReferenceTest.
 */
class RdpAccountantTest {

    /** The TF Privacy tutorial's 2.92 (60 epochs of batch 256 from 60000, z = 1.12) under the classic conversion. */
    @Test
    void tfPrivacyTutorialEpsilonWithTheClassicConversion() {
        PrivacySpent spent = RdpAccountant.epsilon(1.12, 256.0 / 60000, 14040, 1e-5, Conversion.CLASSIC);
        assertThat(spent.epsilon()).isCloseTo(2.919890520258786, within(1e-9));
        assertThat(spent.bestOrder()).isEqualTo(9.1);
        assertThat(Math.round(spent.epsilon() * 100) / 100.0).isEqualTo(2.92);
    }

    @Test
    void edgeCasesFollowOpacus() {
        double[] orders = {1.5, 2, 32};
        assertThat(RdpAccountant.rdp(0, 1.0, 10, orders)).containsExactly(0, 0, 0);
        assertThat(RdpAccountant.rdp(1, 2.0, 1, orders)).containsExactly(1.5 / 8, 2.0 / 8, 32.0 / 8);
        assertThat(RdpAccountant.rdp(0.1, 0, 1, orders)).containsOnly(Double.POSITIVE_INFINITY);
        PrivacySpent none = RdpAccountant.epsilon(0, 0.1, 10, 1e-5, Conversion.OPACUS);
        assertThat(none.epsilon()).isInfinite();
        assertThat(new RdpAccountant().privacySpent(1e-5)).isEqualTo(new PrivacySpent(0, 0));
    }

    @Test
    void phasesComposeByAddingCurves() {
        RdpAccountant two = new RdpAccountant().step(1.0, 0.01, 100).step(2.0, 0.02, 50);
        double[] a = RdpAccountant.rdp(0.01, 1.0, 100, RdpAccountant.defaultOrders());
        double[] b = RdpAccountant.rdp(0.02, 2.0, 50, RdpAccountant.defaultOrders());
        double[] sum = two.rdp();
        for (int i = 0; i < sum.length; i++) {
            assertThat(sum[i]).isEqualTo(a[i] + b[i]);
        }
        assertThat(two.history()).hasSize(2);
        assertThat(two.privacySpent(1e-5).epsilon())
                .isGreaterThan(RdpAccountant.epsilon(1.0, 0.01, 100, 1e-5, Conversion.OPACUS)
                        .epsilon());
    }

    @Test
    void noiseMultiplierReachesTheTarget() {
        double sigma = RdpAccountant.noiseMultiplierFor(8, 1e-5, 0.04, 2000);
        assertThat(sigma).isEqualTo(1.356201171875);
        double eps = RdpAccountant.epsilon(sigma, 0.04, 2000, 1e-5, Conversion.OPACUS)
                .epsilon();
        assertThat(eps).isLessThanOrEqualTo(8).isGreaterThan(8 - 0.01);
        double finer = RdpAccountant.noiseMultiplierFor(8, 1e-5, 0.04, 2000, 1e-4);
        assertThat(RdpAccountant.epsilon(finer, 0.04, 2000, 1e-5, Conversion.OPACUS)
                        .epsilon())
                .isLessThanOrEqualTo(8)
                .isGreaterThan(8 - 1e-4);
    }

    @Test
    void invalidArgumentsAreNamed() {
        assertThatThrownBy(() -> RdpAccountant.epsilon(1.0, 0.01, 10, 1.0, Conversion.OPACUS))
                .hasMessage("delta must be in (0, 1), got 1.0");
        assertThatThrownBy(() -> new RdpAccountant().step(1.0, 1.5, 10))
                .hasMessage("sampleRate must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> new RdpAccountant().step(-1.0, 0.1, 10))
                .hasMessage("noiseMultiplier must be finite and >= 0, got -1.0");
        assertThatThrownBy(() -> new RdpAccountant().step(Double.NaN, 0.1, 10))
                .hasMessage("noiseMultiplier must be finite and >= 0, got NaN");
        assertThatThrownBy(() -> new RdpAccountant().step(1.0, 0.1, -1)).hasMessage("steps must be >= 0, got -1");
        assertThatThrownBy(() -> new RdpAccountant(new double[] {1.0}))
                .hasMessage("every order must be finite and > 1, got 1.0");
        assertThatThrownBy(() -> RdpAccountant.noiseMultiplierFor(0, 1e-5, 0.01, 10))
                .hasMessage("targetEpsilon must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> RdpAccountant.noiseMultiplierFor(1e-9, 1e-5, 1.0, 1_000_000))
                .hasMessageContaining("out of reach");
    }
}
