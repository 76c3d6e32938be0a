package io.gradstream.model;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.TensorPayload;
import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.Map;

/**
 * A shard's parameters after a step (or at version 0) as the {@link ParameterUpdate} the job publishes: the model's
 * output encoding, the step's metadata, and for a private model the epsilon spent. Not thread-safe (keeps codecs).
 */
public final class UpdateEncoder {
    private final Map<Encoding, PayloadCodec> codecs = new EnumMap<>(Encoding.class);

    /** @param step the step that produced the state, or null for version 0 */
    public ParameterUpdate encode(ShardKey key, ShardState state, ModelConfig config, ShardStepper.StepResult step) {
        PayloadCodec codec = codecs.computeIfAbsent(config.outputEncoding(), Encodings::encoder);
        float[] p = state.params();
        byte[] bytes = new byte[codec.maxEncodedSize(p.length)];
        int n = codec.encode(p, 0, p.length, ByteBuffer.wrap(bytes));
        Double epsilon = null;
        if (config.privacy() != null) {
            epsilon = step != null ? step.epsilon() : config.privacy().epsilon(state.ledger());
        }
        return ParameterUpdate.newBuilder()
                .setModelId(key.model())
                .setTensor(key.tensor())
                .setShard(key.shard())
                .setVersion(state.version())
                .setPayload(new TensorPayload(config.outputEncoding(), p.length, ByteBuffer.wrap(bytes, 0, n)))
                .setContributions(step == null ? 0 : step.contributions())
                .setExamples(step == null ? 0 : step.examples())
                .setMeanLoss(step == null || Double.isNaN(step.meanLoss()) ? null : step.meanLoss())
                .setLatestPublishedAtMs(step == null ? 0 : step.latestPublishedAtMs())
                .setEpsilonSpent(epsilon)
                .build();
    }
}
