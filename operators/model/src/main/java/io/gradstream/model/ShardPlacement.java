package io.gradstream.model;

import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.TensorLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where a model's shards go: the key group each shard targets, from its ordinal j among the model's N shards
 * (tensors in spec order), {@code kg(j) = (offset(model) + floor(j * M / N)) mod M} for max parallelism M. Flink gives
 * subtask i of p the key groups {@code kg} with {@code floor(kg * p / M) = i}, a run of {@code floor(M/p)} or
 * {@code ceil(M/p)} consecutive groups, and any run of L groups holds {@code floor(L*N/M)} or {@code ceil(L*N/M)}
 * shards, so a subtask holds at most {@code ceil(ceil(M/p) * N / M)} shards ({@code ceil(N/p)} when p divides M).
 * The placement is computed from a model's first layout and kept, so a shard's key never changes.
 */
public final class ShardPlacement {
    /** Separates a shard key from the salt that moves it into its target key group. */
    public static final char SALT = '#';

    private final String model;
    private final int maxParallelism;
    private final int shards;
    /** First ordinal of each tensor and its shard count, in spec order. */
    private final Map<String, int[]> tensors;

    private ShardPlacement(String model, int maxParallelism, Map<String, int[]> tensors, int shards) {
        this.model = model;
        this.maxParallelism = maxParallelism;
        this.tensors = tensors;
        this.shards = shards;
    }

    /** The placement of a model with these layouts (in spec order), for {@code maxParallelism} key groups. */
    public static ShardPlacement of(String model, Map<String, TensorLayout> layouts, int maxParallelism) {
        List<String> names = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        layouts.values().forEach(t -> {
            names.add(t.name());
            counts.add(t.shardCount());
        });
        return of(model, names, counts, maxParallelism);
    }

    private static ShardPlacement of(String model, List<String> names, List<Integer> counts, int maxParallelism) {
        ShardKey.requireName("model", model);
        if (maxParallelism < 1) {
            throw new IllegalArgumentException("max parallelism must be >= 1, got " + maxParallelism);
        }
        Map<String, int[]> tensors = new LinkedHashMap<>();
        long total = 0;
        for (int i = 0; i < names.size(); i++) {
            int count = counts.get(i);
            if (count < 0 || total + count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("bad shard count " + count + " for tensor " + names.get(i));
            }
            if (tensors.put(names.get(i), new int[] {(int) total, count}) != null) {
                throw new IllegalArgumentException("tensor " + names.get(i) + " is listed twice");
            }
            total += count;
        }
        return new ShardPlacement(model, maxParallelism, Collections.unmodifiableMap(tensors), (int) total);
    }

    /** The key group of the model's first shard, spreading models over the subtasks. */
    public static int offset(String model, int maxParallelism) {
        return Math.floorMod(model.hashCode() * 0x9E3779B1, maxParallelism);
    }

    /** The target key group of ordinal {@code j} among {@code n} shards: the formula of the class comment. */
    public static int keyGroup(int offset, long j, long n, int maxParallelism) {
        return (int) ((offset + j * maxParallelism / n) % maxParallelism);
    }

    /** Flink's subtask of key group {@code kg} at parallelism {@code p} (KeyGroupRangeAssignment's formula). */
    public static int subtask(int kg, int p, int maxParallelism) {
        return (int) ((long) kg * p / maxParallelism);
    }

    /** The key group shard {@code shard} of {@code tensor} targets, or -1 when this layout does not have it. */
    public int keyGroup(String tensor, int shard) {
        int[] t = tensors.get(tensor);
        if (t == null || shard < 0 || shard >= t[1]) {
            return -1;
        }
        return keyGroup(offset(model, maxParallelism), (long) t[0] + shard, shards, maxParallelism);
    }

    public int shards() {
        return shards;
    }

    public String model() {
        return model;
    }

    /** The placement as text: tensors and shard counts, one {@code count:name} per line (names have no controls). */
    public String encode() {
        StringBuilder b = new StringBuilder();
        tensors.forEach((name, t) -> b.append(t[1]).append(':').append(name).append('\n'));
        return b.toString();
    }

    /** Reads {@link #encode()}. */
    public static ShardPlacement decode(String model, String text, int maxParallelism) {
        List<String> names = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isEmpty()) {
                int colon = line.indexOf(':');
                counts.add(Integer.parseInt(line.substring(0, colon)));
                names.add(line.substring(colon + 1));
            }
        }
        return of(model, names, counts, maxParallelism);
    }

    /** A placed key: the shard key, with {@code #salt} when the salt is not 0. */
    public static String key(String shardKey, int salt) {
        return salt == 0 ? shardKey : shardKey + SALT + salt;
    }

    /**
     * The shard of a Flink key, placed ({@code model/tensor/shard#salt}) or not: only the job's router writes salts,
     * and only after the record's own key parsed as a canonical shard key.
     */
    public static ShardKey parse(String flinkKey) {
        int slash = flinkKey.lastIndexOf('/');
        int salt = flinkKey.indexOf(SALT, Math.max(slash, 0));
        return ShardKey.parse(salt < 0 ? flinkKey : flinkKey.substring(0, salt));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShardPlacement p
                && p.model.equals(model)
                && p.maxParallelism == maxParallelism
                && p.encode().equals(encode());
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, maxParallelism, shards);
    }
}
