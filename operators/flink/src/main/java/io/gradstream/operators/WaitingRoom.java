package io.gradstream.operators;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.TypeExtractor;

/**
 * Well-formed gradient records whose model has not been created yet, held in the current shard's keyed state in
 * arrival order, bounded in count and bytes per shard and in bytes per subtask. Gradients and commands are read
 * concurrently, so a worker's first gradients may overtake its model's CREATE; they wait here for a grace period.
 */
final class WaitingRoom {
    @SuppressWarnings("unchecked")
    static final ListStateDescriptor<RawRecord> WAITING = new ListStateDescriptor<>(
            "waitingForModel", (TypeInformation<RawRecord>) TypeExtractor.createTypeInfo(RawRecord.class));

    static final ValueStateDescriptor<Long> SINCE = new ValueStateDescriptor<>("waitingSince", Types.LONG);
    static final ValueStateDescriptor<Long> BYTES = new ValueStateDescriptor<>("waitingBytes", Types.LONG);

    private final ListState<RawRecord> records;
    private final ValueState<Long> since;
    private final ValueState<Long> bytes;
    private final long graceMs;
    private final int maxRecordsPerShard;
    private final Limits limits;
    /** Bytes waiting on this subtask; records restored from a checkpoint are not counted (at most 2x the bound). */
    private long here;

    /** What the waiting records of the current shard do next: go on waiting, be offered, or be refused. */
    sealed interface Release {}

    /** The model is still unknown and the grace period runs: ask again at {@code retryAt}. */
    record Wait(long retryAt) implements Release {}

    /** The model exists: the room is emptied and its records are offered, in arrival order. */
    record Ready(List<RawRecord> records) implements Release {}

    /** The grace period is over and the model still unknown: the room is emptied and its records refused. */
    record Expired(List<RawRecord> records) implements Release {}

    /**
     * @param graceMs how long a record for a model that does not exist (yet) waits; 0 disables the room
     * @param maxRecordsPerShard how many records a shard holds at most; 0 disables the room
     */
    WaitingRoom(KeyedStateStore states, long graceMs, int maxRecordsPerShard, Limits limits) {
        if (graceMs < 0 || maxRecordsPerShard < 0) {
            throw new IllegalArgumentException("grace and waiting capacity must be >= 0");
        }
        this.records = states.getListState(WAITING);
        this.since = states.getState(SINCE);
        this.bytes = states.getState(BYTES);
        this.graceMs = graceMs;
        this.maxRecordsPerShard = maxRecordsPerShard;
        this.limits = limits;
    }

    /** When the current shard's first waiting record arrived, or null when none waits. */
    Long since() throws Exception {
        return since.value();
    }

    /**
     * Holds {@code record} for the current shard, or says why not.
     *
     * @param now the processing time; the first record of an empty room starts its grace period
     * @return null when held; otherwise the refusal (the room is full)
     */
    GradientAdmission.Refused hold(String key, RawRecord record, long now) throws Exception {
        if (graceMs == 0 || maxRecordsPerShard == 0) {
            return new GradientAdmission.Refused(
                    RejectCode.UNKNOWN_MODEL, "no model for key " + key + " (create it on the control topic)", null);
        }
        int count = 0;
        for (RawRecord ignored : stored()) {
            count++;
        }
        if (count >= maxRecordsPerShard) {
            return new GradientAdmission.Refused(
                    RejectCode.UNKNOWN_MODEL, "model not created and " + count + " records already wait", null);
        }
        long size = record.value.length;
        long shard = bytes.value() == null ? 0 : bytes.value();
        if (shard + size > limits.waitingBytesPerShard() || here + size > limits.waitingBytes()) {
            return new GradientAdmission.Refused(
                    RejectCode.TOO_LARGE,
                    "model not created and the waiting room is "
                            + "full: " + shard
                            + " bytes wait for this shard (gradstream.limits.waiting-bytes-per-shard = "
                            + limits.waitingBytesPerShard() + "), " + here
                            + " on this subtask (gradstream.limits.waiting-bytes"
                            + " = " + limits.waitingBytes() + ")",
                    null);
        }
        records.add(record);
        bytes.update(shard + size);
        here += size;
        if (since.value() == null) {
            since.update(now);
        }
        return null;
    }

    /** The held records; the operator's raw list state gives null rather than an empty list. */
    private Iterable<RawRecord> stored() throws Exception {
        Iterable<RawRecord> held = records.get();
        return held == null ? List.of() : held;
    }

    /**
     * What the current shard's waiting records do now that {@code known} says whether their model exists.
     *
     * @return null when none waits
     */
    Release release(boolean known, long now) throws Exception {
        Long first = since.value();
        if (first == null) {
            return null;
        }
        if (!known && now - first < graceMs) {
            return new Wait(now + retryMs());
        }
        return known ? new Ready(takeAll()) : new Expired(takeAll());
    }

    private long retryMs() {
        return Math.max(1, Math.min(200, graceMs));
    }

    /** Empties the current shard's room and returns its records in arrival order. */
    private List<RawRecord> takeAll() throws Exception {
        List<RawRecord> out = new ArrayList<>();
        stored().forEach(out::add);
        Long shard = bytes.value();
        here = Math.max(0, here - (shard == null ? 0 : shard));
        records.clear();
        since.clear();
        bytes.clear();
        return out;
    }
}
