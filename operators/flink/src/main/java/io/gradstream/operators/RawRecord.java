package io.gradstream.operators;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.model.GradientAdmission;
import java.util.Arrays;

/**
 * A Kafka record as the job receives it, before decoding: key and value bytes with where they came from, so a record
 * the job refuses can go to the rejected topic unchanged, and its signature header. A Flink POJO (public fields, no-arg
 * constructor); the signature fields were added later, so records restored from older state have none.
 */
public class RawRecord {
    public byte[] key;
    public byte[] value;
    public String topic = "";
    public int partition = -1;
    public long offset = -1;
    /**
     * The value of the record's first {@value RecordSignature#HEADER} header (null when it has none), cut to
     * {@link RecordSignature#BYTES} + 1 bytes: a longer one is refused anyway, and a record that waits for its model
     * must not hold more than its value.
     */
    public byte[] signature;
    /** How many {@value RecordSignature#HEADER} headers the record has; more than one is refused. */
    public int signatureHeaders;
    /**
     * The key the job's keyBy uses when the {@link ShardRouter} placed the shard ({@code model/tensor/shard#salt}), or
     * null for the record's own key; never part of what is refused or published.
     */
    public String route;

    public RawRecord() {}

    public RawRecord(byte[] key, byte[] value, String topic, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    /** Notes one {@value RecordSignature#HEADER} header of the record (Kafka allows a null header value). */
    public void addSignatureHeader(byte[] headerValue) {
        signatureHeaders++;
        if (signatureHeaders == 1) {
            byte[] v = headerValue == null ? new byte[0] : headerValue;
            signature = Arrays.copyOf(v, Math.min(v.length, RecordSignature.BYTES + 1));
        }
    }

    /** What the record's signature covers and what its headers said, for admission. */
    public GradientAdmission.Envelope envelope() {
        return new GradientAdmission.Envelope(key, value, signature, signatureHeaders);
    }

    /** The record key as text ({@code model/tensor/shard} for gradients), or "" when it has none. */
    public String keyString() {
        return key == null ? "" : new String(key, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The Flink key of the record: its placed key, or its own key. */
    public String routeKey() {
        return route != null ? route : keyString();
    }

    @Override
    public String toString() {
        return topic + "-" + partition + "@" + offset + " key=" + keyString() + " ("
                + (value == null ? 0 : value.length) + " bytes)";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RawRecord r
                && Arrays.equals(r.key, key)
                && Arrays.equals(r.value, value)
                && r.topic.equals(topic)
                && r.partition == partition
                && r.offset == offset
                && Arrays.equals(r.signature, signature)
                && r.signatureHeaders == signatureHeaders;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(value) * 31 + Long.hashCode(offset);
    }

    /** Where the record was read: {@code topic-partition@offset}. */
    public String position() {
        return topic + "-" + partition + "@" + offset;
    }
}
