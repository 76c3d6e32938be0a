package io.gradstream.operators;

import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.model.ShardPlacement;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.KeyContext;

/**
 * A shard's keyed state: its {@link ShardState}, the deadline of the SYNC step it gathers, and the privacy ledger its
 * key had when its model was deleted. Calls act on the operator's current key unless they name another.
 */
final class ShardStore {
    static final ValueStateDescriptor<ShardState> SHARD =
            new ValueStateDescriptor<>("shard", new ShardStateSerializer());
    static final ValueStateDescriptor<Long> DEADLINE = new ValueStateDescriptor<>("syncDeadline", Types.LONG);
    /** The privacy ledger a shard's key had when its model was deleted: a model created again continues it. */
    static final ValueStateDescriptor<ShardState> RETIRED_LEDGER =
            new ValueStateDescriptor<>("retiredLedger", new ShardStateSerializer());

    private final ValueState<ShardState> shard;
    private final ValueState<Long> deadline;
    private final ValueState<ShardState> retired;
    private final KeyedStateBackend<String> keyed;
    private final KeyContext keys;

    ShardStore(KeyedStateStore states, KeyedStateBackend<String> keyed, KeyContext keys) {
        this.shard = states.getState(SHARD);
        this.deadline = states.getState(DEADLINE);
        this.retired = states.getState(RETIRED_LEDGER);
        this.keyed = keyed;
        this.keys = keys;
    }

    ShardState get() throws Exception {
        return shard.value();
    }

    void put(ShardState state) throws Exception {
        shard.update(state);
    }

    /** Writes {@code state} under {@code key}, which becomes the current key for that time only. */
    void put(String key, ShardState state) throws Exception {
        Object current = keys.getCurrentKey();
        keys.setCurrentKey(key);
        shard.update(state);
        if (current != null) {
            keys.setCurrentKey(current);
        }
    }

    /** A new shard at version 0 whose privacy ledger continues the one its key had before a DELETE. */
    ShardState fresh(float[] values) {
        ShardState before;
        try {
            before = retired.value();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return before == null
                ? ShardState.initial(values)
                : ShardState.initial(values, before.ledger(), before.treeLedger());
    }

    /** When the SYNC step the shard gathers is due, or null. */
    Long deadline() throws Exception {
        return deadline.value();
    }

    void deadline(Long at) throws Exception {
        if (at == null) {
            deadline.clear();
        } else {
            deadline.update(at);
        }
    }

    /**
     * Forgets the shards of a deleted model. A private shard's privacy ledger stays under its key, so that a model
     * created again with this id goes on spending its budget.
     */
    void retire(String model) throws Exception {
        String prefix = model + "/";
        // Flink makes each visited key the current one, so the ledger is kept under the same key.
        keyed.applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, SHARD, (key, state) -> {
            ShardState s = key.startsWith(prefix) ? state.value() : null;
            if (s != null && (s.ledger().steps() > 0 || s.treeLedger().steps() > 0)) {
                retired.update(ShardState.initial(new float[0], s.ledger(), s.treeLedger()));
            }
            if (s != null) {
                state.clear();
            }
        });
    }

    /**
     * Calls {@code visit} with each shard of {@code model} on this subtask and stores what it returns (the shard's
     * state, changed or not).
     */
    void forEach(String model, ShardVisitor visit) throws Exception {
        String prefix = model + "/";
        keyed.applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, SHARD, (key, state) -> {
            ShardState s = key.startsWith(prefix) ? state.value() : null;
            if (s != null) {
                state.update(visit.visit(ShardPlacement.parse(key), s));
            }
        });
    }

    /** What {@link #forEach} does to a shard. */
    interface ShardVisitor {
        ShardState visit(ShardKey key, ShardState state) throws Exception;
    }

    /**
     * Copies the optimizer slots that live only on the device (resident state) into each shard's keyed state, so that
     * the next snapshot holds them. A shard whose state was deleted meanwhile is forgotten on the device.
     */
    void writeBack(ResidentState resident) throws Exception {
        Object current = keys.getCurrentKey();
        for (String key : resident.dirtyKeys()) {
            keys.setCurrentKey(key);
            ShardState state = shard.value();
            if (state == null) {
                resident.discard(key::equals);
            } else {
                resident.writeBack(key, state.optimizer());
                shard.update(state);
            }
        }
        if (current != null) {
            keys.setCurrentKey(current);
        }
    }
}
