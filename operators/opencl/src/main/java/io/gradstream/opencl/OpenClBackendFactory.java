package io.gradstream.opencl;

import io.gradstream.core.optim.StepBackend;
import io.gradstream.core.optim.StepBackendFactory;
import java.util.Map;

/**
 * The OpenCL backend as the job opens it: the configured device behind a {@link ResilientBackend}, whose
 * {@link CircuitBreaker} sends batches to the CPU after repeated device failures. Registered for
 * {@link java.util.ServiceLoader} under {@code META-INF/services}.
 */
public final class OpenClBackendFactory implements StepBackendFactory {
    /** Device failures within {@link #BREAKER_WINDOW} that open the breaker. */
    public static final String BREAKER_FAILURES = "breaker.failures";
    /** The window, in milliseconds, in which failures count. */
    public static final String BREAKER_WINDOW = "breaker.window-ms";
    /** How long, in milliseconds, an open breaker bypasses the device before it probes it again. */
    public static final String BREAKER_COOL_DOWN = "breaker.cool-down-ms";

    @Override
    public String kind() {
        return "opencl";
    }

    @Override
    public StepBackend open(Map<String, String> options, long residentBytes, Events events) {
        CircuitBreaker breaker = new CircuitBreaker(
                positive(options, BREAKER_FAILURES, 3),
                positive(options, BREAKER_WINDOW, 60_000),
                positive(options, BREAKER_COOL_DOWN, 30_000),
                System::currentTimeMillis);
        OpenClStepBackend device = OpenClStepBackend.open(ClConfig.fromMap(options), residentBytes);
        events.residentBytes(device::residentBytes);
        return new ResilientBackend(device, breaker, new BackendListener() {
            @Override
            public void fallback(int shards, RuntimeException cause) {
                events.fallback(shards, cause);
            }

            @Override
            public void bypassed(int shards) {
                events.bypassed(shards);
            }

            @Override
            public void breakerStateChanged(CircuitBreaker.State from, CircuitBreaker.State to) {
                events.circuitState(
                        switch (to) {
                            case CLOSED -> 0;
                            case HALF_OPEN -> 1;
                            case OPEN -> 2;
                        });
            }
        });
    }

    private static int positive(Map<String, String> options, String key, int fallback) {
        String v = options.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("OpenCL option " + key + " must be a positive integer, got '" + v + "'");
    }
}
