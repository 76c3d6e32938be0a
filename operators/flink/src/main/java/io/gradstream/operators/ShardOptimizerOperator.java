package io.gradstream.operators;

import io.gradstream.schemas.ParameterUpdate;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * Flink's keyed-broadcast operator for {@link ShardOptimizerFunction}, plus what batched steps need and a
 * {@code KeyedBroadcastProcessFunction} cannot do itself: finishing each shard of a batch under that shard's key,
 * emitting outside of a record's call, and flushing the batch before every checkpoint barrier, at the end of input
 * and after the batch delay. Flushing before the barrier is what keeps checkpoints exact: no step is ever half
 * applied (version advanced, parameters not yet) in a snapshot; optimizer slots resident on a device are written
 * back to keyed state at the same point.
 */
public final class ShardOptimizerOperator
        extends CoBroadcastWithKeyedOperator<String, RawRecord, RawRecord, ParameterUpdate> {
    private static final long serialVersionUID = 1L;

    private final ShardOptimizerFunction function;
    private transient boolean flushScheduled;

    public ShardOptimizerOperator(ShardOptimizerFunction function) {
        super(function, ShardOptimizerFunction.BROADCAST_STATES);
        this.function = function;
    }

    @Override
    public void open() throws Exception {
        super.open();
        function.attach(new ShardOptimizerFunction.BatchHost() {
            @Override
            public void runAs(String key, ShardOptimizerFunction.KeyedWork work) throws Exception {
                Object before = getCurrentKey();
                setCurrentKey(key);
                try {
                    work.run();
                } finally {
                    if (before != null) {
                        setCurrentKey(before);
                    }
                }
            }

            @Override
            public void emit(ParameterUpdate update) {
                output.collect(new StreamRecord<>(update));
            }

            @Override
            public <X> void emit(OutputTag<X> tag, X value) {
                output.collect(tag, new StreamRecord<>(value));
            }

            @Override
            public void flushWithin(long delayMs) {
                if (flushScheduled) {
                    return;
                }
                flushScheduled = true;
                long at = getProcessingTimeService().getCurrentProcessingTime() + delayMs;
                getProcessingTimeService().registerTimer(at, time -> {
                    flushScheduled = false;
                    function.flushBatch();
                });
            }
        });
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        function.flushBatch();
        function.writeBackResident();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        function.flushBatch();
        function.writeBackResident();
        super.finish();
    }
}
