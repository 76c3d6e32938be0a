package io.gradstream.model;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import java.util.EnumSet;
import java.util.Set;

/**
 * A model's validated {@link CompressionSpec}: the gradient encodings it accepts and its delta stream (encoding, TOPK
 * share, snapshot period). {@link #NONE} is a model without the field: any encoding in, full parameters every step.
 *
 * @param inputEncodings the accepted gradient encodings; null: any
 * @param deltaEncoding the delta stream's encoding; null: no delta stream
 */
public record Compression(
        Set<Encoding> inputEncodings, Encoding deltaEncoding, double deltaTopKFraction, int snapshotEvery) {
    /** Most versions between two full snapshots. */
    public static final int MAX_SNAPSHOT_EVERY = 1_000_000;

    /** A model created without compression settings. */
    public static final Compression NONE = new Compression(null, null, 0.01, 100);

    /**
     * @param spec the CREATE's settings, or null
     * @throws IllegalArgumentException naming the field and value when a setting is out of range
     */
    public static Compression of(CompressionSpec spec) {
        if (spec == null) {
            return NONE;
        }
        Set<Encoding> in = null;
        if (spec.getInputEncodings() != null) {
            if (spec.getInputEncodings().isEmpty()) {
                throw new IllegalArgumentException("compression.inputEncodings is empty, so no gradient would be "
                        + "accepted; list the encodings, or leave it null to accept any");
            }
            in = EnumSet.copyOf(spec.getInputEncodings());
        }
        Encoding delta = spec.getDeltaEncoding();
        if (delta == Encoding.FP32) {
            throw new IllegalArgumentException("compression.deltaEncoding FP32 saves nothing over full updates; use "
                    + "TOPK, INT8_BLOCK, BF16 or FP16, or leave it null for full updates");
        }
        double f = spec.getDeltaTopKFraction();
        if (!(f > 0 && f <= 1)) {
            throw new IllegalArgumentException("compression.deltaTopKFraction must be in (0, 1], got " + f);
        }
        int every = spec.getSnapshotEvery();
        if (every < 1 || every > MAX_SNAPSHOT_EVERY) {
            throw new IllegalArgumentException(
                    "compression.snapshotEvery must be in [1, " + MAX_SNAPSHOT_EVERY + "], got " + every);
        }
        return new Compression(in == null ? null : Set.copyOf(in), delta, f, every);
    }

    /** Whether gradients in {@code encoding} are accepted. */
    public boolean accepts(Encoding encoding) {
        return inputEncodings == null || inputEncodings.contains(encoding);
    }

    public boolean hasDeltaStream() {
        return deltaEncoding != null;
    }

    /** Whether the update at {@code version} is a full snapshot by the period (0 and every multiple of it). */
    public boolean snapshotDue(long version) {
        return version % snapshotEvery == 0;
    }

    /** A new codec for a delta of a shard of {@code length} elements (for TOPK, k = ceil(fraction x length)). */
    public PayloadCodec deltaCodec(int length) {
        if (deltaEncoding == Encoding.TOPK) {
            return PayloadCodecs.topK(topK(deltaTopKFraction, length));
        }
        return Encodings.encoder(deltaEncoding);
    }

    /** The k of a TOPK share of a shard: ceil(fraction x length), at least 1. */
    public static int topK(double fraction, int length) {
        // Less a hair, so that 0.1 x 30 (3.0000000000000004 in binary) is 3.
        return (int) Math.max(1, Math.min(length, Math.ceil(fraction * length - 1e-9)));
    }
}
