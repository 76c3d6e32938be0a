package io.gradstream.client;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.shard.ParameterDeltas;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.Encodings;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.UpdateKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A worker's side of the parameters topic: keeps the newest version of each shard of one model and assembles whole
 * tensors. A FULL update at or after the shard's version replaces it; a DELTA is added (in float32, as the job adds it
 * to its own copy, so the result is bit-identical) only to the version it was computed from, its base. A delta whose
 * base is ahead of the shard waits (a few per shard) for the updates between, since version 0 and the later versions
 * come from different producers; one whose base is never reached is a gap: the shard stays at its last version until
 * the next FULL update (at most the model's snapshotEvery versions later, or at a SNAPSHOT command), and
 * {@link #gaps()} counts it. Older or repeated versions, as at-least-once delivery may bring, are ignored. Not
 * thread-safe.
 */
public final class ParameterSubscriber {
    /** Deltas held per shard while their base has not arrived, and how far ahead of the shard a held base may be. */
    static final int MAX_HELD = 16;

    private final Consumer<byte[], byte[]> consumer;
    private final String modelId;
    private final Map<String, TensorLayout> layouts;
    private final Map<String, float[]> tensors = new HashMap<>();
    private final Map<String, long[]> versions = new HashMap<>();
    /** Deltas ahead of their shard, by tensor, shard, then base version. */
    private final Map<String, Map<Integer, TreeMap<Long, ParameterUpdate>>> held = new HashMap<>();

    private final AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
    private final Map<Encoding, PayloadCodec> codecs = new EnumMap<>(Encoding.class);
    private float[] scratch = new float[0];
    private long latestPublishedAtMs;
    private double epsilonSpent = Double.NaN;
    private long gaps;
    private long deltasApplied;

    /** @param consumer already subscribed to (or assigned) the parameters topic */
    public ParameterSubscriber(Consumer<byte[], byte[]> consumer, String modelId, Map<String, TensorLayout> layouts) {
        this.consumer = consumer;
        this.modelId = modelId;
        this.layouts = layouts;
        layouts.forEach((name, l) -> {
            tensors.put(name, new float[(int) l.elements()]);
            long[] v = new long[l.shardCount()];
            Arrays.fill(v, -1);
            versions.put(name, v);
        });
    }

    /** Polls once and applies what arrived; returns how many shard updates were applied. */
    public int poll(Duration timeout) {
        int applied = 0;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            applied += accept(r.value());
        }
        return applied;
    }

    /**
     * Applies one record of the parameters topic (what {@link #poll} does with each); returns how many shard updates
     * it applied (a delta may release held ones).
     */
    public int accept(byte[] value) {
        ParameterUpdate u;
        try {
            u = avro.decode(value);
        } catch (IOException e) {
            return 0; // not ours to judge: the topic may carry other producers' data
        }
        if (!modelId.equals(u.getModelId()) || !layouts.containsKey(u.getTensor())) {
            return 0;
        }
        TensorLayout l = layouts.get(u.getTensor());
        long[] v = versions.get(u.getTensor());
        int s = u.getShard();
        if (s < 0 || s >= v.length || u.getPayload().getElementCount() != l.shardLength(s)) {
            return 0;
        }
        // A FULL update at the shard's own version replaces it too: a SNAPSHOT command publishes the version the
        // shard has, and resets the job's copy (the next delta's base) to it.
        if (u.getVersion() < v[s] || (u.getVersion() == v[s] && u.getKind() == UpdateKind.DELTA)) {
            return 0;
        }
        if (u.getKind() == UpdateKind.DELTA && u.getBaseVersion() != v[s]) {
            hold(u, v[s]);
            return 0;
        }
        if (!apply(u, l, v)) {
            return 0;
        }
        int applied = 1;
        // Deltas that waited for this version.
        TreeMap<Long, ParameterUpdate> waiting = heldFor(u.getTensor(), s, false);
        while (waiting != null && !waiting.isEmpty()) {
            var passed = waiting.headMap(v[s], false); // based on versions the shard has passed: never applicable
            gaps += passed.size();
            passed.clear();
            ParameterUpdate next = waiting.remove(v[s]);
            if (next == null || !apply(next, l, v)) {
                break;
            }
            applied++;
        }
        return applied;
    }

    private void hold(ParameterUpdate delta, long current) {
        TreeMap<Long, ParameterUpdate> waiting = heldFor(delta.getTensor(), delta.getShard(), true);
        if (delta.getBaseVersion() < current || delta.getBaseVersion() > current + MAX_HELD) {
            // Its base is behind us (a delta in between was missed), or far ahead (a subscriber that started late,
            // or missed many): only a full update can restart the shard, so it is not worth its memory.
            gaps++;
            return;
        }
        waiting.put(delta.getBaseVersion(), delta);
        if (waiting.size() > MAX_HELD) {
            // The base of the oldest never came: give up on it; the next FULL update restarts the shard.
            waiting.pollFirstEntry();
            gaps++;
        }
    }

    private TreeMap<Long, ParameterUpdate> heldFor(String tensor, int shard, boolean create) {
        Map<Integer, TreeMap<Long, ParameterUpdate>> byShard =
                create ? held.computeIfAbsent(tensor, t -> new HashMap<>()) : held.get(tensor);
        if (byShard == null) {
            return null;
        }
        return create ? byShard.computeIfAbsent(shard, x -> new TreeMap<>()) : byShard.get(shard);
    }

    /** Decodes {@code u} into its shard; false (and nothing changed) when its payload does not decode. */
    private boolean apply(ParameterUpdate u, TensorLayout l, long[] v) {
        int s = u.getShard();
        int length = l.shardLength(s);
        float[] tensor = tensors.get(u.getTensor());
        PayloadCodec codec = codecs.computeIfAbsent(u.getPayload().getEncoding(), Encodings::decoder);
        if (scratch.length < length) {
            scratch = new float[length];
        }
        try {
            ByteBuffer data = u.getPayload().getData().duplicate();
            codec.decode(data, scratch, 0, length);
        } catch (RuntimeException e) {
            return false; // malformed: keep what we have
        }
        int offset = (int) l.shardOffset(s);
        if (u.getKind() == UpdateKind.DELTA) {
            ParameterDeltas.apply(tensor, offset, scratch, length);
            deltasApplied++;
        } else {
            System.arraycopy(scratch, 0, tensor, offset, length);
        }
        v[s] = u.getVersion();
        latestPublishedAtMs = Math.max(latestPublishedAtMs, u.getLatestPublishedAtMs());
        if (u.getEpsilonSpent() != null && !(u.getEpsilonSpent() <= epsilonSpent)) {
            epsilonSpent = u.getEpsilonSpent();
        }
        return true;
    }

    /** Polls until every shard of the model has at least {@code version}; false on timeout. */
    public boolean awaitVersion(long version, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (minVersion() < version) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            poll(Duration.ofMillis(20));
        }
        return true;
    }

    /** The smallest version over all shards (-1 while some shard has none yet). */
    public long minVersion() {
        long min = Long.MAX_VALUE;
        for (long[] v : versions.values()) {
            for (long x : v) {
                min = Math.min(min, x);
            }
        }
        return min;
    }

    /** The largest epsilon spent reported by the shards seen so far (a private model), NaN when none reported one. */
    public double epsilonSpent() {
        return epsilonSpent;
    }

    /**
     * Deltas that could not be applied because an update before them was missed (their shard waits for its next full
     * snapshot); 0 when every update arrived.
     */
    public long gaps() {
        return gaps;
    }

    /** Deltas applied so far. */
    public long deltasApplied() {
        return deltasApplied;
    }

    public long version(String tensor, int shard) {
        return versions.get(tensor)[shard];
    }

    /** The newest known values of {@code tensor}, assembled from its shards (a live view: copy to keep). */
    public float[] tensor(String name) {
        float[] t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("model " + modelId + " has no tensor '" + name + "'");
        }
        return t;
    }
}
