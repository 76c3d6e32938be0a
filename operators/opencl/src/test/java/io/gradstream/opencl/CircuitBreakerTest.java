package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.opencl.CircuitBreaker.State;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {
    private long now = 1_000;
    private final CircuitBreaker breaker = new CircuitBreaker(3, 10_000, 5_000, () -> now);

    @Test
    void opensAfterThresholdFailuresWithinTheWindow() {
        breaker.recordFailure();
        breaker.recordFailure();
        assertThat(breaker.state()).isEqualTo(State.CLOSED);
        assertThat(breaker.allowRequest()).isTrue();
        breaker.recordFailure();
        assertThat(breaker.state()).isEqualTo(State.OPEN);
        assertThat(breaker.allowRequest()).isFalse();
    }

    @Test
    void failuresOutsideTheWindowDoNotCount() {
        breaker.recordFailure();
        breaker.recordFailure();
        now += 10_000;
        breaker.recordFailure();
        assertThat(breaker.state()).isEqualTo(State.CLOSED);
    }

    @Test
    void aSuccessResetsTheCount() {
        breaker.recordFailure();
        breaker.recordFailure();
        breaker.recordSuccess();
        breaker.recordFailure();
        assertThat(breaker.state()).isEqualTo(State.CLOSED);
    }

    @Test
    void halfOpenProbeAfterCoolDownClosesOnSuccess() {
        trip();
        now += 4_999;
        assertThat(breaker.allowRequest()).isFalse();
        now += 1;
        assertThat(breaker.allowRequest()).as("the probe").isTrue();
        assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
        assertThat(breaker.allowRequest()).as("only one probe at a time").isFalse();
        breaker.recordSuccess();
        assertThat(breaker.state()).isEqualTo(State.CLOSED);
        assertThat(breaker.allowRequest()).isTrue();
    }

    @Test
    void failedProbeReopensForAnotherCoolDown() {
        trip();
        now += 5_000;
        assertThat(breaker.allowRequest()).isTrue();
        breaker.recordFailure();
        assertThat(breaker.state()).isEqualTo(State.OPEN);
        now += 4_000;
        assertThat(breaker.allowRequest()).isFalse();
        now += 1_000;
        assertThat(breaker.allowRequest()).isTrue();
    }

    @Test
    void rejectsNonsenseSettings() {
        assertThatThrownBy(() -> new CircuitBreaker(0, 1, 1, () -> 0)).hasMessageContaining("failureThreshold");
        assertThatThrownBy(() -> new CircuitBreaker(1, 0, 1, () -> 0)).hasMessageContaining("windowMillis");
    }

    private void trip() {
        for (int i = 0; i < 3; i++) {
            breaker.recordFailure();
        }
        assertThat(breaker.state()).isEqualTo(State.OPEN);
    }
}
