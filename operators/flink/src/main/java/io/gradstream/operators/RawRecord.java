package io.gradstream.operators;

import java.util.Arrays;

/**
 * A Kafka record as the job receives it, before decoding: key and value bytes with where they came from, so a record
 * the job refuses can go to the rejected topic unchanged. A Flink POJO (public fields, no-arg constructor).
 */
public class RawRecord {
    public byte[] key;
    public byte[] value;
    public String topic = "";
    public int partition = -1;
    public long offset = -1;

    public RawRecord() {}

    public RawRecord(byte[] key, byte[] value, String topic, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    /** The record key as text ({@code model/tensor/shard} for gradients), or "" when it has none. */
    public String keyString() {
        return key == null ? "" : new String(key, java.nio.charset.StandardCharsets.UTF_8);
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
                && r.offset == offset;
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
