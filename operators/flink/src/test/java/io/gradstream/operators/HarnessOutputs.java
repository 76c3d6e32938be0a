package io.gradstream.operators;

import io.gradstream.core.shard.ShardState;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.StatusEvent;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;

/** What a shard-optimizer harness emitted and holds: its updates, rejections, status events and a shard's state. */
final class HarnessOutputs {
    private HarnessOutputs() {}

    static List<ParameterUpdate> updates(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ParameterUpdate> h) {
        List<ParameterUpdate> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof ParameterUpdate u) {
                out.add(u);
            }
        }
        return out;
    }

    static List<RejectedRecord> rejected(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        List<RejectedRecord> out = new ArrayList<>();
        var side = h.getSideOutput(Rejections.TAG);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    static List<StatusEvent> status(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        List<StatusEvent> out = new ArrayList<>();
        var side = h.getSideOutput(ShardOptimizerOperator.STATUS);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    static ShardState shard(
            KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> h, String key)
            throws Exception {
        var op = (AbstractStreamOperator<?>) h.getOperator();
        op.setCurrentKey(key);
        return op.getRuntimeContext()
                .getState(new ValueStateDescriptor<>("shard", new ShardStateSerializer()))
                .value();
    }
}
