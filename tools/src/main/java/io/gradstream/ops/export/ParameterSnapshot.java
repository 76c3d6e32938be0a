package io.gradstream.ops.export;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.Encodings;
import io.gradstream.ops.model.ParameterRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One model's parameters reassembled from the shard records of the parameters topic: the newest version of every shard,
 * or one given version. Versions are never mixed silently: the newest shards must agree on their version unless the
 * caller asks for a mixed snapshot, and a requested version must still be on the topic for every shard (a compacted
 * topic keeps only the latest record per shard, so older versions disappear).
 */
public final class ParameterSnapshot {

    /** A tensor: its shape and values (row-major). */
    public record Tensor(int[] shape, float[] values) {}

    /**
     * The snapshot: tensors by name in name order, the version (-1 when mixed), and each tensor's shard versions.
     */
    public record Snapshot(String modelId, long version, Map<String, Tensor> tensors, Map<String, long[]> versions) {}

    /** Why no snapshot can be taken; nothing is written. */
    public static final class RefusedException extends RuntimeException {
        public RefusedException(String message) {
            super(message);
        }
    }

    /** Most distinct versions remembered per shard, for the messages about which versions exist. */
    private static final int SEEN_VERSIONS = 64;

    private final String model;
    private final Map<String, TensorLayout> layouts;
    private final Long version;
    private final Map<String, ParameterUpdate[]> chosen = new TreeMap<>();
    private final Map<String, List<NavigableSet<Long>>> seen = new TreeMap<>();
    /** Each shard's newest version over every kind of update, full or delta. */
    private final Map<String, long[]> reached = new TreeMap<>();

    private long records;
    private long deltas;

    /**
     * @param layouts the model's tensors, as its spec cuts them
     * @param version the version to export, or null for the newest
     */
    public ParameterSnapshot(String model, Map<String, TensorLayout> layouts, Long version) {
        this.model = model;
        this.layouts = layouts;
        this.version = version;
        layouts.forEach((name, l) -> {
            chosen.put(name, new ParameterUpdate[l.shardCount()]);
            List<NavigableSet<Long>> s = new ArrayList<>();
            for (int i = 0; i < l.shardCount(); i++) {
                s.add(new TreeSet<>());
            }
            seen.put(name, s);
            long[] n = new long[l.shardCount()];
            java.util.Arrays.fill(n, -1);
            reached.put(name, n);
        });
    }

    /**
     * Takes one record of the parameters topic into account: others' models are skipped, and a DELTA only tells how
     * far its shard has gone beyond its newest full snapshot.
     */
    public void accept(ParameterUpdate u) {
        if (u == null || !model.equals(u.getModelId())) {
            return;
        }
        TensorLayout l = layouts.get(u.getTensor());
        int s = u.getShard();
        if (!ParameterRecords.isFullSnapshot(u)) {
            if (l != null && s >= 0 && s < l.shardCount()) {
                long[] n = reached.get(u.getTensor());
                n[s] = Math.max(n[s], u.getVersion());
                deltas++;
            }
            return;
        }
        // A record of another life of the model id with another layout does not fit; skip it.
        if (l == null || s < 0 || s >= l.shardCount() || u.getPayload().getElementCount() != l.shardLength(s)) {
            return;
        }
        records++;
        long[] n = reached.get(u.getTensor());
        n[s] = Math.max(n[s], u.getVersion());
        NavigableSet<Long> versions = seen.get(u.getTensor()).get(s);
        versions.add(u.getVersion());
        if (versions.size() > SEEN_VERSIONS) {
            versions.pollFirst();
        }
        ParameterUpdate[] c = chosen.get(u.getTensor());
        boolean take = version == null ? c[s] == null || u.getVersion() > c[s].getVersion() : u.getVersion() == version;
        if (take) {
            c[s] = u;
        }
    }

    /** Records of the model taken into account so far. */
    public long records() {
        return records;
    }

    /**
     * The snapshot.
     *
     * @param mixed whether the newest shards may differ in version (each tensor then records its shards' versions)
     * @throws RefusedException naming the shards and versions when it cannot be taken
     */
    public Snapshot take(boolean mixed) {
        if (records == 0) {
            throw new RefusedException(
                    deltas > 0
                            ? "model " + model + " has no full snapshot on the topic, only DELTA updates (its delta "
                                    + "stream's snapshots were compacted away): run 'gradstream model snapshot " + model
                                    + "' and export again"
                            : "model " + model + " has no parameters on the topic (unknown model, or none published "
                                    + "yet)");
        }
        List<String> missing = new ArrayList<>();
        TreeSet<Long> newest = new TreeSet<>();
        TreeSet<Long> common = null;
        for (var e : chosen.entrySet()) {
            ParameterUpdate[] c = e.getValue();
            for (int s = 0; s < c.length; s++) {
                NavigableSet<Long> held = seen.get(e.getKey()).get(s);
                if (c[s] == null) {
                    missing.add(e.getKey() + "/" + s + " (holds " + describe(held) + ")");
                } else {
                    newest.add(c[s].getVersion());
                }
                if (common == null) {
                    common = new TreeSet<>(held);
                } else {
                    common.retainAll(held);
                }
            }
        }
        if (version != null && !missing.isEmpty()) {
            throw new RefusedException(String.format(
                    Locale.ROOT,
                    "version %d of model %s is not on the topic for every shard: %s; a compacted topic keeps only "
                            + "the newest record of each shard, so an older version may no longer exist%s",
                    version,
                    model,
                    summary(missing),
                    common == null || common.isEmpty() ? "" : "; versions every shard holds: " + describe(common)));
        }
        if (!missing.isEmpty()) {
            throw new RefusedException("model " + model + " has shards without parameters yet: " + summary(missing));
        }
        if (version == null && newest.size() > 1 && !mixed) {
            throw new RefusedException(String.format(
                    Locale.ROOT,
                    "the shards of model %s are at different versions (%d to %d): a step is in progress, or the model "
                            + "is ASYNC; pass --version V (versions every shard holds: %s) or --mixed to take each "
                            + "shard's newest",
                    model,
                    newest.first(),
                    newest.last(),
                    common == null || common.isEmpty() ? "none" : describe(common)));
        }
        if (version == null) {
            long ahead = -1;
            for (var e : chosen.entrySet()) {
                for (int s = 0; s < e.getValue().length; s++) {
                    if (reached.get(e.getKey())[s] > e.getValue()[s].getVersion()) {
                        ahead = Math.max(ahead, reached.get(e.getKey())[s]);
                    }
                }
            }
            if (ahead >= 0) {
                throw new RefusedException(String.format(
                        Locale.ROOT,
                        "the newest full snapshot of model %s is version %d, but its delta stream has reached version "
                                + "%d: run 'gradstream model snapshot %s' (after 'gradstream model pause %s' if it is "
                                + "training) and export again, or pass --version %d",
                        model,
                        newestFull(),
                        ahead,
                        model,
                        model,
                        newestFull()));
            }
        }
        Map<String, Tensor> tensors = new TreeMap<>();
        Map<String, long[]> versions = new TreeMap<>();
        for (var e : chosen.entrySet()) {
            TensorLayout l = layouts.get(e.getKey());
            float[] values = new float[Math.toIntExact(l.elements())];
            long[] v = new long[l.shardCount()];
            for (int s = 0; s < v.length; s++) {
                ParameterUpdate u = e.getValue()[s];
                v[s] = u.getVersion();
                PayloadCodec codec = Encodings.decoder(u.getPayload().getEncoding());
                ByteBuffer data = u.getPayload().getData().duplicate();
                try {
                    codec.decode(data, values, (int) l.shardOffset(s), l.shardLength(s));
                } catch (RuntimeException ex) {
                    throw new RefusedException(e.getKey() + "/" + s + " version " + u.getVersion()
                            + ": its payload cannot be decoded (" + ex.getMessage() + ")");
                }
            }
            tensors.put(e.getKey(), new Tensor(l.shape(), values));
            versions.put(e.getKey(), v);
        }
        long single = version != null ? version : newest.size() == 1 ? newest.first() : -1;
        return new Snapshot(model, single, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(versions));
    }

    /** The smallest of the shards' newest full versions (the version a --version export would find everywhere). */
    private long newestFull() {
        long min = Long.MAX_VALUE;
        for (ParameterUpdate[] c : chosen.values()) {
            for (ParameterUpdate u : c) {
                min = Math.min(min, u.getVersion());
            }
        }
        return min;
    }

    private static String summary(List<String> shards) {
        return shards.size() <= 5
                ? String.join(", ", shards)
                : String.join(", ", shards.subList(0, 5)) + " and " + (shards.size() - 5) + " more";
    }

    private static String describe(NavigableSet<Long> versions) {
        if (versions.isEmpty()) {
            return "no version";
        }
        if (versions.size() <= 4) {
            return versions.toString().replaceAll("[\\[\\]]", "");
        }
        return versions.size() + " versions, " + versions.first() + " to " + versions.last();
    }
}
