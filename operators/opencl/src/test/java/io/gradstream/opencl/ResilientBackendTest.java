package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ResilientBackendTest {
    private long now;
    private final RecordingListener listener = new RecordingListener();
    private final Optimizer adam = Optimizers.create("Adam", Map.of("lr", 0.01));

    /** An accelerator that computes like the CPU, or fails without touching the batch while {@code failing}. */
    private static final class FakeAccelerator implements StepBackend {
        boolean failing;
        int calls;

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public void step(List<ShardStep> batch) {
            calls++;
            if (failing) {
                throw new IllegalStateException("fake CL_OUT_OF_RESOURCES");
            }
            CpuStepBackend.INSTANCE.step(batch);
        }
    }

    private final FakeAccelerator accelerator = new FakeAccelerator();
    private final ResilientBackend backend =
            new ResilientBackend(accelerator, new CircuitBreaker(2, 60_000, 10_000, () -> now), listener);

    @Test
    void failuresAreComputedOnTheCpuAndTheBreakerOpensThenRecovers() {
        float[] p = {1f, 2f, 3f};
        float[] ref = p.clone();
        OptimizerState s = new OptimizerState();
        OptimizerState refState = new OptimizerState();
        float[] g = {0.5f, -0.5f, 0.25f};

        step(p, g, s, ref, refState);
        assertThat(backend.acceleratedBatches()).isEqualTo(1);

        accelerator.failing = true;
        step(p, g, s, ref, refState);
        step(p, g, s, ref, refState);
        assertThat(backend.fallbacks()).isEqualTo(2);
        assertThat(backend.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(listener.transitions).containsExactly("CLOSED->OPEN");

        int callsWhileOpen = accelerator.calls;
        step(p, g, s, ref, refState);
        assertThat(accelerator.calls).as("an open breaker keeps the device out").isEqualTo(callsWhileOpen);
        assertThat(backend.bypassed()).isEqualTo(1);

        accelerator.failing = false;
        now += 10_000;
        step(p, g, s, ref, refState);
        assertThat(backend.breakerState()).isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(listener.transitions).containsExactly("CLOSED->OPEN", "OPEN->CLOSED");
        assertThat(listener.accelerated).isEqualTo(2);
        assertThat(listener.fallbacks).isEqualTo(2);
        assertThat(listener.causes.get(0)).hasMessageContaining("CL_OUT_OF_RESOURCES");
        assertThat(s.step()).isEqualTo(5);
    }

    /** One step through the backend and one on the CPU reference; they must agree bit for bit. */
    private void step(float[] p, float[] g, OptimizerState s, float[] ref, OptimizerState refState) {
        backend.step(List.of(new ShardStep(adam, p, g, s)));
        adam.step(ref, g, refState);
        assertThat(p).containsExactly(ref);
        assertThat(s.tensor("exp_avg")).containsExactly(refState.tensor("exp_avg"));
        assertThat(s.step()).isEqualTo(refState.step());
    }
}
