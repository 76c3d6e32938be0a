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

    @Test
    void underPrvEpsilonIsThePrvUpperBoundAndTheLedgerRecordsIt() {
        PrivacyPolicy rdp = valid().build();
        PrivacyPolicy prv = valid().accountant(Accountant.PRV)
                .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                .build();
        assertThat(rdp.accountant()).isEqualTo(Accountant.RDP);
        assertThat(prv.accountant()).isEqualTo(Accountant.PRV);
        PrivacyLedger ledger = PrivacyLedger.EMPTY;
        for (int i = 0; i < 500; i++) {
            ledger = prv.afterStep(ledger);
        }
        assertThat(ledger.accountant()).isEqualTo(Accountant.PRV);
        assertThat(rdp.afterStep(ledger).accountant()).isEqualTo(Accountant.RDP);
        double expected = io.gradstream.core.privacy.prv.PrvAccountant.epsilon(1.1, 256.0 / 60000, 500, 1e-5);
        assertThat(prv.epsilon(ledger)).isEqualTo(expected);
        // The same steps cost less under PRV than under RDP (both bound the same mechanism).
        assertThat(prv.epsilon(ledger)).isLessThan(rdp.epsilon(ledger));
        assertThat(prv.epsilon(PrivacyLedger.EMPTY)).isZero();
    }

    @Test
    void underPrvTheBudgetAllowsExactlyTheStepsWhosePrvUpperBoundStaysWithinTheTarget() {
        PrivacyPolicy p = valid().accountant(Accountant.PRV)
                .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                .noiseMultiplier(1.5)
                .sampleRate(0.05)
                .targetEpsilon(1.0)
                .build();
        long allowed = 0;
        while (io.gradstream.core.privacy.prv.PrvAccountant.epsilon(1.5, 0.05, allowed + 1, 1e-5) <= 1.0) {
            allowed++;
        }
        long allowedByRdp = 0;
        while (RdpAccountant.epsilon(1.5, 0.05, allowedByRdp + 1, 1e-5, RdpAccountant.Conversion.OPACUS)
                        .epsilon()
                <= 1.0) {
            allowedByRdp++;
        }
        PrivacyLedger ledger = PrivacyLedger.EMPTY;
        long steps = 0;
        while (p.allowsStep(ledger)) {
            ledger = p.afterStep(ledger);
            steps++;
        }
        assertThat(steps).isEqualTo(allowed).isGreaterThan(allowedByRdp);
        assertThat(p.epsilon(ledger)).isLessThanOrEqualTo(1.0);
        assertThat(p.epsilon(p.afterStep(ledger))).isGreaterThan(1.0);
    }

    @Test
    void underPrvTheFirstStepCheckAndTheDerivedNoiseUsePrv() {
        // One step of sigma 0.8 at q 0.05 costs about 0.77 under RDP but far less under PRV.
        double rdpFirst = RdpAccountant.epsilon(0.8, 0.05, 1, 1e-5, RdpAccountant.Conversion.OPACUS)
                .epsilon();
        double prvFirst = io.gradstream.core.privacy.prv.PrvAccountant.epsilon(0.8, 0.05, 1, 1e-5);
        double target = (rdpFirst + prvFirst) / 2;
        assertThat(prvFirst).isLessThan(target);
        assertThatThrownBy(() -> valid().noiseMultiplier(0.8)
                        .sampleRate(0.05)
                        .targetEpsilon(target)
                        .build())
                .hasMessageContaining("exceeded by the first step (RDP epsilon");
        assertThat(valid().accountant(Accountant.PRV)
                        .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                        .noiseMultiplier(0.8)
                        .sampleRate(0.05)
                        .targetEpsilon(target)
                        .build()
                        .accountant())
                .isEqualTo(Accountant.PRV);

        PrivacyPolicy derived = PrivacyPolicy.builder()
                .accountant(Accountant.PRV)
                .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                .clipNorm(1)
                .delta(1e-5)
                .sampleRate(0.01)
                .populationSize(60000)
                .targetEpsilon(2.0)
                .plannedSteps(300)
                .build();
        double sigma = derived.noiseMultiplier();
        assertThat(sigma).isEqualTo(io.gradstream.core.privacy.prv.PrvAccountant.noiseMultiplier(2.0, 1e-5, 0.01, 300));
        assertThat(sigma).isLessThan(RdpAccountant.noiseMultiplierFor(2.0, 1e-5, 0.01, 300));
        PrivacyLedger planned = PrivacyLedger.of(java.util.List.of(new RdpAccountant.Phase(sigma, 0.01, 300)));
        assertThatThrownBy(() -> PrivacyPolicy.builder()
                        .accountant(Accountant.PRV)
                        .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                        .clipNorm(1)
                        .delta(1e-5)
                        .sampleRate(0.01)
                        .populationSize(60000)
                        .targetEpsilon(2.0)
                        .plannedSteps(PrivacyPolicy.PRV_MAX_PLANNED_STEPS + 1)
                        .build())
                .hasMessageContaining("plannedSteps 10001 is above 10000");
        assertThat(derived.epsilon(planned)).isLessThanOrEqualTo(2.0);
    }

    @Test
    void aLedgerFromBeforeAccountantsIsRdpAndEqualityCountsTheAccountant() {
        var phases = java.util.List.of(new RdpAccountant.Phase(1.1, 0.01, 3));
        assertThat(PrivacyLedger.of(phases).accountant()).isEqualTo(Accountant.RDP);
        assertThat(PrivacyLedger.of(phases, Accountant.PRV)).isNotEqualTo(PrivacyLedger.of(phases));
        assertThat(PrivacyLedger.of(phases, Accountant.PRV).accountedWith(Accountant.RDP))
                .isEqualTo(PrivacyLedger.of(phases));
        assertThat(PrivacyLedger.of(java.util.List.of())).isSameAs(PrivacyLedger.EMPTY);
    }

    /**
     * Accounting every version of a PRV model from 1 to 1,024 steps asks the accountant 320 times (exact up to 128, then
     * 64 per doubling), each answer an upper bound of the steps taken; the other shards' questions hit the cache.
     */
    @Test
    void prvEvaluationsPerVersionAreBoundedAndEachReportBoundsItsSteps() {
        java.util.List<Long> asked = new java.util.ArrayList<>();
        PrvEvaluator counting = new PrvEvaluator() {
            @Override
            public double epsilon(java.util.List<RdpAccountant.Phase> phases, double delta) {
                long steps =
                        phases.stream().mapToLong(RdpAccountant.Phase::steps).sum();
                asked.add(steps);
                return Math.sqrt(steps); // any increasing function of the steps
            }

            @Override
            public double noiseMultiplier(double targetEpsilon, double delta, double sampleRate, long steps) {
                throw new AssertionError("not asked");
            }
        };
        PrivacyPolicy p =
                valid().accountant(Accountant.PRV).prvEvaluator(counting).build();
        for (long n = 1; n <= 1024; n++) {
            // Every shard of the model asks about the same ledger: the first asks the accountant, the rest the cache.
            for (int shard = 0; shard < 3; shard++) {
                double eps = p.epsilon(PrivacyLedger.of(
                        java.util.List.of(new RdpAccountant.Phase(1.1, 256.0 / 60000, n)), Accountant.PRV));
                assertThat(eps).as("steps %d", n).isGreaterThanOrEqualTo(Math.sqrt(n));
                assertThat(eps).as("steps %d", n).isLessThanOrEqualTo(Math.sqrt(n + n / 64.0));
                if (n <= 128) {
                    assertThat(eps).as("exact up to 128 steps").isEqualTo(Math.sqrt(n));
                }
            }
        }
        assertThat(asked).hasSize(128 + 3 * 64).doesNotHaveDuplicates();
    }

    @Test
    void longPrvLedgersAreBoundedByTheNextRoundedStepCountAndTheBudgetStillStopsExactly() {
        assertThat(PrvEpsilons.roundedUp(128)).isEqualTo(128);
        assertThat(PrvEpsilons.roundedUp(129)).isEqualTo(130); // 7 significant bits: steps of 2 from 128
        assertThat(PrvEpsilons.roundedUp(1000)).isEqualTo(1000);
        assertThat(PrvEpsilons.roundedUp(1024)).isEqualTo(1024);
        assertThat(PrvEpsilons.roundedUp(1025)).isEqualTo(1040); // 7 significant bits: steps of 16 from 1024
        for (long n = 129; n < 100_000; n += 97) {
            long r = PrvEpsilons.roundedUp(n);
            assertThat(r).isGreaterThanOrEqualTo(n).isLessThanOrEqualTo(n + n / 64);
            assertThat(Long.bitCount(r >>> Long.numberOfTrailingZeros(r))).isLessThanOrEqualTo(7);
        }
        PrivacyPolicy p = valid().accountant(Accountant.PRV)
                .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                .build();
        PrivacyLedger two = PrivacyLedger.of(java.util.List.of(
                new RdpAccountant.Phase(2.0, 0.01, 10), new RdpAccountant.Phase(1.1, 256.0 / 60000, 1985)));
        // 1995 steps are bounded by 2000 (steps of 16 from 1024), the rounding landing on the last phase.
        assertThat(PrvEpsilons.roundedUp(1995)).isEqualTo(2000);
        double bound = io.gradstream.core.privacy.prv.PrvAccountant.epsilon(
                java.util.List.of(
                        new io.gradstream.core.privacy.prv.PrvAccountant.Phase(2.0, 0.01, 10),
                        new io.gradstream.core.privacy.prv.PrvAccountant.Phase(1.1, 256.0 / 60000, 1990)),
                1e-5);
        double exact = io.gradstream.core.privacy.prv.PrvAccountant.epsilon(
                java.util.List.of(
                        new io.gradstream.core.privacy.prv.PrvAccountant.Phase(2.0, 0.01, 10),
                        new io.gradstream.core.privacy.prv.PrvAccountant.Phase(1.1, 256.0 / 60000, 1985)),
                1e-5);
        assertThat(p.epsilon(two)).isEqualTo(bound).isGreaterThan(exact);
        // With a budget between the two, the exact bound decides: the step is allowed and reports within the target.
        PrivacyPolicy budget = valid().accountant(Accountant.PRV)
                .prvEvaluator(io.gradstream.core.privacy.prv.PrvPolicyEvaluator.INSTANCE)
                .targetEpsilon((bound + exact) / 2)
                .build();
        assertThat(budget.epsilon(two)).isEqualTo(exact);
    }
}
