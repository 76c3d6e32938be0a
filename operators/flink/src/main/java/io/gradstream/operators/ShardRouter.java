package io.gradstream.operators;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelLayouts;
import io.gradstream.model.RejectedRecords;
import io.gradstream.model.ShardPlacement;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Routes gradients before the keyBy: a shard of a model whose CREATE it has seen gets the placed key of
 * {@link ShardPlacement} in {@link RawRecord#route}, so that a model's shards spread evenly over the subtasks. A model's
 * placement comes from its first CREATE and is kept after DELETE, so a shard's key (and the privacy ledger under it)
 * never moves. Gradients of a model not created yet are held (bounded, up to the grace period) so that no shard is
 * first keyed one way and then another; a job restored from state that predates placement keeps Flink's hash
 * placement for all its models ({@link PlacementMode}), because its shards already live under their plain keys.
 */
public final class ShardRouter extends AbstractStreamOperator<RawRecord>
        implements TwoInputStreamOperator<RawRecord, RawRecord, RawRecord> {
    private static final long serialVersionUID = 1L;

    /** Model id to its encoded placement, the same on every subtask. */
    static final MapStateDescriptor<String, String> PLACEMENTS =
            new MapStateDescriptor<>("placements", Types.STRING, Types.STRING);

    static final ListStateDescriptor<HeldRecord> HELD =
            new ListStateDescriptor<>("heldRecords", TypeInformation.of(HeldRecord.class));

    private final long graceMs;
    private final int maxHeld;
    private final Limits limits;

    private transient BroadcastState<String, String> placementState;
    private transient ListState<HeldRecord> heldState;
    private transient Map<String, ShardPlacement> placements;
    private transient ArrayDeque<HeldRecord> held;
    private transient long heldBytes;
    private transient PlacedKeys keys;
    private transient boolean timerSet;
    private transient AvroRecords<ControlCommand> commands;
    private transient ModelMetrics unknown;
    private transient GradientAdmission admission;

    /**
     * @param graceMs how long a gradient of a model not created yet is held before it is refused
     * @param maxHeld how many such gradients a subtask holds at most (their bytes are bounded by
     *     {@link Limits#waitingBytes()})
     */
    public ShardRouter(long graceMs, int maxHeld, Limits limits) {
        this.graceMs = graceMs;
        this.maxHeld = maxHeld;
        this.limits = limits;
    }

    /** The most models a router places; beyond it new models keep hash placement (a bound on its state). */
    int maxModels() {
        return 16 * limits.models();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        placementState = getOperatorStateBackend().getBroadcastState(PLACEMENTS);
        heldState = getOperatorStateBackend().getListState(HELD);
        held = new ArrayDeque<>();
        for (HeldRecord h : heldState.get()) {
            held.add(h);
            heldBytes += size(h.record);
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        int maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
        keys = new PlacedKeys(maxParallelism);
        placements = new HashMap<>();
        for (Map.Entry<String, String> e : placementState.entries()) {
            placements.put(e.getKey(), ShardPlacement.decode(e.getKey(), e.getValue(), maxParallelism));
        }
        commands = new AvroRecords<>(ControlCommand.class, limits.controlItems());
        admission = new GradientAdmission(limits);
        scheduleExpiry();
    }

    @Override
    public void processElement1(StreamRecord<RawRecord> element) throws Exception {
        RawRecord record = element.getValue();
        if (PlacementMode.HASH.equals(record.route)) {
            record.route = null; // a job that keeps hash placement (PlacementMode)
            output.collect(element);
            return;
        }
        String text = record.keyString();
        ShardKey key;
        try {
            key = ShardKey.parse(text);
        } catch (IllegalArgumentException e) {
            key = null;
        }
        if (key == null || !key.toString().equals(text)) {
            output.collect(element); // the shard operator refuses it
        } else if (placements.containsKey(key.model())
                || placements.size() >= maxModels()
                || admission.decode(text, record.value) instanceof GradientAdmission.Refused) {
            forward(record, key); // a refused record goes on to be refused with its reason
        } else {
            hold(record);
        }
    }

    private void forward(RawRecord record, ShardKey key) {
        ShardPlacement placement = placements.get(key.model());
        int kg = placement == null ? -1 : placement.keyGroup(key.tensor(), key.shard());
        // A shard outside the model's first layout (or of an unplaced model) keeps its plain key.
        record.route = kg < 0 ? null : keys.placed(key.toString(), kg);
        output.collect(new StreamRecord<>(record));
    }

    private void hold(RawRecord record) {
        if (held.size() >= maxHeld || heldBytes + size(record) > limits.waitingBytes()) {
            reject(record, "model not created and " + held.size() + " records already wait for models");
            return;
        }
        held.add(new HeldRecord(now(), record));
        heldBytes += size(record);
        scheduleExpiry();
    }

    @Override
    public void processElement2(StreamRecord<RawRecord> element) throws Exception {
        RawRecord record = element.getValue();
        ControlCommand cmd;
        try {
            if (record.value == null || record.value.length > limits.recordBytes()) {
                return;
            }
            cmd = commands.decode(record.value);
        } catch (Exception e) {
            return; // the shard operator refuses it
        }
        String model = cmd.getModelId();
        if (cmd.getType() != CommandType.CREATE
                || cmd.getSpec() == null
                || placements.containsKey(model)
                || placements.size() >= maxModels()
                || record.key == null
                || !model.equals(new String(record.key, StandardCharsets.UTF_8))) {
            return;
        }
        ShardPlacement placement;
        try {
            limits.requireName("model", model);
            placement = ShardPlacement.of(
                    model,
                    ModelLayouts.of(cmd.getSpec(), limits),
                    getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks());
        } catch (IllegalArgumentException e) {
            return; // the shard operator refuses the CREATE
        }
        placements.put(model, placement);
        placementState.put(model, placement.encode());
        release();
    }

    /** Sends on the held records whose model now has a placement (all of them once no model can be added). */
    private void release() {
        boolean all = placements.size() >= maxModels();
        for (Iterator<HeldRecord> it = held.iterator(); it.hasNext(); ) {
            RawRecord r = it.next().record;
            ShardKey key = ShardKey.parse(r.keyString()); // only canonical keys are held
            if (all || placements.containsKey(key.model())) {
                it.remove();
                heldBytes -= size(r);
                forward(r, key);
            }
        }
    }

    private void scheduleExpiry() {
        if (!timerSet && !held.isEmpty()) {
            timerSet = true;
            getProcessingTimeService().registerTimer(held.peek().since + graceMs, this::expire);
        }
    }

    private void expire(long time) {
        timerSet = false;
        while (!held.isEmpty() && held.peek().since + graceMs <= time) {
            HeldRecord h = held.poll();
            heldBytes -= size(h.record);
            reject(
                    h.record,
                    "no model '" + ShardKey.parse(h.record.keyString()).model() + "' was created within " + graceMs
                            + " ms");
        }
        scheduleExpiry();
    }

    @Override
    public void finish() throws Exception {
        // The inputs ended: no CREATE can come for what is still held.
        expire(Long.MAX_VALUE - graceMs);
        super.finish();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        heldState.update(new ArrayList<>(held));
    }

    private void reject(RawRecord record, String detail) {
        if (unknown == null) {
            unknown = new ModelMetrics(getRuntimeContext().getMetricGroup().addGroup("gradstream"), "_unknown");
        }
        unknown.rejected(RejectCode.UNKNOWN_MODEL);
        output.collect(
                Rejections.TAG,
                new StreamRecord<>(RejectedRecords.of(
                        RejectCode.UNKNOWN_MODEL,
                        detail,
                        new RejectedRecords.Source(
                                record.topic, record.partition, record.offset, record.key, record.value),
                        null,
                        limits)));
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    private static long size(RawRecord r) {
        return (r.value == null ? 0 : r.value.length) + (r.key == null ? 0 : r.key.length);
    }

    /** How many gradients wait for their model; for tests. */
    List<HeldRecord> held() {
        return List.copyOf(held);
    }
}
