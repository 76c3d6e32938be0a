package io.gradstream.opencl;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * An accelerator {@link StepBackend} with the CPU as fallback: any failure of the accelerator (build failure, lost
 * device, out of resources or memory) recomputes the batch on the CPU, so a step is never wrong or missing, and a
 * {@link CircuitBreaker} keeps a failing device out of the path until a probe succeeds. Relies on the
 * StepBackend contract that a failed call left the batch untouched. The first failure is logged with its cause.
 * With an accelerator that keeps slots resident, a batch goes to the CPU only after its dirty slots are written back,
 * and a failure that lost dirty slots ({@link ResidentState.StateLostException}) is not recomputed but thrown.
 */
public final class ResilientBackend implements StepBackend, ResidentState {
    private static final System.Logger LOG = System.getLogger(ResilientBackend.class.getName());

    private final StepBackend accelerator;
    private final StepBackend cpu;
    private final CircuitBreaker breaker;
    private final BackendListener listener;
    private long acceleratedBatches;
    private long fallbacks;
    private long bypassed;
    private RuntimeException lastFailure;

    public ResilientBackend(StepBackend accelerator, CircuitBreaker breaker, BackendListener listener) {
        this(accelerator, CpuStepBackend.INSTANCE, breaker, listener);
    }

    ResilientBackend(StepBackend accelerator, StepBackend cpu, CircuitBreaker breaker, BackendListener listener) {
        this.accelerator = Objects.requireNonNull(accelerator, "accelerator");
        this.cpu = Objects.requireNonNull(cpu, "cpu");
        this.breaker = Objects.requireNonNull(breaker, "breaker");
        this.listener = listener == null ? new BackendListener() {} : listener;
    }

    @Override
    public String name() {
        return accelerator.name() + "+cpu-fallback";
    }

    @Override
    public void step(List<ShardStep> batch) {
        CircuitBreaker.State before = breaker.state();
        if (!breaker.allowRequest()) {
            bypassed++;
            listener.bypassed(batch.size());
            writeBack(batch);
            cpu.step(batch);
            return;
        }
        try {
            accelerator.step(batch);
            breaker.recordSuccess();
            acceleratedBatches++;
            listener.acceleratedBatch(batch.size());
        } catch (StateLostException e) {
            breaker.recordFailure();
            throw e;
        } catch (RuntimeException e) {
            breaker.recordFailure();
            fallbacks++;
            if (lastFailure == null) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "OpenCL step failed on " + accelerator.name() + "; computing on the CPU (breaker "
                                + breaker.state() + ")",
                        e);
            } else {
                LOG.log(System.Logger.Level.DEBUG, "accelerator failed again: " + e.getMessage());
            }
            lastFailure = e;
            listener.fallback(batch.size(), e);
            cpu.step(batch);
        } finally {
            if (breaker.state() != before) {
                listener.breakerStateChanged(before, breaker.state());
            }
        }
    }

    /** Batches the accelerator computed. */
    public long acceleratedBatches() {
        return acceleratedBatches;
    }

    /** Batches the accelerator failed on (each recomputed on the CPU). */
    public long fallbacks() {
        return fallbacks;
    }

    /** Batches sent straight to the CPU while the breaker was open. */
    public long bypassed() {
        return bypassed;
    }

    public CircuitBreaker.State breakerState() {
        return breaker.state();
    }

    /** The latest accelerator failure, or null. */
    public RuntimeException lastFailure() {
        return lastFailure;
    }

    @Override
    public List<String> dirtyKeys() {
        return accelerator instanceof ResidentState r ? r.dirtyKeys() : List.of();
    }

    @Override
    public void writeBack(String key, OptimizerState state) {
        if (accelerator instanceof ResidentState r) {
            r.writeBack(key, state);
        }
    }

    @Override
    public void discard(Predicate<String> keys) {
        if (accelerator instanceof ResidentState r) {
            r.discard(keys);
        }
    }

    @Override
    public void close() {
        accelerator.close();
    }
}
