package io.gradstream.model;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Builds the dead-letter records of the rejected topic: reason, detail and the input as it arrived. A value longer
 * than {@link Limits#rejectedValueBytes()} is kept as that prefix and named by its length and SHA-256 in the detail;
 * keys and details are cut likewise, so that a rejection always fits its topic's record size (a refused record near
 * the broker's limit plus metadata would not).
 */
public final class RejectedRecords {
    /** Longest detail text and original key kept. */
    static final int MAX_TEXT = 4096;

    private RejectedRecords() {}

    /** Where a refused record was read and what it held. */
    public record Source(String topic, int partition, long offset, byte[] key, byte[] value) {}

    public static RejectedRecord of(RejectCode code, String detail, Source in, String modelId, Limits limits) {
        byte[] value = in.value() == null ? new byte[0] : in.value();
        String text = detail == null ? "" : detail;
        if (text.length() > 2 * MAX_TEXT) { // before the notes below, which must survive
            text = text.substring(0, 2 * MAX_TEXT) + "...";
        }
        if (value.length > limits.rejectedValueBytes()) {
            text += " [original value: " + value.length + " bytes, SHA-256 " + sha256(value) + "; the first "
                    + limits.rejectedValueBytes() + " bytes are kept]";
            value = Arrays.copyOf(value, limits.rejectedValueBytes());
        }
        byte[] key = in.key();
        if (key != null && key.length > MAX_TEXT) {
            text += " [original key: " + key.length + " bytes, SHA-256 " + sha256(key) + "; the first " + MAX_TEXT
                    + " bytes are kept]";
            key = Arrays.copyOf(key, MAX_TEXT);
        }
        String model = modelId == null || modelId.length() <= MAX_TEXT ? modelId : modelId.substring(0, MAX_TEXT);
        return RejectedRecord.newBuilder()
                .setReason(RejectReason.valueOf(code.name()))
                .setDetail(text)
                .setSourceTopic(in.topic() == null ? "" : in.topic())
                .setPartition(in.partition())
                .setOffset(in.offset())
                .setOriginalKey(key == null ? null : ByteBuffer.wrap(key))
                .setOriginalValue(ByteBuffer.wrap(value))
                .setModelId(model)
                .setRejectedAtMs(System.currentTimeMillis())
                .build();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
