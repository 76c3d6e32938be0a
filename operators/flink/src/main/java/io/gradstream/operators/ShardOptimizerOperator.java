package io.gradstream.operators;

import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.ControlLog;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.StatusEvent;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * The shard optimizer: gradients keyed by shard ({@code model/tensor/shard}) meet the control commands broadcast to
 * every subtask. A gradient is decoded, waits if its model does not exist yet, is admitted against its model,
 * offered to its shard's state, stepped (now, or batched on the backend) and published; everything refused goes to
 * {@link Rejections#TAG} with its reason. What a record means lives in {@code io.gradstream.model} and the numeric
 * core; this class moves keyed and broadcast state, timers and outputs, and flushes batched steps before every
 * checkpoint barrier so that no snapshot holds a half-applied step.
 */
public final class ShardOptimizerOperator extends AbstractStreamOperator<ParameterUpdate>
        implements TwoInputStreamOperator<RawRecord, RawRecord, ParameterUpdate>, Triggerable<String, VoidNamespace> {
    private static final long serialVersionUID = 2L;

    public static final MapStateDescriptor<String, ModelSpec> MODELS = new MapStateDescriptor<>("models",
            Types.STRING, new AvroTypeInfo<>(ModelSpec.class));
    public static final MapStateDescriptor<String, Boolean> PAUSED = new MapStateDescriptor<>("paused",
            Types.STRING, Types.BOOLEAN);
    /** Where each model's CREATE was read (its incarnation), which keys its DP noise. */
    public static final MapStateDescriptor<String, String> INCARNATIONS = new MapStateDescriptor<>("incarnations",
            Types.STRING, Types.STRING);
    /** Model-wide events (a spent privacy budget) for the status topic. */
    public static final OutputTag<StatusEvent> STATUS = new OutputTag<>("status",
            new AvroTypeInfo<>(StatusEvent.class));

    static final ValueStateDescriptor<ShardState> SHARD = new ValueStateDescriptor<>("shard",
            new ShardStateSerializer());
    static final ValueStateDescriptor<Long> DEADLINE = new ValueStateDescriptor<>("syncDeadline", Types.LONG);
    /** The privacy ledger a shard's key had when its model was deleted: a model created again continues it. */
    static final ValueStateDescriptor<ShardState> RETIRED_LEDGER = new ValueStateDescriptor<>("retiredLedger",
            new ShardStateSerializer());

    private final long graceMs;
    private final int maxWaitingPerShard;
    private final BackendSettings backend;
    private final Limits limits;

    private transient ValueState<ShardState> shard;
    private transient ValueState<Long> deadline;
    private transient ValueState<ShardState> retiredLedger;
    private transient WaitingRoom waiting;
    private transient BroadcastState<String, ModelSpec> models;
    private transient BroadcastState<String, Boolean> paused;
    private transient BroadcastState<String, String> incarnations;
    private transient InternalTimerService<VoidNamespace> timers;
    private transient GradientAdmission admission;
    private transient ControlLog control;
    private transient ShardOutputs outputs;
    private transient StepBatch steps;
    private transient Map<String, ModelConfig> configs;
    private transient boolean flushScheduled;

    /**
     * @param graceMs how long a gradient for a model that does not exist (yet) waits before it is refused
     * @param maxWaitingPerShard how many such records a shard holds at most
     */
    public ShardOptimizerOperator(long graceMs, int maxWaitingPerShard, BackendSettings backend, Limits limits) {
        if (graceMs < 0 || maxWaitingPerShard < 0) {
            throw new IllegalArgumentException("grace and waiting capacity must be >= 0");
        }
        this.graceMs = graceMs;
        this.maxWaitingPerShard = maxWaitingPerShard;
        this.backend = Objects.requireNonNull(backend, "backend must not be null");
        this.limits = Objects.requireNonNull(limits, "limits must not be null");
    }

    @Override
    public void open() throws Exception {
        super.open();
        shard = getPartitionedState(SHARD);
        deadline = getPartitionedState(DEADLINE);
        retiredLedger = getPartitionedState(RETIRED_LEDGER);
        waiting = new WaitingRoom(getPartitionedState(WaitingRoom.WAITING), getPartitionedState(WaitingRoom.SINCE),
                getPartitionedState(WaitingRoom.BYTES), maxWaitingPerShard, limits);
        models = getOperatorStateBackend().getBroadcastState(MODELS);
        paused = getOperatorStateBackend().getBroadcastState(PAUSED);
        incarnations = getOperatorStateBackend().getBroadcastState(INCARNATIONS);
        timers = getInternalTimerService("user-timers", VoidNamespaceSerializer.INSTANCE, this);
        admission = new GradientAdmission(limits);
        control = new ControlLog(limits, System::getenv);
        var group = getRuntimeContext().getMetricGroup().addGroup("gradstream");
        outputs = new ShardOutputs(output, group, limits);
        steps = StepBatch.open(backend, group);
        configs = new HashMap<>();
    }

    @Override
    public void close() throws Exception {
        if (steps != null) {
            steps.close();
        }
        super.close();
    }

    /** The backend the optimizer loops run on, e.g. {@code cpu} or {@code opencl:<device>+cpu-fallback}. */
    String backendName() {
        return steps.backendName();
    }

    /** Shards whose newest optimizer slots are only on the device (resident state); for tests. */
    List<String> residentDirtyKeys() {
        ResidentState resident = steps.resident();
        return resident == null ? List.of() : resident.dirtyKeys();
    }

    // ---- gradients: decode -> (wait) -> admit -> offer -> step -> publish

    @Override
    public void processElement1(StreamRecord<RawRecord> element) throws Exception {
        RawRecord record = element.getValue();
        String key = (String) getCurrentKey();
        GradientAdmission.Decoded decoded = admission.decode(key, record.value);
        if (decoded instanceof GradientAdmission.Refused r) {
            reject(r, record);
        } else if (waiting.since() != null || models.get(((GradientAdmission.Parsed) decoded).key().model()) == null) {
            // Behind the shard's waiting records, so that its records keep their arrival order.
            hold(record);
            drainIfModelKnown();
        } else {
            offer((GradientAdmission.Parsed) decoded, record);
        }
    }

    private void offer(GradientAdmission.Parsed parsed, RawRecord record) throws Exception {
        ShardKey key = parsed.key();
        String model = key.model();
        if (Boolean.TRUE.equals(paused.get(model))) {
            reject(RejectCode.PAUSED, "model " + model + " is paused", record, model);
            return;
        }
        ModelConfig config = config(model);
        if (config == null) {
            reject(RejectCode.OTHER, "model " + model + " cannot be configured on this task: " + configProblem(model),
                    record, model);
            return;
        }
        GradientAdmission.Admission admitted = admission.admit(parsed, config);
        if (admitted instanceof GradientAdmission.Refused r) {
            reject(r.code(), r.detail(), record, model);
            return;
        }
        String k = key.toString();
        if (steps.contains(k)) {
            flushBatch(); // this shard's previous step must be complete before it is read
        }
        ShardState state = shard.value();
        if (admitted instanceof GradientAdmission.Initialize init) {
            initialize(state, init, config, record);
            return;
        }
        GradientAdmission.Contribute c = (GradientAdmission.Contribute) admitted;
        if (state == null && config.explicitInit()) {
            reject(RejectCode.NOT_INITIALIZED, "shard " + k + " waits for its INIT values", record, model);
            return;
        }
        if (state == null) {
            state = fresh(config.initialValues(key, c.contribution().gradient().length));
        }
        long staleness = state.version() - c.contribution().baseVersion();
        ShardStepper.Outcome outcome;
        try {
            outcome = ShardStepper.prepare(state, c.contribution(), config.policy(),
                    config.optimizerAt(state.version()), config.privacy(key));
        } catch (IllegalStateException e) {
            // A schedule with a fixed length (OneCycleLR's total_steps) has no learning rate past its end.
            reject(RejectCode.OTHER, "no step " + (state.version() + 1) + " for model " + model + ": "
                    + e.getMessage(), record, model);
            return;
        }
        ModelMetrics m = outputs.metrics(model);
        if (config.privacy() != null) {
            m.clippedFraction = config.clips().fraction();
        }
        if (outcome instanceof ShardStepper.Rejected r) {
            reject(r.code(), r.detail(), record, model);
            return; // the state did not change
        }
        m.accepted(record.value.length, c.payloadBytes(), c.contribution().gradient().length, staleness);
        if (outcome instanceof ShardStepper.Accepted a && a.contributions() == 1 && config.policy().timeoutMs() > 0) {
            long at = getProcessingTimeService().getCurrentProcessingTime() + config.policy().timeoutMs();
            deadline.update(at);
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, at);
        }
        if (outcome instanceof ShardStepper.Applied applied) {
            deadline.clear();
            step(k, key, state, applied, config, m.sampleNorms()); // writes the state once the loop has run
        } else {
            shard.update(state); // the contribution waits in the pending sum
        }
        m.stateBytes(k, state);
    }

    /** Runs a completed step's optimizer loop now, or gathers it into the backend's batch. */
    private void step(String k, ShardKey key, ShardState state, ShardStepper.Applied applied, ModelConfig config,
            boolean sampleNorms) throws Exception {
        float[] before = sampleNorms ? state.params().clone() : null;
        double gradientNorm = sampleNorms ? Clipping.norm(applied.work().grad()) : Double.NaN;
        if (steps.batched()) {
            if (steps.add(k, key, state, applied, config, before, gradientNorm)) {
                flushBatch();
            } else {
                scheduleFlush();
            }
            return;
        }
        long started = System.nanoTime();
        ShardStepper.run(applied.work());
        long micros = (System.nanoTime() - started) / 1000;
        shard.update(state);
        ModelMetrics m = outputs.metrics(key.model());
        m.stepMicros.update(micros);
        steps.metrics().kernelMicros.update(micros);
        if (before != null) {
            m.norms(gradientNorm, ModelMetrics.distance(before, state.params()));
        }
        outputs.update(key, state, config, applied.step());
    }

    /** A new shard at version 0 whose privacy ledger continues the one its key had before a DELETE. */
    private ShardState fresh(float[] values) throws Exception {
        ShardState retired = retiredLedger.value();
        return retired == null ? ShardState.initial(values) : ShardState.initial(values, retired.ledger());
    }

    private void initialize(ShardState state, GradientAdmission.Initialize init, ModelConfig config,
            RawRecord record) throws Exception {
        if (state != null) {
            reject(RejectCode.ALREADY_INITIALIZED, "shard " + init.key() + " is at version " + state.version()
                    + "; INIT only starts a shard", record, init.key().model());
            return;
        }
        ShardState started = fresh(init.values());
        shard.update(started);
        outputs.update(init.key(), started, config, null);
    }

    // ---- the waiting room

    private void hold(RawRecord record) throws Exception {
        GradientAdmission.Refused full = graceMs == 0 || maxWaitingPerShard == 0
                ? new GradientAdmission.Refused(RejectCode.UNKNOWN_MODEL, "no model for key " + getCurrentKey()
                        + " (create it on the control topic)", null)
                : waiting.hold(record, now());
        if (full != null) {
            reject(full, record);
        } else if (waiting.since() == now()) {
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, now() + retryMs());
        }
    }

    /** Offers the waiting records once their model exists; refuses them when the grace period is over. */
    private void drainIfModelKnown() throws Exception {
        Long since = waiting.since();
        if (since == null) {
            return;
        }
        String model = ShardKey.parse((String) getCurrentKey()).model(); // only well-formed records wait
        boolean known = models.get(model) != null;
        if (!known && now() - since < graceMs) {
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, now() + retryMs());
            return;
        }
        for (RawRecord r : waiting.takeAll()) {
            GradientAdmission.Decoded decoded = admission.decode((String) getCurrentKey(), r.value);
            if (!known) {
                reject(RejectCode.UNKNOWN_MODEL, "no model '" + model + "' was created within " + graceMs + " ms", r,
                        null);
            } else if (decoded instanceof GradientAdmission.Parsed parsed) {
                offer(parsed, r);
            } else {
                reject((GradientAdmission.Refused) decoded, r); // waited in a savepoint of an earlier release
            }
        }
    }

    private long retryMs() {
        return Math.max(1, Math.min(200, graceMs));
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        if (steps.contains(timer.getKey())) {
            flushBatch();
        }
        Long due = deadline.value();
        if (due != null && due == timer.getTimestamp()) {
            deadline.clear();
            flushDueStep(timer.getTimestamp());
        }
        drainIfModelKnown();
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // gradstream uses processing time only
    }

    /** The SYNC timeout: applies what arrived for the shard's current version. */
    private void flushDueStep(long timestamp) throws Exception {
        ShardState state = shard.value();
        ShardKey key = ShardKey.parse((String) getCurrentKey());
        if (state == null || models.get(key.model()) == null) {
            return;
        }
        ModelConfig config = config(key.model());
        if (config == null) {
            // E.g. the DP secret is not (yet) mounted after a restore: keep the step and try again later.
            deadline.update(timestamp + 1_000);
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, timestamp + 1_000);
            return;
        }
        ShardStepper.Applied applied = ShardStepper.prepareFlush(state, config.optimizerAt(state.version()),
                config.privacy(key));
        if (applied != null) {
            step(key.toString(), key, state, applied, config, false);
        }
    }

    // ---- control commands

    @Override
    public void processElement2(StreamRecord<RawRecord> element) throws Exception {
        flushBatch(); // a command may change or delete the shards of the batch
        RawRecord record = element.getValue();
        ControlLog.Change change = control.read(record.key, record.value,
                record.topic + "-" + record.partition + "@" + record.offset, new BroadcastModels());
        String model = change.model();
        if (change instanceof ControlLog.Created c) {
            models.put(model, c.spec());
            incarnations.put(model, c.incarnation());
            paused.remove(model);
            configs.put(model, c.config());
            if (!c.config().explicitInit()) {
                publishInitialValues(c.config());
            }
        } else if (change instanceof ControlLog.Updated u) {
            configs.put(model, u.config());
            models.put(model, u.spec());
        } else if (change instanceof ControlLog.Paused) {
            paused.put(model, true);
        } else if (change instanceof ControlLog.Resumed) {
            paused.remove(model);
        } else if (change instanceof ControlLog.Deleted) {
            delete(model);
        } else if (change instanceof ControlLog.Invalid invalid && subtask() == 0) {
            // Every subtask reads every command; subtask 0 reports a problem, once.
            outputs.reject(invalid.code(), invalid.detail(), record, invalid.model(), false, false);
        }
    }

    /**
     * Forgets a model: its broadcast entries, its shards' state and device copies, its metrics. A private shard's
     * privacy ledger stays under its key, so that a model created again with this id goes on spending its budget.
     */
    private void delete(String model) throws Exception {
        models.remove(model);
        paused.remove(model);
        incarnations.remove(model);
        configs.remove(model);
        outputs.forget(model);
        String prefix = model + "/";
        // Flink makes each visited key the current one, so the ledger is kept under the same key.
        KeyedStateBackend<String> keyed = getKeyedStateBackend();
        keyed.applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, SHARD,
                (key, state) -> {
                    ShardState s = key.startsWith(prefix) ? state.value() : null;
                    if (s != null && s.ledger().steps() > 0) {
                        retiredLedger.update(ShardState.initial(new float[0], s.ledger()));
                    }
                    if (s != null) {
                        state.clear();
                    }
                });
        ResidentState resident = steps.resident();
        if (resident != null) {
            resident.discard(key -> key.startsWith(prefix));
        }
    }

    /**
     * Version 0 of a rule-initialised model: each subtask publishes the shards it owns (their key group), so the work
     * is spread and a shard's version 0 leaves before its steps, from the same subtask.
     */
    private void publishInitialValues(ModelConfig config) {
        var task = getRuntimeContext().getTaskInfo();
        for (TensorLayout t : config.tensors().values()) {
            for (int s = 0; s < t.shardCount(); s++) {
                ShardKey key = new ShardKey(config.modelId(), t.name(), s);
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(key.toString(),
                        task.getMaxNumberOfParallelSubtasks(), task.getNumberOfParallelSubtasks()) == subtask()) {
                    outputs.update(key, ShardState.initial(config.initialValues(key, t.shardLength(s))), config, null);
                }
            }
        }
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    /** The broadcast state as {@link ControlLog} sees it. */
    private final class BroadcastModels implements ControlLog.Models {
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
    }

    /** The model's configuration, cached per subtask; null when it cannot be built here (see configProblem). */
    private ModelConfig config(String model) throws Exception {
        ModelSpec spec = models.get(model);
        ModelConfig c = configs.get(model);
        if (c == null || (c.spec() != spec && !c.spec().equals(spec))) {
            // After a restore, or when another subtask's broadcast state is newer than this cache.
            try {
                c = ModelConfig.of(model, spec, incarnations.get(model), limits, System::getenv);
            } catch (IllegalArgumentException e) {
                return null; // a spec accepted at CREATE, e.g. a task manager without the DP secret after a restore
            }
            configs.put(model, c);
        }
        return c;
    }

    private String configProblem(String model) throws Exception {
        try {
            ModelConfig.of(model, models.get(model), incarnations.get(model), limits, System::getenv);
            return "unknown";
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    // ---- batched steps

    private void scheduleFlush() {
        if (!flushScheduled) {
            flushScheduled = true;
            getProcessingTimeService().registerTimer(now() + backend.batchDelayMs(), time -> {
                flushScheduled = false;
                flushBatch();
            });
        }
    }

    /**
     * Runs the gathered steps' optimizer loops as one backend call, then writes each shard back and publishes it under
     * its own key. Keys in a batch are distinct: a shard's next record flushes the batch before it is read.
     */
    void flushBatch() throws Exception {
        if (steps == null || steps.isEmpty()) {
            return;
        }
        Object current = getCurrentKey();
        for (StepBatch.Entry b : steps.run()) {
            setCurrentKey(b.key());
            shard.update(b.state());
            ModelMetrics m = outputs.metrics(b.shardKey().model());
            m.stateBytes(b.key(), b.state());
            if (b.before() != null) {
                m.norms(b.gradientNorm(), ModelMetrics.distance(b.before(), b.state().params()));
            }
            outputs.update(b.shardKey(), b.state(), b.config(), b.result());
        }
        if (current != null) {
            setCurrentKey(current);
        }
    }

    /**
     * Copies the optimizer slots that live only on the device (resident state) into each shard's keyed state, so that
     * the next snapshot holds them. A shard whose state was deleted meanwhile is forgotten on the device.
     */
    private void writeBackResident() throws Exception {
        ResidentState resident = steps == null ? null : steps.resident();
        if (resident == null) {
            return;
        }
        Object current = getCurrentKey();
        for (String key : resident.dirtyKeys()) {
            setCurrentKey(key);
            ShardState state = shard.value();
            if (state == null) {
                resident.discard(key::equals);
            } else {
                resident.writeBack(key, state.optimizer());
                shard.update(state);
            }
        }
        if (current != null) {
            setCurrentKey(current);
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        flushBatch();
        writeBackResident();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        flushBatch();
        writeBackResident();
        super.finish();
    }

    // ---- rejections

    private void reject(GradientAdmission.Refused r, RawRecord record) throws Exception {
        reject(r.code(), r.detail(), record, r.model());
    }

    private void reject(RejectCode code, String detail, RawRecord record, String model) throws Exception {
        outputs.reject(code, detail, record, model, model != null && models.get(model) != null, true);
    }
}
