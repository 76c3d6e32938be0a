package io.gradstream.operators;

import io.gradstream.core.privacy.SamplingDrift;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.model.ControlLog;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.model.ShardOffer;
import io.gradstream.model.ShardPlacement;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.StatusEvent;
import java.util.Objects;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
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

    /** Model-wide events (a spent privacy budget) for the status topic. */
    public static final OutputTag<StatusEvent> STATUS =
            new OutputTag<>("status", new AvroTypeInfo<>(StatusEvent.class));

    private final long graceMs;
    private final int maxWaitingPerShard;
    private final BackendSettings backend;
    private final Limits limits;
    private double driftFactor = SamplingDrift.DEFAULT_FACTOR;

    private transient ShardStore store;
    private transient WaitingRoom waiting;
    private transient ModelCatalog catalog;
    private transient InternalTimerService<VoidNamespace> timers;
    private transient GradientAdmission admission;
    private transient ControlLog control;
    private transient ShardOutputs outputs;
    private transient StepBatch steps;

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

    /** How far a step's count may drift from the accountant's expected one before a status event says so. */
    public ShardOptimizerOperator driftFactor(double factor) {
        this.driftFactor = new SamplingDrift(factor).factor(); // validates
        return this;
    }

    @Override
    public void open() throws Exception {
        super.open();
        store = new ShardStore(getKeyedStateStore(), getKeyedStateBackend(), this);
        waiting = new WaitingRoom(getKeyedStateStore(), graceMs, maxWaitingPerShard, limits);
        catalog = new ModelCatalog(getOperatorStateBackend(), limits);
        timers = getInternalTimerService("user-timers", VoidNamespaceSerializer.INSTANCE, this);
        admission = new GradientAdmission(limits);
        control = new ControlLog(limits, System::getenv);
        var group = getRuntimeContext().getMetricGroup().addGroup("gradstream");
        outputs = new ShardOutputs(output, group, limits, driftFactor);
        steps = StepBatch.open(backend, group);
    }

    @Override
    public void close() throws Exception {
        if (steps != null) {
            steps.close();
        }
        super.close();
    }

    /** The backend and its batch; for tests. */
    StepBatch steps() {
        return steps;
    }

    // ---- gradients: decode -> (wait) -> admit -> offer -> step -> publish

    @Override
    public void processElement1(StreamRecord<RawRecord> element) throws Exception {
        RawRecord record = element.getValue();
        outputs.load.received(record.value);
        String key = record.keyString(); // the Flink key may carry the placement's salt
        GradientAdmission.Decoded decoded = admission.decode(key, record.value);
        if (decoded instanceof GradientAdmission.Refused r) {
            reject(r.code(), r.detail(), record, r.model());
        } else if (waiting.since() != null
                || !catalog.known(((GradientAdmission.Parsed) decoded).key().model())) {
            // Behind the shard's waiting records, so that its records keep their arrival order.
            GradientAdmission.Refused full = waiting.hold(key, record, now());
            if (full != null) {
                reject(full.code(), full.detail(), record, null);
            }
            releaseWaiting();
        } else {
            offer((GradientAdmission.Parsed) decoded, record);
        }
    }

    private void offer(GradientAdmission.Parsed parsed, RawRecord record) throws Exception {
        ModelCatalog.Admitted admitted = catalog.admit(admission, parsed, record.envelope());
        if (admitted.admission() instanceof GradientAdmission.Refused r) {
            reject(r.code(), r.detail(), record, parsed.key().model());
        } else if (admitted.admission() instanceof GradientAdmission.Initialize init) {
            initialize(init, admitted.config(), record);
        } else {
            contribute(parsed.key(), (GradientAdmission.Contribute) admitted.admission(), admitted.config(), record);
        }
    }

    private void contribute(ShardKey key, GradientAdmission.Contribute c, ModelConfig config, RawRecord record)
            throws Exception {
        ShardOffer.Offered offered = ShardOffer.offer(current(key), c, config, store::fresh);
        if (offered.outcome() instanceof ShardStepper.Rejected r) {
            reject(r.code(), r.detail(), record, key.model());
            return; // the state did not change
        }
        ShardState state = offered.state();
        ModelMetrics m = outputs.metrics(key.model(), config);
        m.accepted(record.value.length, c.payloadBytes(), c.contribution().gradient().length, offered.staleness());
        if (offered.outcome() instanceof ShardStepper.Applied applied) {
            store.deadline(null);
            step(key, state, applied, config, record, m.sampleNorms()); // writes the state once the loop has run
        } else {
            store.put(state); // the contribution waits in the pending sum
            if (((ShardStepper.Accepted) offered.outcome()).contributions() == 1
                    && config.policy().timeoutMs() > 0) {
                store.deadline(now() + config.policy().timeoutMs());
                timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, store.deadline());
            }
        }
        m.stateBytes(key.toString(), state);
    }

    /** The current shard's state, once a step of it still in the batch has run. */
    private ShardState current(ShardKey key) throws Exception {
        if (steps.contains((String) getCurrentKey())) {
            flushBatch();
        }
        return store.get();
    }

    /** Gives a completed step's optimizer loop to the batch, which runs it now unless it gathers several. */
    private void step(
            ShardKey key,
            ShardState state,
            ShardStepper.Applied applied,
            ModelConfig config,
            RawRecord record,
            boolean sampleNorms)
            throws Exception {
        if (applied.work() == null) { // DP-FTRL: the stepper ran the step on this thread, never batched
            outputs.stepped(StepBatch.ranAlready(key, state, applied, config, record), -1);
            store.put(state);
            return;
        }
        if (steps.add((String) getCurrentKey(), key, state, applied, config, record, sampleNorms)) {
            flushBatch();
        } else {
            steps.runLater(getProcessingTimeService(), this::flushBatch);
        }
    }

    private void initialize(GradientAdmission.Initialize init, ModelConfig config, RawRecord record) throws Exception {
        ShardState state = current(init.key());
        if (state != null) {
            reject(
                    RejectCode.ALREADY_INITIALIZED,
                    "shard " + init.key() + " is at version " + state.version() + "; INIT only starts a shard",
                    record,
                    init.key().model());
            return;
        }
        ShardState started = store.fresh(init.values());
        outputs.update(init.key(), started, config, null); // sets the subscribers' copy of a delta stream first
        store.put(started);
    }

    /** Offers the waiting records once their model exists; refuses them when the grace period is over. */
    private void releaseWaiting() throws Exception {
        if (waiting.since() == null) {
            return;
        }
        String model = ShardPlacement.parse((String) getCurrentKey()).model(); // only well-formed records wait
        WaitingRoom.Release release = waiting.release(catalog.known(model), now());
        if (release instanceof WaitingRoom.Wait w) {
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, w.retryAt()); // timers of one time are one
        } else if (release instanceof WaitingRoom.Expired expired) {
            for (RawRecord r : expired.records()) {
                reject(
                        RejectCode.UNKNOWN_MODEL,
                        "no model '" + model + "' was created within " + graceMs + " ms",
                        r,
                        null);
            }
        } else if (release instanceof WaitingRoom.Ready ready) {
            for (RawRecord r : ready.records()) {
                GradientAdmission.Decoded decoded = admission.decode(r.keyString(), r.value);
                if (decoded instanceof GradientAdmission.Parsed parsed) {
                    offer(parsed, r);
                } else if (decoded instanceof GradientAdmission.Refused refused) {
                    reject(refused.code(), refused.detail(), r, refused.model()); // held by an earlier release
                }
            }
        }
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        if (steps.contains(timer.getKey())) {
            flushBatch();
        }
        Long due = store.deadline();
        if (due != null && due == timer.getTimestamp()) {
            store.deadline(null);
            stepDue(timer.getTimestamp());
        }
        releaseWaiting();
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // gradstream uses processing time only
    }

    /** The SYNC timeout: applies what arrived for the shard's current version. */
    private void stepDue(long timestamp) throws Exception {
        ShardState state = store.get();
        ShardKey key = ShardPlacement.parse((String) getCurrentKey());
        if (state == null || !catalog.known(key.model())) {
            return;
        }
        ModelConfig config = catalog.configOrNull(key.model());
        if (config == null) {
            // E.g. the DP secret is not (yet) mounted after a restore: keep the step and try again later.
            store.deadline(timestamp + 1_000);
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, timestamp + 1_000);
            return;
        }
        ShardStepper.Applied applied =
                ShardStepper.prepareFlush(state, config.optimizerAt(state.version()), config.privacy(key));
        if (applied != null) {
            step(key, state, applied, config, null, false);
        }
    }

    // ---- control commands

    @Override
    public void processElement2(StreamRecord<RawRecord> element) throws Exception {
        flushBatch(); // a command may change or delete the shards of the batch
        RawRecord record = element.getValue();
        ControlLog.Change change = control.read(record.key, record.value, record.position(), catalog);
        catalog.apply(change);
        var task = getRuntimeContext().getTaskInfo();
        if (change instanceof ControlLog.Created c && !c.config().explicitInit()) {
            outputs.initialValues(c.config(), task);
        } else if (change instanceof ControlLog.Snapshot) {
            ModelConfig config = catalog.configOrNull(change.model());
            if (config != null) {
                store.forEach(change.model(), (key, state) -> {
                    outputs.update(key, state, config, null, true);
                    return state;
                });
            }
        } else if (change instanceof ControlLog.Deleted) {
            // The model's shards, device copies and metrics go; private ledgers stay (ShardStore#retire).
            outputs.forget(change.model());
            store.retire(change.model());
            steps.forget(change.model());
        } else if (change instanceof ControlLog.Invalid invalid && task.getIndexOfThisSubtask() == 0) {
            // Every subtask reads every command; subtask 0 reports a problem, once.
            outputs.reject(invalid.code(), invalid.detail(), record, invalid.model(), false, false);
        }
    }

    // ---- batched steps and checkpoints

    /**
     * Runs the gathered steps' optimizer loops as one backend call, then writes each shard back and publishes it under
     * its own key. Keys in a batch are distinct: a shard's next record flushes the batch before it is read.
     */
    private void flushBatch() throws Exception {
        if (steps == null || steps.isEmpty()) {
            return;
        }
        for (StepBatch.Ran ran : steps.run()) {
            // Publishing advances a delta stream's copy in the state, so the state is written after it.
            outputs.stepped(ran, steps.batched() ? -1 : steps.lastMicros());
            store.put(ran.entry().key(), ran.entry().state()); // stepped, or as before the step
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        completeSteps();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        completeSteps();
        super.finish();
    }

    /** No snapshot holds a half-applied step, nor optimizer slots that are only on the device. */
    private void completeSteps() throws Exception {
        flushBatch();
        if (steps.resident() != null) {
            store.writeBack(steps.resident());
        }
    }

    private void reject(RejectCode code, String detail, RawRecord record, String model) throws Exception {
        outputs.reject(code, detail, record, model, catalog.known(model), true);
    }
}
