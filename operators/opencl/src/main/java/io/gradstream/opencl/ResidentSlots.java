package io.gradstream.opencl;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.optim.ResidentState.StateLostException;
import io.gradstream.core.optim.ShardStep;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_mem;

/**
 * The device-resident optimizer slots of {@link OpenClStepBackend}: one device buffer per slot of each shard, tagged
 * with the host state's step count, within a byte budget. Clean entries (the host holds the same values) are evicted
 * least recently used to make room; dirty ones stay until written back. Used on the task thread only.
 *
 * <p>The {@link ResidentState} rules live here: which entry a step uses, writing dirty slots back, and what a failed
 * batch leaves (docs/opencl.md).
 */
final class ResidentSlots {

    /** One shard's slots on the device. {@code names[s]} is the state's name of slot {@code s}. */
    static final class Entry {
        final String key;
        final int length;
        final String[] names;
        final cl_mem[] slots;
        final long bytes;
        /** The host state's step count these slots belong to. */
        long step = -1;
        /** Whether these slots are newer than the host state's arrays. */
        boolean dirty;

        private Entry(String key, int length, String[] names, cl_mem[] slots, long bytes) {
            this.key = key;
            this.length = length;
            this.names = names;
            this.slots = slots;
            this.bytes = bytes;
        }

        boolean holds(int length, String[] names) {
            return this.length == length && java.util.Arrays.equals(this.names, names);
        }
    }

    private final ClContext ctx;
    private final long capacity;
    /** Volatile: a metrics thread reads it. */
    private volatile long used;
    /** In access order: the first entries are the least recently used. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);

    ResidentSlots(ClContext ctx, long capacityBytes) {
        this.ctx = ctx;
        this.capacity = capacityBytes;
    }

    Entry get(String key) {
        return entries.get(key);
    }

    /**
     * A new, untagged entry for {@code key} with slots {@code names} (replacing any it had), making room by evicting
     * clean entries that {@code busy} does not name; null when the budget cannot hold it.
     */
    private Entry allocate(String key, int length, String[] names, Set<String> busy) {
        drop(key);
        int count = names.length;
        long bytes = 4L * Math.max(length, 1) * count;
        long evictable = 0;
        for (Entry e : entries.values()) {
            if (!e.dirty && !busy.contains(e.key)) {
                evictable += e.bytes;
            }
        }
        if (count == 0 || used - evictable + bytes > capacity) {
            return null; // evict nothing that would not make room
        }
        Iterator<Entry> lru = entries.values().iterator();
        while (used + bytes > capacity && lru.hasNext()) {
            Entry e = lru.next();
            if (!e.dirty && !busy.contains(e.key)) {
                lru.remove();
                used -= e.bytes;
                release(e);
            }
        }
        cl_mem[] slots = new cl_mem[names.length];
        Entry e = new Entry(key, length, names.clone(), slots, bytes);
        try {
            for (int s = 0; s < names.length; s++) {
                slots[s] = ctx.allocate(4L * Math.max(length, 1));
            }
        } catch (RuntimeException failed) {
            release(e);
            throw failed;
        }
        entries.put(key, e);
        used += bytes;
        return e;
    }

    /**
     * The entries the shards of {@code group} step with (null for a shard that is not kept resident): see
     * {@link #entryFor}. Keys of the whole batch are never evicted to make room.
     */
    Entry[] entriesFor(StagedGroup group, Set<String> batchKeys) {
        Entry[] out = new Entry[group.count()];
        for (int j = 0; j < out.length; j++) {
            ShardStep s = group.shards().get(j);
            if (s.key() != null) {
                out[j] = entryFor(s, group.slotNames(), batchKeys);
            }
        }
        return out;
    }

    /**
     * The entry shard {@code s} steps with: its own if tagged with the state's step and holding the same slots (then
     * the device copy is current), else a fresh one loaded from the host this step, or null when the budget has no
     * room. A dirty entry that no longer fits the state is written back first when it belongs to the same step (the
     * slot set changed), and is an error when the state moved on without it.
     */
    private Entry entryFor(ShardStep s, String[] names, Set<String> batchKeys) {
        if (names.length == 0) {
            return null; // nothing to keep (SGD without momentum): such a shard is never dirty
        }
        Entry e = get(s.key());
        if (e != null && e.step == s.state().step() && e.holds(s.length(), names)) {
            return e;
        }
        if (e != null && e.dirty) {
            if (e.step != s.state().step()) {
                throw new StateLostException(
                        "shard " + s.key() + ": the device holds the slots of step " + e.step
                                + " but the state was stepped to " + s.state().step() + " without them",
                        null);
            }
            readInto(e, s.state());
            e.dirty = false;
        }
        return allocate(s.key(), s.length(), names, batchKeys);
    }

    /** {@link ResidentState#writeBack(String, OptimizerState)}. */
    void writeBack(String key, OptimizerState state) {
        Entry e = get(key);
        if (e == null || !e.dirty) {
            return;
        }
        if (e.step != state.step()) {
            throw new IllegalStateException("shard " + key + ": the device holds the slots of step " + e.step
                    + " but the state given is at step " + state.step());
        }
        try {
            readInto(e, state);
        } catch (RuntimeException failure) {
            drop(key);
            throw new StateLostException(
                    "reading the optimizer slots of shard " + key + " back from "
                            + ctx.device().name() + " failed",
                    failure);
        }
        e.dirty = false;
    }

    /**
     * After a failed batch its shards' entries are dropped and the host's arrays serve the next step. A dirty entry
     * first goes back to the host: before the copies of the new slots began it still holds exactly the slots of the
     * state's step, so the batch can be recomputed (on the CPU). A dirty entry that cannot be read back, or may be
     * overwritten already, was the only copy: that is a {@link StateLostException}.
     *
     * @return what the caller throws: {@code failure}, or a {@link StateLostException} caused by it
     */
    RuntimeException forget(List<ShardStep> batch, RuntimeException failure, boolean copiesBegan) {
        List<String> lost = new ArrayList<>();
        for (ShardStep s : batch) {
            Entry e = s.key() == null ? null : get(s.key());
            if (e == null) {
                continue;
            }
            if (e.dirty) {
                boolean saved = false;
                if (!copiesBegan && e.step == s.state().step()) {
                    try {
                        readInto(e, s.state());
                        saved = true;
                    } catch (RuntimeException unreadable) {
                        failure.addSuppressed(unreadable);
                    }
                }
                if (!saved) {
                    lost.add(s.key());
                }
            }
            drop(s.key());
        }
        if (lost.isEmpty() || failure instanceof StateLostException) {
            return failure;
        }
        return new StateLostException(
                "OpenCL step on " + ctx.device().name() + " failed and the newest optimizer " + "slots of "
                        + lost.size() + " shard(s) (e.g. " + lost.get(0) + ") were only on the device",
                failure);
    }

    /** Reads {@code e}'s slots into the state's slot arrays of the same names. */
    private void readInto(Entry e, OptimizerState state) {
        for (int slot = 0; slot < e.names.length; slot++) {
            float[] target = state.tensor(e.names[slot]);
            if (target == null || target.length != e.length) {
                throw new IllegalStateException("shard " + e.key + " has no slot " + e.names[slot] + " of " + e.length
                        + " elements to write back into");
            }
            if (e.length > 0) {
                CL.clEnqueueReadBuffer(
                        ctx.queue(), e.slots[slot], CL.CL_TRUE, 0, 4L * e.length, Pointer.to(target), 0, null, null);
            }
        }
    }

    /** Forgets {@code key}'s entry; returns whether it was dirty (held the only copy of its slots). */
    boolean drop(String key) {
        Entry e = entries.remove(key);
        if (e == null) {
            return false;
        }
        used -= e.bytes;
        release(e);
        return e.dirty;
    }

    /** Forgets the entries whose keys match. */
    void discard(Predicate<String> keys) {
        for (String k : new ArrayList<>(entries.keySet())) {
            if (keys.test(k)) {
                drop(k);
            }
        }
    }

    List<String> dirtyKeys() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            if (e.getValue().dirty) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    long usedBytes() {
        return used;
    }

    int size() {
        return entries.size();
    }

    private void release(Entry e) {
        for (cl_mem m : e.slots) {
            if (m != null) {
                ctx.release(m);
            }
        }
    }
}
