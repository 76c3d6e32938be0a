package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.ShardStep;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Forces each OpenCL fault the fallback exists for, on a real device: a kernel that does not build, a kernel name the
 * program lacks, a buffer beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE and a context released under the backend. Each must
 * leave the batch untouched when called directly, and give exactly the CPU result through {@link ResilientBackend},
 * with the fallback counted.
 */
class OpenClFaultsITCase {

    @BeforeEach
    void requireOpenCl() {
        OpenClTesting.assumeOpenCl();
    }

    @Test
    void kernelBuildFailure() {
        check(
                sources -> "kernel void adam(global float* p) { this is not OpenCL C }",
                ctx -> {},
                "cannot build OpenCL program optimizers");
    }

    @Test
    void missingKernelName() {
        check(
                sources -> "kernel void not_adam(global float* p) { p[0] = 1.0f; }",
                ctx -> {},
                "no kernel 'adam_amsgrad'");
    }

    @Test
    void bufferLargerThanTheDeviceAllows() {
        check(
                ClContext::resource,
                ctx -> ctx.padAllocationsForTest(ctx.device().maxAllocBytes()),
                "CL_INVALID_BUFFER_SIZE");
    }

    @Test
    void contextReleasedUnderTheBackend() {
        check(ClContext::resource, ClContext::close, "released");
    }

    @Test
    void lostDeviceOpensTheBreakerAndAFailedProbeKeepsItOpen() {
        long[] now = {0};
        Optimizer sgd = Optimizers.create("SGD", Map.of("lr", 0.1, "momentum", 0.9));
        RecordingListener listener = new RecordingListener();
        try (ClContext ctx = ClContext.open(OpenClTesting.config())) {
            ResilientBackend backend = new ResilientBackend(
                    new OpenClStepBackend(ctx), new CircuitBreaker(2, 60_000, 10_000, () -> now[0]), listener);
            List<ShardStep> batch = batch(sgd);
            List<ShardStep> reference = copy(batch);
            backend.step(batch);
            ctx.close();
            for (int i = 0; i < 3; i++) {
                backend.step(batch);
            }
            now[0] += 10_000;
            backend.step(batch);
            for (int t = 0; t < 5; t++) {
                CpuStepBackend.INSTANCE.step(reference);
            }
            for (int j = 0; j < batch.size(); j++) {
                assertThat(batch.get(j).params())
                        .containsExactly(reference.get(j).params());
                assertThat(batch.get(j).state().step()).isEqualTo(5);
            }
            assertThat(backend.acceleratedBatches()).isEqualTo(1);
            assertThat(backend.fallbacks())
                    .as("two failures, then the failed probe")
                    .isEqualTo(3);
            assertThat(backend.bypassed()).isEqualTo(1);
            assertThat(backend.breakerState()).isEqualTo(CircuitBreaker.State.OPEN);
            assertThat(listener.transitions).containsExactly("CLOSED->OPEN");
        }
    }

    /**
     * Opens a context with {@code sources}, breaks it with {@code fault}, and checks the direct failure (batch
     * untouched) and the resilient result (the CPU's, counted as a fallback).
     */
    private static void check(Function<String, String> sources, Consumer<ClContext> fault, String message) {
        Optimizer adam = Optimizers.create("Adam", Map.of("lr", 0.01, "amsgrad", true));
        try (ClContext ctx = ClContext.open(OpenClTesting.config(), sources)) {
            OpenClStepBackend opencl = new OpenClStepBackend(ctx);
            fault.accept(ctx);
            List<ShardStep> batch = batch(adam);
            List<ShardStep> untouched = copy(batch);

            assertThatThrownBy(() -> opencl.step(batch))
                    .isInstanceOf(OpenClException.class)
                    .hasMessageContaining(message);
            for (int j = 0; j < batch.size(); j++) {
                assertThat(batch.get(j).params())
                        .containsExactly(untouched.get(j).params());
                assertThat(batch.get(j).state().step())
                        .isEqualTo(untouched.get(j).state().step());
                assertThat(batch.get(j).state().tensors()).isEmpty();
            }

            RecordingListener listener = new RecordingListener();
            ResilientBackend resilient = new ResilientBackend(
                    opencl, new CircuitBreaker(3, 60_000, 30_000, System::currentTimeMillis), listener);
            resilient.step(batch);
            CpuStepBackend.INSTANCE.step(untouched);
            for (int j = 0; j < batch.size(); j++) {
                assertThat(batch.get(j).params())
                        .containsExactly(untouched.get(j).params());
                assertThat(batch.get(j).state().tensor("max_exp_avg_sq"))
                        .containsExactly(untouched.get(j).state().tensor("max_exp_avg_sq"));
                assertThat(batch.get(j).state().step()).isEqualTo(1);
            }
            assertThat(resilient.fallbacks()).isEqualTo(1);
            assertThat(resilient.acceleratedBatches()).isZero();
            assertThat(listener.fallbacks).isEqualTo(1);
            assertThat(listener.causes.get(0)).hasMessageContaining(message);
            assertThat(resilient.breakerState()).isEqualTo(CircuitBreaker.State.CLOSED);
        }
    }

    private static List<ShardStep> batch(Optimizer opt) {
        SplittableRandom rnd = new SplittableRandom(3);
        List<ShardStep> batch = new ArrayList<>();
        for (int n : new int[] {37, 2000}) {
            batch.add(new ShardStep(
                    opt,
                    StepBackendAbstractTest.random(rnd, n, 1),
                    StepBackendAbstractTest.random(rnd, n, 0.1),
                    new OptimizerState()));
        }
        return batch;
    }

    /** Deep copies without keys. */
    static List<ShardStep> copy(List<ShardStep> batch) {
        List<ShardStep> out = new ArrayList<>();
        for (ShardStep s : batch) {
            out.add(new ShardStep(
                    s.optimizer(),
                    s.params().clone(),
                    s.grad().clone(),
                    s.state().copy()));
        }
        return out;
    }
}
