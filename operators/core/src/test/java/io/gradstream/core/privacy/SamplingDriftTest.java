package io.gradstream.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SamplingDriftTest {

    @Test
    void eachCrossingOfTheBandIsReportedOnceInEitherDirection() {
        SamplingDrift d = new SamplingDrift(2);
        assertThat(d.ratio()).isNaN();
        assertThat(d.observe(60, 64)).isNull(); // within
        assertThat(d.observe(128, 64)).isNull(); // exactly the factor: within
        SamplingDrift.Crossing out = d.observe(129, 64);
        assertThat(out).isNotNull();
        assertThat(out.outside()).isTrue();
        assertThat(out.describe())
                .contains("129 contributions")
                .contains("assumes 64")
                .contains("factor 2");
        assertThat(d.drifting()).isTrue();
        // Still outside, above or below: no new report.
        assertThat(d.observe(500, 64)).isNull();
        assertThat(d.observe(10, 64)).isNull();
        assertThat(d.ratio()).isEqualTo(10.0 / 64);
        SamplingDrift.Crossing back = d.observe(64, 64);
        assertThat(back.outside()).isFalse();
        assertThat(back.describe()).startsWith("sampling drift over");
        // DP-FTRL assumes no sampling: the message says what the count does change (the divisor), not epsilon.
        assertThat(out.describe(false))
                .startsWith("batch drift: a step had 129 contributions where the model divides by 64")
                .contains("does not assume sampling")
                .doesNotContain("Poisson");
        assertThat(back.describe(false)).startsWith("batch drift over");
        // Too few is a drift as well.
        assertThat(d.observe(31, 64).outside()).isTrue();
    }

    @Test
    void theFactorIsBoundedAndNonsenseCountsAreIgnored() {
        assertThatThrownBy(() -> new SamplingDrift(1)).hasMessageContaining("> 1");
        assertThatThrownBy(() -> new SamplingDrift(Double.NaN)).hasMessageContaining("> 1");
        assertThatThrownBy(() -> new SamplingDrift(Double.POSITIVE_INFINITY)).hasMessageContaining("> 1");
        SamplingDrift d = new SamplingDrift(1.5);
        assertThat(d.observe(10, 0)).isNull();
        assertThat(d.observe(Double.NaN, 10)).isNull();
        assertThat(d.drifting()).isFalse();
    }
}
