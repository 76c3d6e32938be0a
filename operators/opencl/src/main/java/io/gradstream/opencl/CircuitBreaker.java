package io.gradstream.opencl;

import java.util.ArrayDeque;
import java.util.function.LongSupplier;

/**
 * A circuit breaker on a clock in milliseconds (injected, so tests drive time): CLOSED lets calls through and opens
 * after {@code failureThreshold} failures within {@code windowMillis}; OPEN refuses them for {@code coolDownMillis},
 * then lets one probe through (HALF_OPEN); the probe's success closes it, its failure opens it again. Not
 * thread-safe: one per backend, used from the operator's thread.
 */
public final class CircuitBreaker {

    /** The breaker's states, in the order a recovering device goes through them. */
    public enum State {
        CLOSED,
        OPEN,
        HALF_OPEN
    }

    private final int failureThreshold;
    private final long windowMillis;
    private final long coolDownMillis;
    private final LongSupplier clock;
    private final ArrayDeque<Long> failures = new ArrayDeque<>();
    private State state = State.CLOSED;
    private long openedAt;
    private boolean probing;

    /**
     * @param failureThreshold failures within the window that open the breaker (at least 1)
     * @param windowMillis the sliding window failures are counted in
     * @param coolDownMillis how long an open breaker refuses calls before a probe
     * @param clock milliseconds, e.g. {@code System::currentTimeMillis}
     */
    public CircuitBreaker(int failureThreshold, long windowMillis, long coolDownMillis, LongSupplier clock) {
        if (failureThreshold < 1) {
            throw new IllegalArgumentException("failureThreshold must be >= 1, got " + failureThreshold);
        }
        if (windowMillis <= 0 || coolDownMillis < 0) {
            throw new IllegalArgumentException(
                    "windowMillis must be > 0 and coolDownMillis >= 0, got " + windowMillis + " and " + coolDownMillis);
        }
        this.failureThreshold = failureThreshold;
        this.windowMillis = windowMillis;
        this.coolDownMillis = coolDownMillis;
        this.clock = clock;
    }

    /** Whether the next call may go to the protected resource; an open breaker past its cool-down turns half-open. */
    public boolean allowRequest() {
        switch (state) {
            case CLOSED:
                return true;
            case OPEN:
                if (clock.getAsLong() - openedAt >= coolDownMillis) {
                    state = State.HALF_OPEN;
                    probing = true;
                    return true;
                }
                return false;
            case HALF_OPEN:
            default:
                // One probe at a time: until it reports, everything else stays on the fallback.
                if (probing) {
                    return false;
                }
                probing = true;
                return true;
        }
    }

    public void recordSuccess() {
        if (state == State.HALF_OPEN) {
            state = State.CLOSED;
            probing = false;
        }
        failures.clear();
    }

    public void recordFailure() {
        long now = clock.getAsLong();
        if (state == State.HALF_OPEN) {
            open(now);
            return;
        }
        failures.addLast(now);
        while (!failures.isEmpty() && now - failures.peekFirst() >= windowMillis) {
            failures.removeFirst();
        }
        if (failures.size() >= failureThreshold) {
            open(now);
        }
    }

    private void open(long now) {
        state = State.OPEN;
        openedAt = now;
        probing = false;
        failures.clear();
    }

    public State state() {
        return state;
    }

    @Override
    public String toString() {
        return "CircuitBreaker[" + state + ", " + failureThreshold + " failures in " + windowMillis + " ms, cool-down "
                + coolDownMillis + " ms]";
    }
}
