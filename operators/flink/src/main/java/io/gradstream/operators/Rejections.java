package io.gradstream.operators;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.nio.ByteBuffer;
import org.apache.flink.util.OutputTag;

/** Builds the dead-letter records of the rejected topic: reason, detail and the input exactly as it arrived. */
public final class Rejections {
    /** The side output every operator sends refused input to. */
    public static final OutputTag<RejectedRecord> TAG = new OutputTag<>("rejected",
            new org.apache.flink.formats.avro.typeutils.AvroTypeInfo<>(RejectedRecord.class));

    private Rejections() {
    }

    public static RejectedRecord of(RejectCode code, String detail, RawRecord input, String modelId) {
        return RejectedRecord.newBuilder()
                .setReason(RejectReason.valueOf(code.name()))
                .setDetail(detail == null ? "" : detail)
                .setSourceTopic(input.topic == null ? "" : input.topic)
                .setPartition(input.partition)
                .setOffset(input.offset)
                .setOriginalKey(input.key == null ? null : ByteBuffer.wrap(input.key))
                .setOriginalValue(ByteBuffer.wrap(input.value == null ? new byte[0] : input.value))
                .setModelId(modelId)
                .setRejectedAtMs(System.currentTimeMillis())
                .build();
    }
}
