package io.gradstream.core.privacy.ftrl;

import java.util.ArrayDeque;

/** Spare vectors for Honaker node estimates, so that steady-state steps allocate none; bounded, per workspace. */
final class HonakerPool {
    private static final int MAX_SPARES = 2 * TreeNodes.MAX_LEVELS;

    private final ArrayDeque<float[]> spares = new ArrayDeque<>();

    /** A vector of {@code n} elements, contents undefined. */
    float[] take(int n) {
        // Spares of another size are dropped: a subtask steps shards of a few sizes only.
        while (!spares.isEmpty()) {
            float[] v = spares.pop();
            if (v.length == n) {
                return v;
            }
        }
        return new float[n];
    }

    void release(float[] v) {
        if (spares.size() < MAX_SPARES) {
            spares.push(v);
        }
    }
}
