package io.gradstream.opencl;

import java.util.ArrayList;
import java.util.List;

/** A {@link BackendListener} that records what it is told, for assertions. */
final class RecordingListener implements BackendListener {
    int accelerated;
    int fallbacks;
    int bypassed;
    final List<RuntimeException> causes = new ArrayList<>();
    final List<String> transitions = new ArrayList<>();

    @Override
    public void acceleratedBatch(int shards) {
        accelerated++;
    }

    @Override
    public void fallback(int shards, RuntimeException cause) {
        fallbacks++;
        causes.add(cause);
    }

    @Override
    public void bypassed(int shards) {
        bypassed++;
    }

    @Override
    public void breakerStateChanged(CircuitBreaker.State from, CircuitBreaker.State to) {
        transitions.add(from + "->" + to);
    }
}
