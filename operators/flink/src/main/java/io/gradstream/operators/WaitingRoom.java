package io.gradstream.operators;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import java.util.ArrayList;
import java.util.List;
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
    static final ListStateDescriptor<RawRecord> WAITING = new ListStateDescriptor<>("waitingForModel",
            (TypeInformation<RawRecord>) TypeExtractor.createTypeInfo(RawRecord.class));
    static final ValueStateDescriptor<Long> SINCE = new ValueStateDescriptor<>("waitingSince", Types.LONG);
    static final ValueStateDescriptor<Long> BYTES = new ValueStateDescriptor<>("waitingBytes", Types.LONG);

    private final ListState<RawRecord> records;
    private final ValueState<Long> since;
    private final ValueState<Long> bytes;
    private final int maxRecordsPerShard;
    private final Limits limits;
    /** Bytes waiting on this subtask; records restored from a checkpoint are not counted (at most 2x the bound). */
    private long here;

    WaitingRoom(ListState<RawRecord> records, ValueState<Long> since, ValueState<Long> bytes, int maxRecordsPerShard,
            Limits limits) {
        this.records = records;
        this.since = since;
        this.bytes = bytes;
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
    GradientAdmission.Refused hold(RawRecord record, long now) throws Exception {
        int count = 0;
        for (RawRecord ignored : stored()) {
            count++;
        }
        if (count >= maxRecordsPerShard) {
            return new GradientAdmission.Refused(RejectCode.UNKNOWN_MODEL, "model not created and " + count
                    + " records already wait", null);
        }
        long size = record.value.length;
        long shard = bytes.value() == null ? 0 : bytes.value();
        if (shard + size > limits.waitingBytesPerShard() || here + size > limits.waitingBytes()) {
            return new GradientAdmission.Refused(RejectCode.TOO_LARGE, "model not created and the waiting room is "
                    + "full: " + shard + " bytes wait for this shard (gradstream.limits.waiting-bytes-per-shard = "
                    + limits.waitingBytesPerShard() + "), " + here + " on this subtask (gradstream.limits.waiting-bytes"
                    + " = " + limits.waitingBytes() + ")", null);
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

    /** Empties the current shard's room and returns its records in arrival order. */
    List<RawRecord> takeAll() throws Exception {
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
