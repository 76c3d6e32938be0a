package io.gradstream.operators;

import io.gradstream.model.ShardPlacement;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * Finds, for a shard key and a target key group, the smallest salt whose placed key Flink hashes into that group, and
 * remembers the last {@value #CAPACITY} answers. A salt is found after 128 tries on average (max parallelism 128), and
 * the chance that none of {@value #MAX_SALT} salts fits is below 1e-300.
 */
final class PlacedKeys {
    static final int CAPACITY = 1 << 16;
    static final int MAX_SALT = 1 << 20;

    private final int maxParallelism;
    private final Map<String, String> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > CAPACITY;
        }
    };

    PlacedKeys(int maxParallelism) {
        this.maxParallelism = maxParallelism;
    }

    /** The key under which {@code shardKey} lands in key group {@code keyGroup}. */
    String placed(String shardKey, int keyGroup) {
        String hit = cache.get(shardKey);
        if (hit != null) {
            return hit;
        }
        String key = find(shardKey, keyGroup, maxParallelism);
        cache.put(shardKey, key);
        return key;
    }

    static String find(String shardKey, int keyGroup, int maxParallelism) {
        for (int salt = 0; salt < MAX_SALT; salt++) {
            String key = ShardPlacement.key(shardKey, salt);
            if (KeyGroupRangeAssignment.assignToKeyGroup(key, maxParallelism) == keyGroup) {
                return key;
            }
        }
        throw new IllegalStateException("no salt puts " + shardKey + " in key group " + keyGroup);
    }
}
