package io.gradstream.bench;

import org.apache.kafka.common.record.TimestampType;

/**
 * Where the latency phase splits each update's latency: at the update record's timestamp, which is the job's
 * hand-over to its Kafka producer (CreateTime: the job's sink leaves it to the producer), or, with the
 * parameters topic switched to LogAppendTime for the phase, the broker's append of it.
 */
public enum LatencySplit {
    SEND("the job's send", TimestampType.CREATE_TIME),
    APPEND("the broker's append", TimestampType.LOG_APPEND_TIME);

    private final String point;
    private final TimestampType timestampType;

    LatencySplit(String point, TimestampType timestampType) {
        this.point = point;
        this.timestampType = timestampType;
    }

    /** The type of record timestamp that marks the split. */
    public TimestampType timestampType() {
        return timestampType;
    }

    /** The split point in words, as the output names it ("up to " + point()). */
    public String point() {
        return point;
    }
}
