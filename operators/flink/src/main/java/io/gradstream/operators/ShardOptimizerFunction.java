package io.gradstream.operators;

import io.gradstream.schemas.AvroRecords;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.StatusEvent;
import io.gradstream.schemas.StatusType;
import io.gradstream.schemas.TensorPayload;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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

    private final long unknownModelGraceMs;
    private final int maxWaitingPerShard;
    private final long retryIntervalMs;
    private final BackendSettings backendSettings;

    private transient ValueState<ShardState> shard;
    private transient ValueState<Long> deadline;
    private transient ListState<RawRecord> waiting;
    private transient ValueState<Long> waitingSince;
    private transient AvroRecords<GradientBatch> gradients;
    private transient AvroRecords<ControlCommand> commands;
    private transient Map<String, ModelConfig> configs;
    private transient Map<io.gradstream.core.codec.Encoding, PayloadCodec> inputCodecs;
    private transient Map<String, PayloadCodec> outputCodecs;
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
        this.backendSettings = java.util.Objects.requireNonNull(backend, "backend must not be null");
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
        gradients = new AvroRecords<>(GradientBatch.class);
        commands = new AvroRecords<>(ControlCommand.class);
        configs = new HashMap<>();
        inputCodecs = new HashMap<>();
        outputCodecs = new HashMap<>();
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
        if (waitingSince.value() != null) {
            // Keep the shard's records in arrival order behind the ones already waiting.
            enqueue(record, ctx);
            drainIfModelKnown(ctx.getBroadcastState(MODELS), ctx.getBroadcastState(PAUSED), ctx, out);
            return;
        }
        process(record, ctx.getBroadcastState(MODELS), ctx.getBroadcastState(PAUSED), ctx, out);
    }

    private void process(RawRecord record, ReadOnlyBroadcastState<String, ModelSpec> models,
            ReadOnlyBroadcastState<String, Boolean> paused, ReadOnlyContext ctx, Collector<ParameterUpdate> out)
            throws Exception {
        GradientBatch batch;
        try {
            batch = gradients.decode(record.value);
        } catch (IOException e) {
            reject(ctx, RejectCode.UNDECODABLE, "not a GradientBatch: " + e.getMessage(), record, null);
            return;
        }
        String model = batch.getModelId();
        String key = ctx.getCurrentKey();
        String valueKey = model + "/" + batch.getTensor() + "/" + batch.getShard();
        if (!key.equals(valueKey)) {
            reject(ctx, RejectCode.OTHER, "record key '" + key + "' does not match its value's " + valueKey,
                    record, model);
            return;
        }
        ModelSpec spec = models.get(model);
        if (spec == null) {
            if (unknownModelGraceMs > 0 && maxWaitingPerShard > 0) {
                enqueue(record, ctx);
            } else {
                reject(ctx, RejectCode.UNKNOWN_MODEL, "no model '" + model + "' (create it on the control topic)",
                        record, model);
            }
            return;
        }
        if (Boolean.TRUE.equals(paused.get(model))) {
            reject(ctx, RejectCode.PAUSED, "model " + model + " is paused", record, model);
            return;
        }
        ModelConfig config;
        try {
            config = config(model, spec);
        } catch (IllegalArgumentException e) {
            // A spec accepted at CREATE can fail here after a restore, e.g. when a task manager lacks the DP secret.
            reject(ctx, RejectCode.OTHER, "model " + model + " cannot be configured on this task: "
                    + e.getMessage(), record, model);
            return;
        }
        TensorLayout layout = config.tensors().get(batch.getTensor());
        if (layout == null) {
            reject(ctx, RejectCode.UNKNOWN_TENSOR, "model " + model + " has no tensor '" + batch.getTensor()
                    + "'; it has " + config.tensors().keySet(), record, model);
            return;
        }
        if (batch.getShard() < 0 || batch.getShard() >= layout.shardCount()) {
            reject(ctx, RejectCode.UNKNOWN_SHARD, "tensor " + batch.getTensor() + " has shards 0.."
                    + (layout.shardCount() - 1) + ", not " + batch.getShard(), record, model);
            return;
        }
        int length = layout.shardLength(batch.getShard());
        TensorPayload payload = batch.getPayload();
        if (payload.getElementCount() != length) {
            reject(ctx, RejectCode.WRONG_ELEMENT_COUNT, "payload has " + payload.getElementCount()
                    + " elements, shard " + key + " has " + length, record, model);
            return;
        }
        float[] values;
        try {
            values = decodePayload(payload, length);
        } catch (IllegalArgumentException e) {
            reject(ctx, RejectCode.UNDECODABLE, "payload: " + e.getMessage(), record, model);
            return;
        }
        if (steps.contains(key)) {
            flushBatch(); // this shard's previous step must be complete before it is read
        }
        ShardState state = shard.value();
        ShardKey shardKey = new ShardKey(model, batch.getTensor(), batch.getShard());
        if (batch.getKind() == GradientKind.INIT) {
            init(state, values, config, shardKey, record, ctx, out);
            return;
        }
        if (state == null) {
            if (config.explicitInit()) {
                reject(ctx, RejectCode.NOT_INITIALIZED, "shard " + key + " waits for its INIT values", record,
                        model);
                return;
            }
            state = ShardState.initial(config.initialValues(shardKey, length));
        }
        Contribution c = new Contribution(batch.getWorkerId(), batch.getWorkerStep(), batch.getBaseVersion(),
                batch.getNumExamples(), values, batch.getLoss() == null ? Double.NaN : batch.getLoss(),
                batch.getPublishedAtMs());
        io.gradstream.core.optim.Optimizer optimizer;
        try {
            optimizer = config.optimizerAt(state.version());
        } catch (IllegalStateException e) {
            // A schedule with a fixed length (OneCycleLR's total_steps) has no learning rate past its end.
            reject(ctx, RejectCode.OTHER, "no step " + (state.version() + 1) + " for model " + model + ": "
                    + e.getMessage(), record, model);
            return;
        }
        long staleness = state.version() - batch.getBaseVersion();
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
            m.payloadIn(payload.getData().remaining(), length);
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
            ReadOnlyContext ctx, Collector<ParameterUpdate> out) throws IOException {
        if (state != null) {
            reject(ctx, RejectCode.ALREADY_INITIALIZED, "shard " + key + " is at version " + state.version()
                    + "; INIT only starts a shard", record, key.model());
            return;
        }
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                reject(ctx, RejectCode.NON_FINITE, "INIT element " + i + " is " + values[i], record, key.model());
                return;
            }
        }
        ShardState fresh = ShardState.initial(values);
        shard.update(fresh);
        out.collect(update(key, fresh, config, null));
    }

    private float[] decodePayload(TensorPayload payload, int length) {
        io.gradstream.core.codec.Encoding e = io.gradstream.core.codec.Encoding.valueOf(
                payload.getEncoding().name());
        PayloadCodec codec = inputCodecs.computeIfAbsent(e, x -> x == io.gradstream.core.codec.Encoding.TOPK
                ? PayloadCodecs.topK(1) : PayloadCodecs.forEncoding(x));
        ByteBuffer data = payload.getData().duplicate();
        float[] values = new float[length];
        codec.decode(data, values, 0, length);
        if (data.hasRemaining()) {
            throw new IllegalArgumentException(data.remaining() + " trailing bytes after " + length + " elements");
        }
        return values;
    }

    private ParameterUpdate update(ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step) {
        PayloadCodec codec = outputCodecs.computeIfAbsent(config.modelId() + "@" + config.outputEncoding(),
                x -> config.outputCodec());
        float[] p = state.params();
        byte[] bytes = new byte[codec.maxEncodedSize(p.length)];
        int n = codec.encode(p, 0, p.length, ByteBuffer.wrap(bytes));
        ModelMetrics m = metrics(key.model());
        m.bytesOut.inc(n);
        m.payloadOut(n, p.length);
        if (step != null) {
            m.applied(state.version(), step.meanLoss());
            if (step.contributions() > 1) {
                m.aggregationWaitMillis.update(step.aggregationWaitMs());
            }
            if (step.latestPublishedAtMs() > 0) {
                m.publishToStepMillis.update(Math.max(0, System.currentTimeMillis() - step.latestPublishedAtMs()));
            }
        }
        Double epsilon = null;
        if (config.privacy() != null) {
            epsilon = step != null ? step.epsilon() : config.privacy().epsilon(state.ledger());
            m.epsilonSpent(epsilon);
            m.epsilonTarget = config.privacy().targetEpsilon();
        }
        return ParameterUpdate.newBuilder()
                .setModelId(key.model())
                .setTensor(key.tensor())
                .setShard(key.shard())
                .setVersion(state.version())
                .setPayload(new TensorPayload(config.outputEncoding(), p.length, ByteBuffer.wrap(bytes, 0, n)))
                .setContributions(step == null ? 0 : step.contributions())
                .setExamples(step == null ? 0 : step.examples())
                .setMeanLoss(step == null || Double.isNaN(step.meanLoss()) ? null : step.meanLoss())
                .setLatestPublishedAtMs(step == null ? 0 : step.latestPublishedAtMs())
                .setEpsilonSpent(epsilon)
                .build();
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

    private void enqueue(RawRecord record, ReadOnlyContext ctx) throws Exception {
        int count = 0;
        for (RawRecord ignored : waiting.get()) {
            count++;
        }
        if (count >= maxWaitingPerShard) {
            reject(ctx, RejectCode.UNKNOWN_MODEL, "model not created and " + count + " records already wait",
                    record, null);
            return;
        }
        waiting.add(record);
        if (waitingSince.value() == null) {
            long now = ctx.timerService().currentProcessingTime();
            waitingSince.update(now);
            ctx.timerService().registerProcessingTimeTimer(now + retryIntervalMs);
        }
    }

    /** Processes the waiting records once their model exists; rejects them when the grace period is over. */
    private void drainIfModelKnown(ReadOnlyBroadcastState<String, ModelSpec> models,
            ReadOnlyBroadcastState<String, Boolean> paused, ReadOnlyContext ctx, Collector<ParameterUpdate> out)
            throws Exception {
        String model = ShardKey.parse(ctx.getCurrentKey()).model();
        Long since = waitingSince.value();
        if (since == null) {
            return;
        }
        boolean known = models.get(model) != null;
        long now = ctx.timerService().currentProcessingTime();
        if (!known && now - since < unknownModelGraceMs) {
            ctx.timerService().registerProcessingTimeTimer(now + retryIntervalMs);
            return;
        }
        List<RawRecord> queued = new ArrayList<>();
        waiting.get().forEach(queued::add);
        waiting.clear();
        waitingSince.clear();
        for (RawRecord r : queued) {
            if (known) {
                process(r, models, paused, ctx, out);
            } else {
                reject(ctx, RejectCode.UNKNOWN_MODEL, "no model '" + model + "' was created within "
                        + unknownModelGraceMs + " ms", r, model);
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
            ShardState state = shard.value();
            ShardKey key = ShardKey.parse(ctx.getCurrentKey());
            ModelSpec spec = ctx.getBroadcastState(MODELS).get(key.model());
            if (state != null && spec != null) {
                ModelConfig config;
                try {
                    config = config(key.model(), spec);
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
        }
        if (waitingSince.value() != null) {
            drainIfModelKnown(ctx.getBroadcastState(MODELS), ctx.getBroadcastState(PAUSED), ctx, out);
        }
    }

    @Override
    public void processBroadcastElement(RawRecord record, Context ctx, Collector<ParameterUpdate> out)
            throws Exception {
        flushBatch(); // a command may change or delete the shards of the batch
        // Every subtask receives every command; only subtask 0 reports problems and publishes initial values, so
        // each happens once.
        boolean reporter = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0;
        ControlCommand cmd;
        try {
            cmd = commands.decode(record.value);
        } catch (IOException e) {
            if (reporter) {
                ctx.output(Rejections.TAG, Rejections.of(RejectCode.UNDECODABLE, "not a ControlCommand: "
                        + e.getMessage(), record, null));
            }
            return;
        }
        String model = cmd.getModelId();
        try {
            switch (cmd.getType()) {
                case CREATE -> {
                    ModelSpec existing = ctx.getBroadcastState(MODELS).get(model);
                    if (existing != null) {
                        if (existing.equals(cmd.getSpec())) {
                            return; // the same CREATE again (a producer retry): nothing to do
                        }
                        throw new IllegalArgumentException("model " + model + " exists with another spec; use "
                                + "UPDATE_HYPERPARAMETERS, or DELETE it first");
                    }
                    ModelConfig config = ModelConfig.of(model, cmd.getSpec());
                    ctx.getBroadcastState(MODELS).put(model, cmd.getSpec());
                    ctx.getBroadcastState(PAUSED).remove(model);
                    configs.put(model, config);
                    if (reporter && !config.explicitInit()) {
                        publishInitialValues(config, out);
                    }
                }
                case UPDATE_HYPERPARAMETERS -> {
                    ModelSpec current = requireModel(ctx, model);
                    Map<String, Object> merged = new LinkedHashMap<>(current.getHyperparameters());
                    merged.putAll(cmd.getHyperparameters());
                    ModelSpec.Builder next = ModelSpec.newBuilder(current).setHyperparameters(merged);
                    if (cmd.getLrSchedule() != null) {
                        next.setLrSchedule(cmd.getLrSchedule());
                    }
                    ModelSpec spec = next.build();
                    configs.put(model, ModelConfig.of(model, spec)); // validates before anything changes
                    ctx.getBroadcastState(MODELS).put(model, spec);
                }
                case PAUSE -> {
                    requireModel(ctx, model);
                    ctx.getBroadcastState(PAUSED).put(model, true);
                }
                case RESUME -> {
                    requireModel(ctx, model);
                    ctx.getBroadcastState(PAUSED).remove(model);
                }
                case DELETE -> {
                    requireModel(ctx, model);
                    ctx.getBroadcastState(MODELS).remove(model);
                    ctx.getBroadcastState(PAUSED).remove(model);
                    configs.remove(model);
                    metrics(model).stateDeleted();
                    String prefix = model + "/";
                    ctx.applyToKeyedState(SHARD, (key, state) -> {
                        if (key.startsWith(prefix)) {
                            state.clear();
                        }
                    });
                    ResidentState resident = steps.resident();
                    if (resident != null) {
                        resident.discard(key -> key.startsWith(prefix));
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            if (reporter) {
                ctx.output(Rejections.TAG, Rejections.of(RejectCode.INVALID_COMMAND, cmd.getType() + " " + model
                        + ": " + e.getMessage(), record, model));
            }
        }
    }

    private static ModelSpec requireModel(Context ctx, String model) throws Exception {
        ModelSpec spec = ctx.getBroadcastState(MODELS).get(model);
        if (spec == null) {
            throw new IllegalArgumentException("no model '" + model + "'");
        }
        return spec;
    }

    private void publishInitialValues(ModelConfig config, Collector<ParameterUpdate> out) {
        for (TensorLayout t : config.tensors().values()) {
            for (int s = 0; s < t.shardCount(); s++) {
                ShardKey key = new ShardKey(config.modelId(), t.name(), s);
                out.collect(update(key, ShardState.initial(config.initialValues(key, t.shardLength(s))), config,
                        null));
            }
        }
    }

    private ModelConfig config(String model, ModelSpec spec) {
        ModelConfig c = configs.get(model);
        if (c == null || (c.spec() != spec && !c.spec().equals(spec))) {
            // After a restore, or when another subtask's broadcast state is newer than this cache.
            c = ModelConfig.of(model, spec);
            configs.put(model, c);
        }
        return c;
    }

    private void reject(ReadOnlyContext ctx, RejectCode code, String detail, RawRecord record, String model) {
        metrics(model).rejected(code);
        ctx.output(Rejections.TAG, Rejections.of(code, detail, record, model));
    }
}
