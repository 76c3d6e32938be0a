package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PrivacyPolicyTest {

    private static PrivacyPolicy.Builder valid() {
        return PrivacyPolicy.builder()
                .clipNorm(1.0)
                .noiseMultiplier(1.1)
                .delta(1e-5)
                .sampleRate(256.0 / 60000)
                .populationSize(60000);
    }

    @Test
    void samplingIsCompletedFromAnyTwoOfRateExpectedAndPopulation() {
        PrivacyPolicy a = valid().build();
        assertThat(a.expectedPerStep()).isEqualTo(256.0 / 60000 * 60000);
        PrivacyPolicy b = PrivacyPolicy.builder()
                .clipNorm(1)
                .noiseMultiplier(1)
                .delta(1e-5)
                .expectedPerStep(256)
                .populationSize(60000)
                .build();
        assertThat(b.sampleRate()).isEqualTo(256.0 / 60000);
        PrivacyPolicy c = PrivacyPolicy.builder()
                .clipNorm(1)
                .noiseMultiplier(1)
                .delta(1e-5)
                .expectedPerStep(256)
                .sampleRate(0.01)
                .build();
        assertThat(c.populationSize()).isEqualTo(25600);
    }

    @Test
    void deltaOfAtLeastOneOverThePopulationIsRefused() {
        assertThatThrownBy(() -> valid().delta(1.0 / 60000).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("delta 1.6666666666666667E-5 must be < 1/populationSize");
        // The population implied by expectedPerStep / sampleRate counts too.
        assertThatThrownBy(() -> PrivacyPolicy.builder()
                        .clipNorm(1)
                        .noiseMultiplier(1)
                        .delta(0.01)
                        .expectedPerStep(10)
                        .sampleRate(0.1)
                        .build())
                .hasMessageContaining("populationSize 100.0");
    }

    @Test
    void inconsistentSamplingIsRefusedWithTheNumbers() {
        assertThatThrownBy(() -> valid().expectedPerStep(512).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("inconsistent sampling")
                .hasMessageContaining("expectedPerStep is 512.0");
        assertThatThrownBy(() -> PrivacyPolicy.builder()
                        .clipNorm(1)
                        .noiseMultiplier(1)
                        .delta(1e-5)
                        .expectedPerStep(70000)
                        .populationSize(60000)
                        .build())
                .hasMessageContaining("exceeds populationSize");
        assertThatThrownBy(() -> PrivacyPolicy.builder()
                        .clipNorm(1)
                        .noiseMultiplier(1)
                        .delta(1e-5)
                        .sampleRate(0.1)
                        .build())
                .hasMessageContaining("sampling needs two of");
    }

    @Test
    void nonPositiveClipAndMissingNoiseAreRefused() {
        for (double clip : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> valid().clipNorm(clip).build()).hasMessageContaining("clipNorm must be finite");
        }
        assertThatThrownBy(() -> valid().noiseMultiplier(Double.NaN).build())
                .hasMessageContaining("noise needs noiseMultiplier, or targetEpsilon with plannedSteps");
        assertThatThrownBy(() -> valid().noiseMultiplier(0).build()).hasMessageContaining("noiseMultiplier must be");
        assertThatThrownBy(() -> valid().plannedSteps(100).build()).hasMessageContaining("not both");
        assertThatThrownBy(() -> valid().delta(0).build()).hasMessageContaining("delta must be in (0, 1)");
    }

    @Test
    void aBudgetThatTheFirstStepExceedsIsRefused() {
        assertThatThrownBy(
                        () -> valid().noiseMultiplier(0.3).targetEpsilon(0.01).build())
                .hasMessageContaining("targetEpsilon 0.01 is exceeded by the first step");
    }

    @Test
    void epsilonOfALedgerIsTheAccountantsForTheSameSteps() {
        PrivacyPolicy p = valid().build();
        PrivacyLedger ledger = PrivacyLedger.EMPTY;
        assertThat(p.epsilon(ledger)).isZero();
        for (int i = 0; i < 1000; i++) {
            ledger = p.afterStep(ledger);
        }
        assertThat(ledger.steps()).isEqualTo(1000);
        assertThat(ledger.phases()).hasSize(1);
        double expected = RdpAccountant.epsilon(1.1, 256.0 / 60000, 1000, 1e-5, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        assertThat(p.epsilon(ledger)).isEqualTo(expected);

        // Phases with other parameters compose like the accountant's history.
        PrivacyLedger mixed = ledger.plusStep(2.0, 0.01).plusStep(2.0, 0.01);
        assertThat(mixed.phases()).hasSize(2);
        double composed = new RdpAccountant()
                .step(1.1, 256.0 / 60000, 1000)
                .step(2.0, 0.01, 2)
                .privacySpent(1e-5)
                .epsilon();
        assertThat(p.epsilon(mixed)).isCloseTo(composed, org.assertj.core.data.Offset.offset(1e-12 * composed));
    }

    @Test
    void theBudgetAllowsExactlyTheStepsThatStayWithinTheTarget() {
        PrivacyPolicy p =
                valid().noiseMultiplier(1.5).sampleRate(0.01).targetEpsilon(2.0).build();
        long allowed = 0;
        while (RdpAccountant.epsilon(1.5, 0.01, allowed + 1, 1e-5, RdpAccountant.Conversion.OPACUS)
                        .epsilon()
                <= 2.0) {
            allowed++;
        }
        assertThat(allowed).isBetween(10L, 10_000L);
        PrivacyLedger ledger = PrivacyLedger.EMPTY;
        long steps = 0;
        while (p.allowsStep(ledger)) {
            ledger = p.afterStep(ledger);
            steps++;
        }
        assertThat(steps).isEqualTo(allowed);
        assertThat(p.epsilon(ledger)).isLessThanOrEqualTo(2.0);
    }

    @Test
    void aNoiseMultiplierDerivedFromTheTargetReachesItAtThePlannedSteps() {
        PrivacyPolicy p = PrivacyPolicy.builder()
                .clipNorm(1)
                .delta(1e-5)
                .sampleRate(0.004)
                .populationSize(60000)
                .targetEpsilon(2.0)
                .plannedSteps(5000)
                .build();
        PrivacyLedger ledger =
                PrivacyLedger.of(java.util.List.of(new RdpAccountant.Phase(p.noiseMultiplier(), p.sampleRate(), 5000)));
        assertThat(p.epsilon(ledger)).isBetween(2.0 - RdpAccountant.DEFAULT_EPSILON_TOLERANCE, 2.0);
        assertThat(p.allowsStep(PrivacyLedger.of(
                        java.util.List.of(new RdpAccountant.Phase(p.noiseMultiplier(), p.sampleRate(), 4999)))))
                .isTrue();
    }
}
