package io.gradstream.operators;

import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.ControlLog;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.model.RejectedRecords;
import io.gradstream.model.UpdateEncoder;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The keyed operator: one key per shard ({@code model/tensor/shard}). It decodes each gradient record, checks it
 * against the model (broadcast from the control topic), and hands it with the shard's state to
 * {@link ShardStepper}; an applied step is published as a {@link ParameterUpdate}, anything refused goes to
 * {@link Rejections#TAG} with its reason and original bytes. Records for a model whose CREATE has not arrived yet
 * wait in keyed state (bounded in count and time) instead of being refused at job start. For a private model the
 * steps are DP-SGD's, the privacy ledger lives in the shard's state, every update carries the epsilon spent, and the
 * model's first shard announces on {@link #STATUS} when the budget leaves no room for another step. With a batched
 * {@link BackendSettings backend} (run by {@link ShardOptimizerOperator}) completed steps are gathered and their
 * optimizer loops run as one batch on the backend, e.g. one OpenCL kernel launch, before the shards are written back
 * and published; a shard's next record, a command, a checkpoint barrier or the batch delay flushes the batch first.
 */
public class ShardOptimizerFunction
        extends KeyedBroadcastProcessFunction<String, RawRecord, RawRecord, ParameterUpdate> {
    private static final long serialVersionUID = 1L;

    public static final MapStateDescriptor<String, ModelSpec> MODELS = new MapStateDescriptor<>("models",
            Types.STRING, new AvroTypeInfo<>(ModelSpec.class));
    public static final MapStateDescriptor<String, Boolean> PAUSED = new MapStateDescriptor<>("paused",
            Types.STRING, Types.BOOLEAN);
    /** Model-wide events (a spent privacy budget) for the status topic. */
    public static final OutputTag<StatusEvent> STATUS = new OutputTag<>("status",
            new AvroTypeInfo<>(StatusEvent.class));

    static final ValueStateDescriptor<ShardState> SHARD = new ValueStateDescriptor<>("shard",
            new ShardStateSerializer());
    static final ValueStateDescriptor<Long> DEADLINE = new ValueStateDescriptor<>("syncDeadline", Types.LONG);
    static final ListStateDescriptor<RawRecord> WAITING = new ListStateDescriptor<>("waitingForModel",
            (TypeInformation<RawRecord>) TypeExtractor.createTypeInfo(RawRecord.class));
    static final ValueStateDescriptor<Long> WAITING_SINCE = new ValueStateDescriptor<>("waitingSince", Types.LONG);

    /** Where each model's CREATE was read (its incarnation), which keys its DP noise. */
    public static final MapStateDescriptor<String, String> INCARNATIONS = new MapStateDescriptor<>("incarnations",
            Types.STRING, Types.STRING);

    /** The broadcast state of the operator: models, paused models, incarnations. */
    public static final List<MapStateDescriptor<?, ?>> BROADCAST_STATES = List.of(MODELS, PAUSED, INCARNATIONS);

    static final ValueStateDescriptor<Long> WAITING_BYTES = new ValueStateDescriptor<>("waitingBytes", Types.LONG);
    /** The privacy ledger a shard's key had when its model was deleted: a model created again continues it. */
    static final ValueStateDescriptor<ShardState> RETIRED_LEDGER = new ValueStateDescriptor<>("retiredLedger",
            new ShardStateSerializer());

    private final long unknownModelGraceMs;
    private final int maxWaitingPerShard;
    private final long retryIntervalMs;
    private final BackendSettings backendSettings;
    private final Limits limits;

    private transient ValueState<ShardState> shard;
    private transient ValueState<Long> deadline;
    private transient ListState<RawRecord> waiting;
    private transient ValueState<Long> waitingSince;
    private transient ValueState<Long> waitingBytes;
    private transient ValueState<ShardState> retiredLedger;
    /** Bytes of waiting records on this subtask (those restored from a checkpoint are not counted). */
    private transient long waitingHere;
    private transient GradientAdmission admission;
    private transient ControlLog control;
    private transient UpdateEncoder encoder;
    private transient Map<String, ModelConfig> configs;
    private transient Map<String, ModelMetrics> metrics;
    private transient StepBatch steps;
    private transient BatchHost host;

    /** What the operator lends the function for batched steps: key switching, emission, a delayed flush. */
    public interface BatchHost {
        /** Runs {@code work} with {@code key} as the current key (keyed state, timers), then restores the key. */
        void runAs(String key, KeyedWork work) throws Exception;

        void emit(ParameterUpdate update);

        <X> void emit(OutputTag<X> tag, X value);

        /** Makes sure {@link #flushBatch()} runs within {@code delayMs}. */
        void flushWithin(long delayMs);
    }

    /** Work under one shard's key. */
    @FunctionalInterface
    public interface KeyedWork {
        void run() throws Exception;
    }

    /**
     * @param unknownModelGraceMs how long a gradient for a not (yet) created model waits before it is rejected as
     *     UNKNOWN_MODEL
     * @param maxWaitingPerShard how many such records a shard holds at most; further ones are rejected at once
     */
    public ShardOptimizerFunction(long unknownModelGraceMs, int maxWaitingPerShard) {
        this(unknownModelGraceMs, maxWaitingPerShard, BackendSettings.cpu());
    }

    /** As {@link #ShardOptimizerFunction(long, int)} with the backend that runs the optimizer loops. */
    public ShardOptimizerFunction(long unknownModelGraceMs, int maxWaitingPerShard, BackendSettings backend) {
        this(unknownModelGraceMs, maxWaitingPerShard, backend, Limits.DEFAULT);
    }

    /** As {@link #ShardOptimizerFunction(long, int, BackendSettings)} within {@code limits}. */
    public ShardOptimizerFunction(long unknownModelGraceMs, int maxWaitingPerShard, BackendSettings backend,
            Limits limits) {
        this.backendSettings = java.util.Objects.requireNonNull(backend, "backend must not be null");
        this.limits = java.util.Objects.requireNonNull(limits, "limits must not be null");
        if (unknownModelGraceMs < 0 || maxWaitingPerShard < 0) {
            throw new IllegalArgumentException("grace and waiting capacity must be >= 0");
        }
        this.unknownModelGraceMs = unknownModelGraceMs;
        this.maxWaitingPerShard = maxWaitingPerShard;
        this.retryIntervalMs = Math.max(1, Math.min(200, unknownModelGraceMs));
    }

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext openContext) {
        shard = getRuntimeContext().getState(SHARD);
        deadline = getRuntimeContext().getState(DEADLINE);
        waiting = getRuntimeContext().getListState(WAITING);
        waitingSince = getRuntimeContext().getState(WAITING_SINCE);
        waitingBytes = getRuntimeContext().getState(WAITING_BYTES);
        retiredLedger = getRuntimeContext().getState(RETIRED_LEDGER);
        admission = new GradientAdmission(limits);
        control = new ControlLog(limits, System::getenv);
        encoder = new UpdateEncoder();
        configs = new HashMap<>();
        metrics = new HashMap<>();
        steps = StepBatch.open(backendSettings, getRuntimeContext().getMetricGroup().addGroup("gradstream"));
    }

    @Override
    public void close() throws Exception {
        if (steps != null) {
            steps.close();
        }
    }

    /** The backend the optimizer loops run on, e.g. {@code cpu} or {@code opencl:<device>+cpu-fallback}. */
    String backendName() {
        return steps.backendName();
    }

    /** Shards whose newest optimizer slots are only on the device (resident state); for tests. */
    java.util.List<String> residentDirtyKeys() {
        ResidentState resident = steps.resident();
        return resident == null ? java.util.List.of() : resident.dirtyKeys();
    }

    /** Called by {@link ShardOptimizerOperator}: without it every step runs directly. */
    void attach(BatchHost batchHost) {
        this.host = batchHost;
    }

    private boolean batching() {
        return host != null && backendSettings.batched();
    }

    private ShardStepper.Kernel kernel() {
        return batching() ? steps.kernel() : ShardStepper.DIRECT;
    }

    private void addToBatch(String key, ShardKey shardKey, ShardState state, ShardStepper.StepResult step,
            ModelConfig config, float[] before, double gradientNorm) throws Exception {
        if (steps.add(key, shardKey, state, step, config, before, gradientNorm)) {
            flushBatch();
        } else {
            host.flushWithin(backendSettings.batchDelayMs());
        }
    }

    /**
     * Copies every shard's optimizer slots that live only on the device (resident state) into its keyed state, so that
     * the next snapshot holds them; {@link ShardOptimizerOperator} calls it before each checkpoint barrier, after
     * {@link #flushBatch()}. A shard whose state was deleted meanwhile is forgotten on the device.
     */
    public void writeBackResident() throws Exception {
        ResidentState resident = steps == null ? null : steps.resident();
        if (resident == null) {
            return;
        }
        for (String key : resident.dirtyKeys()) {
            host.runAs(key, () -> {
                ShardState state = shard.value();
                if (state == null) {
                    resident.discard(key::equals);
                } else {
                    resident.writeBack(key, state.optimizer());
                    shard.update(state);
                }
            });
        }
    }

    /**
     * Runs the gathered steps' optimizer loops as one batch on the backend, then writes each shard back and publishes
     * it under its own key. Keys in a batch are distinct: a shard's next record flushes the batch before it is read.
     */
    public void flushBatch() throws Exception {
        if (steps == null || steps.isEmpty()) {
            return;
        }
        for (StepBatch.Entry b : steps.run()) {
            host.runAs(b.key(), () -> {
                shard.update(b.state());
                ModelMetrics m = metrics(b.shardKey().model());
                m.stateBytes(b.key(), stateBytes(b.state()));
                if (b.before() != null) {
                    m.norms(b.gradientNorm(), distance(b.before(), b.state().params()));
                }
                host.emit(update(b.shardKey(), b.state(), b.config(), b.result()));
                StatusEvent event = budgetEvent(b.shardKey(), b.config(), b.result());
                if (event != null) {
                    host.emit(STATUS, event);
                }
            });
        }
    }

    /** Metrics of {@code model}; records refused before their model is known count under {@code _unknown}. */
    private ModelMetrics metrics(String model) {
        String name = model == null || model.isEmpty() ? "_unknown" : model;
        return metrics.computeIfAbsent(name, m -> new ModelMetrics(
                getRuntimeContext().getMetricGroup().addGroup("gradstream"), m));
    }

    @Override
    public void processElement(RawRecord record, ReadOnlyContext ctx, Collector<ParameterUpdate> out)
            throws Exception {
        GradientAdmission.Decoded decoded = admission.decode(ctx.getCurrentKey(), record.value);
        if (decoded instanceof GradientAdmission.Refused r) {
            reject(ctx, r.code(), r.detail(), record, r.model());
            return;
        }
        String model = ((GradientAdmission.Parsed) decoded).key().model();
        if (waitingSince.value() != null || ctx.getBroadcastState(MODELS).get(model) == null) {
            // Behind the shard's waiting records, so that its records keep their arrival order.
            enqueue(record, ctx);
            drainIfModelKnown(ctx, out);
            return;
        }
        process((GradientAdmission.Parsed) decoded, record, ctx, out);
    }

    /** Admits a well-formed record of an existing model and offers it to its shard. */
    private void process(GradientAdmission.Parsed parsed, RawRecord record, ReadOnlyContext ctx,
            Collector<ParameterUpdate> out) throws Exception {
        ShardKey shardKey = parsed.key();
        String model = shardKey.model();
        String key = ctx.getCurrentKey();
        if (Boolean.TRUE.equals(ctx.getBroadcastState(PAUSED).get(model))) {
            reject(ctx, RejectCode.PAUSED, "model " + model + " is paused", record, model);
            return;
        }
        ModelConfig config;
        try {
            config = config(model, ctx.getBroadcastState(MODELS).get(model), ctx.getBroadcastState(INCARNATIONS));
        } catch (IllegalArgumentException e) {
            // A spec accepted at CREATE can fail here after a restore, e.g. when a task manager lacks the DP secret.
            reject(ctx, RejectCode.OTHER, "model " + model + " cannot be configured on this task: "
                    + e.getMessage(), record, model);
            return;
        }
        GradientAdmission.Admission admitted = admission.admit(parsed, config);
        if (admitted instanceof GradientAdmission.Refused r) {
            reject(ctx, r.code(), r.detail(), record, model);
            return;
        }
        if (steps.contains(key)) {
            flushBatch(); // this shard's previous step must be complete before it is read
        }
        ShardState state = shard.value();
        if (admitted instanceof GradientAdmission.Initialize init) {
            init(state, init.values(), config, shardKey, record, ctx, out);
            return;
        }
        GradientAdmission.Contribute contribute = (GradientAdmission.Contribute) admitted;
        Contribution c = contribute.contribution();
        int length = c.gradient().length;
        if (state == null) {
            if (config.explicitInit()) {
                reject(ctx, RejectCode.NOT_INITIALIZED, "shard " + key + " waits for its INIT values", record,
                        model);
                return;
            }
            state = fresh(config.initialValues(shardKey, length));
        }
        io.gradstream.core.optim.Optimizer optimizer;
        try {
            optimizer = config.optimizerAt(state.version());
        } catch (IllegalStateException e) {
            // A schedule with a fixed length (OneCycleLR's total_steps) has no learning rate past its end.
            reject(ctx, RejectCode.OTHER, "no step " + (state.version() + 1) + " for model " + model + ": "
                    + e.getMessage(), record, model);
            return;
        }
        long staleness = state.version() - c.baseVersion();
        long started = System.nanoTime();
        ModelMetrics m = metrics(model);
        ShardStepper.Kernel kernel = kernel();
        float[] before = null;
        double[] gradientNorm = {Double.NaN};
        if (m.sampleNorms()) {
            before = state.params().clone();
            ShardStepper.Kernel inner = kernel;
            kernel = (o, p, g, st) -> {
                gradientNorm[0] = io.gradstream.core.privacy.Clipping.norm(g);
                inner.step(o, p, g, st);
            };
        }
        ShardStepper.Outcome outcome = ShardStepper.offer(state, c, config.policy(), optimizer,
                config.privacy(shardKey), kernel);
        long micros = (System.nanoTime() - started) / 1000;
        if (config.privacy() != null) {
            m.clippedFraction = config.clips().fraction();
        }
        if (!(outcome instanceof ShardStepper.Rejected)) {
            m.gradientsAccepted.inc();
            m.bytesIn.inc(record.value.length);
            m.payloadIn(contribute.payloadBytes(), length);
            m.staleness.update(staleness);
        }
        if (outcome instanceof ShardStepper.Rejected r) {
            reject(ctx, r.code(), r.detail(), record, model);
            if (shard.value() == null) {
                return; // a refused first gradient leaves no state behind
            }
        } else if (outcome instanceof ShardStepper.Accepted a) {
            long timeout = config.policy().timeoutMs();
            if (timeout > 0 && a.contributions() == 1) {
                long at = ctx.timerService().currentProcessingTime() + timeout;
                deadline.update(at);
                ctx.timerService().registerProcessingTimeTimer(at);
            }
        } else if (outcome instanceof ShardStepper.Applied applied) {
            deadline.clear();
            if (batching()) {
                // Written and published by the flush.
                addToBatch(key, shardKey, state, applied.step(), config, before, gradientNorm[0]);
                return;
            }
            m.stepMicros.update(micros);
            steps.metrics().kernelMicros.update(micros);
            if (before != null) {
                m.norms(gradientNorm[0], distance(before, state.params()));
            }
            out.collect(update(shardKey, state, config, applied.step()));
            StatusEvent event = budgetEvent(shardKey, config, applied.step());
            if (event != null) {
                ctx.output(STATUS, event);
            }
        }
        shard.update(state);
        m.stateBytes(key, stateBytes(state));
    }

    /**
     * A new shard of the current key at version 0. Its privacy ledger continues the one its key had when an earlier
     * model of the same id was deleted, so that re-creating a model never resets the epsilon it has spent.
     */
    private ShardState fresh(float[] values) throws IOException {
        ShardState retired = retiredLedger.value();
        return retired == null ? ShardState.initial(values) : ShardState.initial(values, retired.ledger());
    }

    /** What a shard's state holds, about as its checkpoint does: parameters, slots and a pending sum in floats. */
    private static long stateBytes(ShardState s) {
        long floats = s.params().length;
        for (float[] slot : s.optimizer().tensors().values()) {
            floats += slot.length;
        }
        if (s.pending().weightedSum() != null) {
            floats += s.pending().weightedSum().length;
        }
        return 4 * floats;
    }

    /** The L2 norm of {@code after - before}, in double. */
    private static double distance(float[] before, float[] after) {
        double sum = 0;
        for (int i = 0; i < before.length; i++) {
            double d = (double) after[i] - before[i];
            sum += d * d;
        }
        return Math.sqrt(sum);
    }

    private void init(ShardState state, float[] values, ModelConfig config, ShardKey key, RawRecord record,
            ReadOnlyContext ctx, Collector<ParameterUpdate> out) throws Exception {
        if (state != null) {
            reject(ctx, RejectCode.ALREADY_INITIALIZED, "shard " + key + " is at version " + state.version()
                    + "; INIT only starts a shard", record, key.model());
            return;
        }
        ShardState started = fresh(values);
        shard.update(started);
        out.collect(update(key, started, config, null));
    }

    private ParameterUpdate update(ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step) {
        ParameterUpdate u = encoder.encode(key, state, config, step);
        ModelMetrics m = metrics(key.model());
        int n = u.getPayload().getData().remaining();
        m.bytesOut.inc(n);
        m.payloadOut(n, state.params().length);
        if (step != null) {
            m.applied(state.version(), step.meanLoss());
            if (step.contributions() > 1) {
                m.aggregationWaitMillis.update(step.aggregationWaitMs());
            }
            if (step.latestPublishedAtMs() > 0) {
                m.publishToStepMillis.update(Math.max(0, System.currentTimeMillis() - step.latestPublishedAtMs()));
            }
        }
        if (u.getEpsilonSpent() != null) {
            m.epsilonSpent(u.getEpsilonSpent());
            m.epsilonTarget = config.privacy().targetEpsilon();
        }
        return u;
    }

    /**
     * After the last step the budget allows, the model's reporter shard publishes a status event, once: the step is
     * applied exactly once per version, and a replay after a restore re-emits it within the same checkpoint epoch.
     * Null when there is nothing to announce.
     */
    private static StatusEvent budgetEvent(ShardKey key, ModelConfig config, ShardStepper.StepResult step) {
        if (!step.budgetExhausted() || !config.isReporter(key)) {
            return null;
        }
        return StatusEvent.newBuilder()
                .setModelId(key.model())
                .setType(StatusType.BUDGET_EXHAUSTED)
                .setVersion(step.version())
                .setEpsilonSpent(step.epsilon())
                .setTargetEpsilon(config.privacy().targetEpsilon())
                .setDetail("privacy budget spent: epsilon " + step.epsilon() + " of " + config.privacy().targetEpsilon()
                        + " at delta " + config.privacy().delta() + " after " + step.version() + " steps; further "
                        + "gradients are rejected with BUDGET_EXHAUSTED")
                .setRaisedAtMs(System.currentTimeMillis())
                .build();
    }

    /**
     * Holds a well-formed record whose model does not exist (yet), or that must stay behind this shard's waiting
     * ones, bounded in count and bytes per shard and in bytes per subtask; beyond a bound it is refused at once.
     */
    private void enqueue(RawRecord record, ReadOnlyContext ctx) throws Exception {
        if (unknownModelGraceMs == 0 || maxWaitingPerShard == 0) {
            reject(ctx, RejectCode.UNKNOWN_MODEL, "no model for key " + ctx.getCurrentKey()
                    + " (create it on the control topic)", record, null);
            return;
        }
        int count = 0;
        for (RawRecord ignored : waiting.get()) {
            count++;
        }
        long bytes = record.value.length;
        long shardBytes = waitingBytes.value() == null ? 0 : waitingBytes.value();
        if (count >= maxWaitingPerShard) {
            reject(ctx, RejectCode.UNKNOWN_MODEL, "model not created and " + count + " records already wait",
                    record, null);
            return;
        }
        if (shardBytes + bytes > limits.waitingBytesPerShard() || waitingHere + bytes > limits.waitingBytes()) {
            reject(ctx, RejectCode.TOO_LARGE, "model not created and the waiting room is full: " + shardBytes
                    + " bytes wait for this shard (gradstream.limits.waiting-bytes-per-shard = "
                    + limits.waitingBytesPerShard() + "), " + waitingHere + " on this subtask "
                    + "(gradstream.limits.waiting-bytes = " + limits.waitingBytes() + ")", record, null);
            return;
        }
        waiting.add(record);
        waitingBytes.update(shardBytes + bytes);
        waitingHere += bytes;
        if (waitingSince.value() == null) {
            long now = ctx.timerService().currentProcessingTime();
            waitingSince.update(now);
            ctx.timerService().registerProcessingTimeTimer(now + retryIntervalMs);
        }
    }

    /** Processes the waiting records once their model exists; rejects them when the grace period is over. */
    private void drainIfModelKnown(ReadOnlyContext ctx, Collector<ParameterUpdate> out) throws Exception {
        Long since = waitingSince.value();
        if (since == null) {
            return;
        }
        // Only well-formed records wait, so the key names a valid shard.
        String model = ShardKey.parse(ctx.getCurrentKey()).model();
        boolean known = ctx.getBroadcastState(MODELS).get(model) != null;
        long now = ctx.timerService().currentProcessingTime();
        if (!known && now - since < unknownModelGraceMs) {
            ctx.timerService().registerProcessingTimeTimer(now + retryIntervalMs);
            return;
        }
        List<RawRecord> queued = new ArrayList<>();
        waiting.get().forEach(queued::add);
        waiting.clear();
        waitingSince.clear();
        Long shardBytes = waitingBytes.value();
        // After a restore the subtask's count starts at 0 while restored records wait: never below 0.
        waitingHere = Math.max(0, waitingHere - (shardBytes == null ? 0 : shardBytes));
        waitingBytes.clear();
        for (RawRecord r : queued) {
            if (!known) {
                reject(ctx, RejectCode.UNKNOWN_MODEL, "no model '" + model + "' was created within "
                        + unknownModelGraceMs + " ms", r, null);
                continue;
            }
            GradientAdmission.Decoded decoded = admission.decode(ctx.getCurrentKey(), r.value);
            if (decoded instanceof GradientAdmission.Parsed parsed) {
                process(parsed, r, ctx, out);
            } else if (decoded instanceof GradientAdmission.Refused refused) {
                // Records that waited in a savepoint of an earlier release were not checked on arrival.
                reject(ctx, refused.code(), refused.detail(), r, refused.model());
            }
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ParameterUpdate> out) throws Exception {
        if (steps.contains(ctx.getCurrentKey())) {
            flushBatch();
        }
        Long due = deadline.value();
        if (due != null && due == timestamp) {
            deadline.clear();
            flushDueStep(timestamp, ctx, out);
        }
        if (waitingSince.value() != null) {
            drainIfModelKnown(ctx, out);
        }
    }

    /** The SYNC timeout: applies what arrived for the shard's current version. */
    private void flushDueStep(long timestamp, OnTimerContext ctx, Collector<ParameterUpdate> out) throws Exception {
        ShardState state = shard.value();
        ShardKey key = ShardKey.parse(ctx.getCurrentKey());
        ModelSpec spec = ctx.getBroadcastState(MODELS).get(key.model());
        if (state == null || spec == null) {
            return;
        }
        ModelConfig config;
        try {
            config = config(key.model(), spec, ctx.getBroadcastState(INCARNATIONS));
        } catch (IllegalArgumentException e) {
            // E.g. the DP secret is not (yet) mounted after a restore: keep the step and try again later.
            long retry = timestamp + 1_000;
            deadline.update(retry);
            ctx.timerService().registerProcessingTimeTimer(retry);
            return;
        }
        ShardStepper.StepResult step = ShardStepper.flush(state, config.optimizerAt(state.version()),
                config.privacy(key), kernel());
        if (step != null && batching()) {
            addToBatch(ctx.getCurrentKey(), key, state, step, config, null, Double.NaN);
        } else if (step != null) {
            shard.update(state);
            out.collect(update(key, state, config, step));
            StatusEvent event = budgetEvent(key, config, step);
            if (event != null) {
                ctx.output(STATUS, event);
            }
        }
    }

    @Override
    public void processBroadcastElement(RawRecord record, Context ctx, Collector<ParameterUpdate> out)
            throws Exception {
        flushBatch(); // a command may change or delete the shards of the batch
        // Every subtask receives every command; only subtask 0 reports problems, so each is reported once.
        boolean reporter = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0;
        var models = ctx.getBroadcastState(MODELS);
        var incarnations = ctx.getBroadcastState(INCARNATIONS);
        ControlLog.Change change = control.read(record.value, record.topic + "-" + record.partition + "@"
                + record.offset, new ControlLog.Models() {
                    @Override
                    public ModelSpec spec(String model) throws Exception {
                        return models.get(model);
                    }

                    @Override
                    public String incarnation(String model) throws Exception {
                        return incarnations.get(model);
                    }

                    @Override
                    public int count() throws Exception {
                        int n = 0;
                        for (var ignored : models.entries()) {
                            n++;
                        }
                        return n;
                    }
                });
        String model = change.model();
        if (change instanceof ControlLog.Created c) {
            models.put(model, c.spec());
            incarnations.put(model, c.incarnation());
            ctx.getBroadcastState(PAUSED).remove(model);
            configs.put(model, c.config());
            if (!c.config().explicitInit()) {
                publishInitialValues(c.config(), out);
            }
        } else if (change instanceof ControlLog.Updated u) {
            configs.put(model, u.config());
            models.put(model, u.spec());
        } else if (change instanceof ControlLog.Paused) {
            ctx.getBroadcastState(PAUSED).put(model, true);
        } else if (change instanceof ControlLog.Resumed) {
            ctx.getBroadcastState(PAUSED).remove(model);
        } else if (change instanceof ControlLog.Deleted) {
            delete(model, ctx);
        } else if (change instanceof ControlLog.Invalid invalid && reporter) {
            ctx.output(Rejections.TAG, rejection(invalid.code(), invalid.detail(), record, invalid.model()));
        }
    }

    /**
     * Forgets a model: its broadcast entries, its shards' state and their device copies, its metrics. A private
     * shard's privacy ledger is kept under its key, so that a model created again with this id goes on spending
     * the same budget.
     */
    private void delete(String model, Context ctx) throws Exception {
        ctx.getBroadcastState(MODELS).remove(model);
        ctx.getBroadcastState(PAUSED).remove(model);
        ctx.getBroadcastState(INCARNATIONS).remove(model);
        configs.remove(model);
        ModelMetrics m = metrics.remove(model);
        if (m != null) {
            m.close();
        }
        String prefix = model + "/";
        // Flink makes each visited key the current one, so the ledger is kept under the same key.
        ctx.applyToKeyedState(SHARD, (key, state) -> {
            if (key.startsWith(prefix)) {
                ShardState s = state.value();
                if (s != null && s.ledger().steps() > 0) {
                    retiredLedger.update(ShardState.initial(new float[0], s.ledger()));
                }
                state.clear();
            }
        });
        ResidentState resident = steps.resident();
        if (resident != null) {
            resident.discard(key -> key.startsWith(prefix));
        }
    }

    /**
     * Publishes version 0 of a rule-initialised model: each subtask the shards it owns (their key group), so that
     * the work is spread and a shard's version 0 leaves from the subtask that later publishes its steps, in order.
     */
    private void publishInitialValues(ModelConfig config, Collector<ParameterUpdate> out) {
        var task = getRuntimeContext().getTaskInfo();
        for (TensorLayout t : config.tensors().values()) {
            for (int s = 0; s < t.shardCount(); s++) {
                ShardKey key = new ShardKey(config.modelId(), t.name(), s);
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(key.toString(),
                        task.getMaxNumberOfParallelSubtasks(), task.getNumberOfParallelSubtasks())
                        == task.getIndexOfThisSubtask()) {
                    out.collect(update(key, ShardState.initial(config.initialValues(key, t.shardLength(s))), config,
                            null));
                }
            }
        }
    }

    private ModelConfig config(String model, ModelSpec spec, ReadOnlyBroadcastState<String, String> incarnations)
            throws Exception {
        ModelConfig c = configs.get(model);
        if (c == null || (c.spec() != spec && !c.spec().equals(spec))) {
            // After a restore, or when another subtask's broadcast state is newer than this cache.
            c = ModelConfig.of(model, spec, incarnations.get(model), limits, System::getenv);
            configs.put(model, c);
        }
        return c;
    }

    /** Refuses a record; its metrics count under its model only when the model exists, else under _unknown. */
    private void reject(ReadOnlyContext ctx, RejectCode code, String detail, RawRecord record, String model)
            throws Exception {
        boolean known = model != null && ctx.getBroadcastState(MODELS).get(model) != null;
        metrics(known ? model : null).rejected(code);
        ctx.output(Rejections.TAG, rejection(code, detail, record, model));
    }

    private RejectedRecord rejection(RejectCode code, String detail, RawRecord record, String model) {
        return RejectedRecords.of(code, detail, new RejectedRecords.Source(record.topic, record.partition,
                record.offset, record.key, record.value), model, limits);
    }
}
