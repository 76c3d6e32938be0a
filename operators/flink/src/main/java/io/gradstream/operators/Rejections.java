package io.gradstream.operators;

import io.gradstream.schemas.RejectedRecord;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.OutputTag;

/** The side output of refused input; {@code io.gradstream.model.RejectedRecords} builds its records. */
public final class Rejections {
    /** The side output every operator sends refused input to. */
    public static final OutputTag<RejectedRecord> TAG =
            new OutputTag<>("rejected", new AvroTypeInfo<>(RejectedRecord.class));

    private Rejections() {}
}
