package io.gradstream.operators;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;

/**
 * The load of one shard-optimizer subtask, for the placement's skew: applied steps and received gradient bytes, as
 * counters ({@code subtaskSteps}, {@code subtaskBytes}) and meters over 60 s ({@code subtaskStepsPerSecond},
 * {@code subtaskBytesPerSecond}). Prometheus labels them with {@code subtask_index}; max/mean of their rates over the
 * subtasks is the skew the dashboard shows.
 */
final class SubtaskLoad {
    private final Counter steps;
    private final Counter bytes;

    SubtaskLoad(MetricGroup group) {
        steps = group.counter("subtaskSteps");
        bytes = group.counter("subtaskBytes");
        group.meter("subtaskStepsPerSecond", new MeterView(steps));
        group.meter("subtaskBytesPerSecond", new MeterView(bytes));
    }

    void received(byte[] value) {
        bytes.inc(value == null ? 0 : value.length);
    }

    void stepped() {
        steps.inc();
    }

    long steps() {
        return steps.getCount();
    }
}
