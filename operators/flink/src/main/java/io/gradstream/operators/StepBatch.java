package io.gradstream.operators;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import io.gradstream.core.optim.StepBackendFactory;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.core.shard.StepUndo;
import io.gradstream.model.ModelConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.runtime.tasks.ProcessingTimeService;
import org.apache.flink.util.function.ThrowingRunnable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The step backend of one shard-operator subtask and the completed shard steps waiting to run on it as one call:
 * {@link #add} keeps a step's optimizer loop with what the operator needs to finish it, {@link #run()} runs the batch
 * and hands the steps back to be written and published.
 */
final class StepBatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StepBatch.class);

    /**
     * A completed step whose optimizer loop waits in the batch; the shard is written and published after it.
     * {@code record} is the gradient that completed the step (null for a SYNC timeout).
     */
    record Entry(
            String key,
            ShardKey shardKey,
            ShardState state,
            ShardStep step,
            ShardStepper.Applied applied,
            ModelConfig config,
            RawRecord record,
            float[] before,
            double gradientNorm) {
        ShardStepper.StepResult result() {
            return applied.step();
        }
    }

    /** A step after its loop ran: it stands ({@code refused} null), or was taken back because its result overflowed. */
    record Ran(Entry entry, ShardStepper.Rejected refused) {}

    private final StepBackend backend;
    private final BackendMetrics metrics;
    private final int maxShards;
    private final boolean batched;
    private final long batchDelayMs;
    private List<Entry> entries = new ArrayList<>();
    private final Set<String> keys = new HashSet<>();
    private long lastMicros;
    private boolean runScheduled;
    private final StepUndo.Buffers undoBuffers = new StepUndo.Buffers();

    private StepBatch(StepBackend backend, BackendMetrics metrics, int maxShards, boolean batched, long batchDelayMs) {
        this.backend = backend;
        this.batchDelayMs = batchDelayMs;
        this.metrics = metrics;
        this.maxShards = maxShards;
        this.batched = batched;
    }

    /**
     * The backend of {@code settings}, its metrics in {@code group}. An accelerated backend is found with
     * {@link ServiceLoader} ({@link StepBackendFactory#kind()}); one that is not on the class path or cannot open (no
     * runtime, no platform, no such device) leaves the CPU in its place, logged once: the job runs either way.
     */
    static StepBatch open(BackendSettings settings, MetricGroup group) {
        if (settings.kind() != BackendSettings.Kind.CPU) {
            String kind = settings.kind().name().toLowerCase(java.util.Locale.ROOT);
            BackendMetrics metrics = new BackendMetrics(group, kind);
            try {
                StepBackendFactory factory = ServiceLoader.load(StepBackendFactory.class).stream()
                        .map(ServiceLoader.Provider::get)
                        .filter(f -> f.kind().equals(kind))
                        .findFirst()
                        .orElseThrow(() -> new IllegalStateException("no " + kind + " backend on the class path"));
                StepBackend backend = factory.open(settings.opencl(), settings.residentBytes(), metrics);
                LOG.info(
                        "optimizer steps run on {} in batches of up to {} shards{}",
                        backend.name(),
                        settings.batchShards(),
                        settings.residentBytes() > 0
                                ? ", up to " + settings.residentBytes()
                                        + " bytes of optimizer slots resident on the device between checkpoints"
                                : "");
                return new StepBatch(backend, metrics, settings.batchShards(), true, settings.batchDelayMs());
            } catch (RuntimeException | ServiceConfigurationError e) {
                LOG.warn("{} backend unavailable, optimizer steps run on the CPU: {}", kind, e.getMessage());
            }
        }
        return new StepBatch(
                CpuStepBackend.INSTANCE,
                new BackendMetrics(group, "cpu"),
                settings.batchShards(),
                settings.batched(),
                settings.batchDelayMs());
    }

    String backendName() {
        return backend.name();
    }

    BackendMetrics metrics() {
        return metrics;
    }

    boolean contains(String key) {
        return keys.contains(key);
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Whether steps wait for a batch at all; otherwise each runs as it completes. */
    boolean batched() {
        return batched;
    }

    /**
     * Adds a completed step whose optimizer loop has not run; true when it should run now (unbatched, or full).
     *
     * @param key the shard's Flink key (placed or plain), under which its state is written back
     */
    boolean add(
            String key,
            ShardKey shardKey,
            ShardState state,
            ShardStepper.Applied applied,
            ModelConfig config,
            RawRecord record,
            boolean sampleNorms) {
        ShardStep w = applied.work();
        // The update's norm needs the parameters before the loop moves them.
        float[] before = sampleNorms ? state.params().clone() : null;
        double gradientNorm = sampleNorms ? Clipping.norm(w.grad()) : Double.NaN;
        ShardStep keyed = new ShardStep(w.optimizer(), w.params(), w.grad(), w.state(), key);
        entries.add(new Entry(key, shardKey, state, keyed, applied, config, record, before, gradientNorm));
        keys.add(key);
        return !batched || entries.size() >= maxShards;
    }

    /**
     * A step whose update the stepper has run already (DP-FTRL, on the CPU): checked here as a batch's steps are, so
     * that a non-finite result is taken back the same way.
     */
    static Ran ranAlready(
            ShardKey shardKey, ShardState state, ShardStepper.Applied applied, ModelConfig config, RawRecord record) {
        Entry e = new Entry(shardKey.toString(), shardKey, state, null, applied, config, record, null, Double.NaN);
        return new Ran(e, ShardStepper.checkResult(state, applied));
    }

    /** Has {@code run} (the operator's flush) called once the batch delay has passed, unless a call is pending. */
    void runLater(ProcessingTimeService time, ThrowingRunnable<Exception> run) {
        if (!runScheduled) {
            runScheduled = true;
            time.registerTimer(time.getCurrentProcessingTime() + batchDelayMs, t -> {
                runScheduled = false;
                run.run();
            });
        }
    }

    /**
     * Runs every waiting step on the backend as one call and returns them, emptying the batch. A step whose result is
     * not finite is taken back ({@link ShardStepper#checkResult}); with device-resident slots, its device copy is
     * dropped too, so that the shard's slots are read again from keyed state (as of the last checkpoint barrier).
     */
    List<Ran> run() {
        List<Entry> todo = entries;
        entries = new ArrayList<>();
        keys.clear();
        List<ShardStep> steps = new ArrayList<>(todo.size());
        undoBuffers.reuse(); // the previous batch's results were checked
        for (Entry e : todo) {
            e.applied().undo().keep(e.state(), undoBuffers);
            steps.add(e.step());
        }
        long started = System.nanoTime();
        backend.step(steps);
        lastMicros = (System.nanoTime() - started) / 1000;
        metrics.kernelMicros.update(lastMicros);
        if (batched) {
            metrics.batchShards.update(steps.size());
        }
        List<Ran> ran = new ArrayList<>(todo.size());
        for (Entry e : todo) {
            ShardStepper.Rejected refused = ShardStepper.checkResult(e.state(), e.applied());
            if (refused != null && resident() != null) {
                resident().discard(e.key()::equals);
            }
            ran.add(new Ran(e, refused));
        }
        return ran;
    }

    /** How long the last {@link #run()} took, in microseconds. */
    long lastMicros() {
        return lastMicros;
    }

    /** Shards whose newest optimizer slots are only on the device (resident state). */
    List<String> residentDirtyKeys() {
        ResidentState resident = resident();
        return resident == null ? List.of() : resident.dirtyKeys();
    }

    /** The backend's device-resident optimizer slots, or null when it keeps none. */
    ResidentState resident() {
        return backend instanceof ResidentState r ? r : null;
    }

    /** Drops a deleted model's optimizer slots from the device. */
    void forget(String model) {
        ResidentState resident = resident();
        if (resident != null) {
            resident.discard(key -> key.startsWith(model + "/"));
        }
    }

    @Override
    public void close() {
        backend.close();
    }
}
