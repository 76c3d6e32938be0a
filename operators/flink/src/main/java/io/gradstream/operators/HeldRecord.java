package io.gradstream.operators;

/** A gradient the {@link ShardRouter} holds until its model's CREATE arrives, with when it arrived. A Flink POJO. */
public class HeldRecord {
    public long since;
    public RawRecord record;

    public HeldRecord() {}

    HeldRecord(long since, RawRecord record) {
        this.since = since;
        this.record = record;
    }
}
