package io.gradstream.client;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A worker's side of the parameters topic: keeps the newest version of each shard of one model (older or repeated
 * versions, as at-least-once delivery may bring, are ignored) and assembles whole tensors. Not thread-safe.
 */
public final class ParameterSubscriber {
    private final Consumer<byte[], byte[]> consumer;
    private final String modelId;
    private final Map<String, TensorLayout> layouts;
    private final Map<String, float[]> tensors = new HashMap<>();
    private final Map<String, long[]> versions = new HashMap<>();
    private final AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
    private final Map<io.gradstream.core.codec.Encoding, PayloadCodec> codecs = new HashMap<>();
    private long latestPublishedAtMs;
    private double epsilonSpent = Double.NaN;

    /** @param consumer already subscribed to (or assigned) the parameters topic */
    public ParameterSubscriber(Consumer<byte[], byte[]> consumer, String modelId, Map<String, TensorLayout> layouts) {
        this.consumer = consumer;
        this.modelId = modelId;
        this.layouts = layouts;
        layouts.forEach((name, l) -> {
            tensors.put(name, new float[(int) l.elements()]);
            long[] v = new long[l.shardCount()];
            java.util.Arrays.fill(v, -1);
            versions.put(name, v);
        });
    }

    /** Polls once and applies what arrived; returns how many shard updates were newer than what it had. */
    public int poll(Duration timeout) {
        int applied = 0;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            ParameterUpdate u;
            try {
                u = avro.decode(r.value());
            } catch (IOException e) {
                continue; // not ours to judge: the topic may carry other producers' data
            }
            if (!modelId.equals(u.getModelId()) || !layouts.containsKey(u.getTensor())) {
                continue;
            }
            TensorLayout l = layouts.get(u.getTensor());
            long[] v = versions.get(u.getTensor());
            int s = u.getShard();
            if (s < 0
                    || s >= v.length
                    || u.getVersion() <= v[s]
                    || u.getPayload().getElementCount() != l.shardLength(s)) {
                continue;
            }
            var enc = io.gradstream.model.Encodings.core(u.getPayload().getEncoding());
            PayloadCodec codec = codecs.computeIfAbsent(enc, PayloadCodecs::forEncoding);
            ByteBuffer data = u.getPayload().getData().duplicate();
            codec.decode(data, tensors.get(u.getTensor()), (int) l.shardOffset(s), l.shardLength(s));
            v[s] = u.getVersion();
            latestPublishedAtMs = Math.max(latestPublishedAtMs, u.getLatestPublishedAtMs());
            if (u.getEpsilonSpent() != null && !(u.getEpsilonSpent() <= epsilonSpent)) {
                epsilonSpent = u.getEpsilonSpent();
            }
            applied++;
        }
        return applied;
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
