package io.gradstream.operators;

import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Decides once per job whether shards are placed, chained to the gradients' source so that it sees whether that
 * source's task was restored: a job restored from state without this decision predates placement, its shards live
 * under their plain keys, and it keeps hash placement by marking every gradient with {@link #HASH} as its route. The
 * decision is kept in the job's state, so later savepoints keep it. (The {@link ShardRouter} cannot tell by itself: an
 * operator missing from a savepoint is not told that the job was restored unless a stateful one shares its task.)
 */
public final class PlacementMode extends AbstractStreamOperator<RawRecord>
        implements OneInputStreamOperator<RawRecord, RawRecord> {
    private static final long serialVersionUID = 1L;

    /** The route of a gradient whose job keeps hash placement. */
    public static final String HASH = "";

    static final ListStateDescriptor<Boolean> MODE = new ListStateDescriptor<>("placementMode", Types.BOOLEAN);

    private transient ListState<Boolean> state;
    private transient boolean balanced;

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        state = getOperatorStateBackend().getUnionListState(MODE);
        Boolean saved = null;
        for (Boolean b : state.get()) {
            saved = b;
        }
        balanced = saved != null ? saved : !context.isRestored();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        state.update(List.of(balanced));
    }

    @Override
    public void processElement(StreamRecord<RawRecord> element) {
        if (!balanced) {
            element.getValue().route = HASH;
        }
        output.collect(element);
    }

    boolean balanced() {
        return balanced;
    }
}
