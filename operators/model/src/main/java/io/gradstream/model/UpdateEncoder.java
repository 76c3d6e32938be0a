package io.gradstream.model;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.shard.ParameterDeltas;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.UpdateKind;
import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * A shard's parameters after a step (or at version 0) as the {@link ParameterUpdate} the job publishes: the model's
 * output encoding, the step's metadata, and for a private model the epsilon spent. For a model with a delta stream
 * the update is a DELTA from the subscribers' copy ({@link ShardState#published()}, which it advances) unless a full
 * snapshot is due: by the model's period, on request, when the copy is unknown (a shard's first update after a restore
 * of a release before delta streams), or when the delta cannot be encoded. Not thread-safe (keeps codecs).
 */
public final class UpdateEncoder {
    private final Map<Encoding, PayloadCodec> codecs = new EnumMap<>(Encoding.class);
    /** Delta codecs by shard length (TOPK's k depends on it); a model's shards have at most two lengths. */
    private final Map<String, PayloadCodec> deltaCodecs = new HashMap<>();

    private final ParameterDeltas deltas = new ParameterDeltas();

    /** @param step the step that produced the state, or null for version 0 */
    public ParameterUpdate encode(ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step) {
        return encode(key, state, config, step, false);
    }

    /**
     * As above; {@code forceFull} publishes a full snapshot even where a delta would do (a SNAPSHOT command). For a model
     * with a delta stream, sets or advances {@code state.published()}: the caller must store the state afterwards.
     */
    public ParameterUpdate encode(
            ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step, boolean forceFull) {
        Compression c = config.compression();
        float[] p = state.params();
        TensorPayload payload = null;
        long base = -1;
        if (c.hasDeltaStream() && !forceFull && state.published() != null && !c.snapshotDue(state.version())) {
            int k = c.deltaEncoding() == Encoding.TOPK ? Compression.topK(c.deltaTopKFraction(), p.length) : 0;
            if (deltaCodecs.size() > 16) {
                deltaCodecs.clear(); // codecs keep scratch arrays; models come and go
            }
            PayloadCodec codec = deltaCodecs.computeIfAbsent(c.deltaEncoding() + "/" + k, x -> c.deltaCodec(p.length));
            byte[] bytes = new byte[codec.maxEncodedSize(p.length)];
            try {
                int n = deltas.encode(p, state.published(), codec, ByteBuffer.wrap(bytes));
                payload = new TensorPayload(c.deltaEncoding(), p.length, ByteBuffer.wrap(bytes, 0, n));
                base = state.version() - 1;
            } catch (IllegalArgumentException e) {
                payload = null; // e.g. a change too large for the codec: a full snapshot carries it instead
            }
        }
        if (payload == null) {
            payload = full(p, config.outputEncoding());
            if (c.hasDeltaStream()) {
                state.published(decoded(payload, state.published()));
            }
        }
        Double epsilon = null;
        if (config.privacy() != null) {
            epsilon = step != null ? step.epsilon() : config.privacy(key).epsilon(state);
        }
        return ParameterUpdate.newBuilder()
                .setModelId(key.model())
                .setTensor(key.tensor())
                .setShard(key.shard())
                .setVersion(state.version())
                .setPayload(payload)
                .setContributions(step == null ? 0 : step.contributions())
                .setExamples(step == null ? 0 : step.examples())
                .setMeanLoss(step == null || Double.isNaN(step.meanLoss()) ? null : step.meanLoss())
                .setLatestPublishedAtMs(step == null ? 0 : step.latestPublishedAtMs())
                .setEpsilonSpent(epsilon)
                .setKind(base < 0 ? UpdateKind.FULL : UpdateKind.DELTA)
                .setBaseVersion(base)
                .build();
    }

    /**
     * The subscribers' copy after a full snapshot of {@code values}: what they decode from it. A model with a delta
     * stream starts a rule-initialised shard with this, as its version 0 was published at CREATE.
     */
    public static float[] publishedAfterSnapshot(float[] values, ModelConfig config) {
        PayloadCodec codec = Encodings.encoder(config.outputEncoding());
        return codec.decode(codec.encode(values), values.length);
    }

    private TensorPayload full(float[] p, Encoding encoding) {
        PayloadCodec codec = codecs.computeIfAbsent(encoding, Encodings::encoder);
        byte[] bytes = new byte[codec.maxEncodedSize(p.length)];
        int n = codec.encode(p, 0, p.length, ByteBuffer.wrap(bytes));
        return new TensorPayload(encoding, p.length, ByteBuffer.wrap(bytes, 0, n));
    }

    private float[] decoded(TensorPayload payload, float[] reuse) {
        int n = payload.getElementCount();
        float[] out = reuse != null && reuse.length == n ? reuse : new float[n];
        codecs.get(payload.getEncoding()).decode(payload.getData().duplicate(), out, 0, n);
        return out;
    }
}
