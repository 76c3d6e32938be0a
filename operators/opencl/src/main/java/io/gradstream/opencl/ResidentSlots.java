package io.gradstream.opencl;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jocl.cl_mem;

/**
 * The device-resident optimizer slots of {@link OpenClStepBackend}: one device buffer per slot of each shard, tagged
 * with the host state's step count, within a byte budget. Clean entries (the host holds the same values) are evicted
 * least recently used to make room; dirty ones stay until written back. Used on the task thread only.
 */
final class ResidentSlots {

    /** One shard's slots on the device. {@code names[s]} is the state's name of slot {@code s}, null if unused. */
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
     * A new, untagged entry for {@code key} (replacing any it had), making room by evicting clean entries that
     * {@code busy} does not name; null when the budget cannot hold it.
     */
    Entry allocate(String key, int length, String[] names, Set<String> busy) {
        drop(key);
        int count = 0;
        for (String n : names) {
            if (n != null) {
                count++;
            }
        }
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
                if (names[s] != null) {
                    slots[s] = ctx.allocate(4L * Math.max(length, 1));
                }
            }
        } catch (RuntimeException failed) {
            release(e);
            throw failed;
        }
        entries.put(key, e);
        used += bytes;
        return e;
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
