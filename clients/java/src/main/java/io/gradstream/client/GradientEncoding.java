package io.gradstream.client;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.model.Compression;
import io.gradstream.model.Encodings;
import io.gradstream.schemas.Encoding;
import java.util.Locale;

/**
 * How a worker encodes its gradients: the payload encoding, for TOPK the share of each shard's elements it sends, and
 * whether what the encoding loses is kept in a per-shard residual and added to the next gradient (error feedback; on
 * by default for the lossy INT8_BLOCK and TOPK).
 *
 * @param topKFraction TOPK: k = ceil(fraction x shard length) elements per shard, in (0, 1]; ignored otherwise
 */
public record GradientEncoding(Encoding encoding, double topKFraction, boolean errorFeedback) {
    public GradientEncoding {
        if (encoding == null) {
            throw new IllegalArgumentException("encoding must not be null");
        }
        if (encoding == Encoding.TOPK && !(topKFraction > 0 && topKFraction <= 1)) {
            throw new IllegalArgumentException("TOPK needs a fraction in (0, 1], got " + topKFraction);
        }
    }

    /**
     * A dense encoding (FP32, FP16, BF16, INT8_BLOCK), with error feedback for INT8_BLOCK.
     *
     * @throws IllegalArgumentException for TOPK, which needs its fraction ({@link #topK})
     */
    public static GradientEncoding of(Encoding encoding) {
        if (encoding == Encoding.TOPK) {
            throw new IllegalArgumentException("TOPK needs the share of elements to send: GradientEncoding.topK(f)");
        }
        return new GradientEncoding(encoding, 1, encoding == Encoding.INT8_BLOCK);
    }

    /** TOPK with error feedback: the largest {@code fraction} of each shard's (gradient + residual). */
    public static GradientEncoding topK(double fraction) {
        return new GradientEncoding(Encoding.TOPK, fraction, true);
    }

    /** The same encoding with error feedback on or off. */
    public GradientEncoding withErrorFeedback(boolean on) {
        return new GradientEncoding(encoding, topKFraction, on);
    }

    /**
     * Reads {@code fp32}, {@code fp16}, {@code bf16}, {@code int8} or {@code topk:FRACTION} (e.g. {@code topk:0.01}),
     * case-insensitive; a trailing {@code :noef} turns error feedback off, {@code :ef} on.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static GradientEncoding parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        Boolean feedback = null;
        if (t.endsWith(":noef")) {
            feedback = false;
            t = t.substring(0, t.length() - ":noef".length());
        } else if (t.endsWith(":ef")) {
            feedback = true;
            t = t.substring(0, t.length() - ":ef".length());
        }
        GradientEncoding e;
        if (t.startsWith("topk:")) {
            double f;
            try {
                f = Double.parseDouble(t.substring("topk:".length()));
            } catch (NumberFormatException x) {
                throw new IllegalArgumentException("topk needs a fraction, e.g. topk:0.01, got '" + text + "'");
            }
            e = topK(f);
        } else {
            e = switch (t) {
                case "fp32" -> of(Encoding.FP32);
                case "fp16" -> of(Encoding.FP16);
                case "bf16" -> of(Encoding.BF16);
                case "int8" -> of(Encoding.INT8_BLOCK);
                default ->
                    throw new IllegalArgumentException(
                            "unknown encoding '" + text + "': use fp32, fp16, bf16, int8 or topk:FRACTION (e.g. "
                                    + "topk:0.01), optionally followed by :ef or :noef to turn error feedback on or off");
            };
        }
        return feedback == null ? e : e.withErrorFeedback(feedback);
    }

    /** A new codec for a shard of {@code length} elements. */
    public PayloadCodec codec(int length) {
        return encoding == Encoding.TOPK
                ? PayloadCodecs.topK(Compression.topK(topKFraction, length))
                : Encodings.encoder(encoding);
    }

    @Override
    public String toString() {
        String name = switch (encoding) {
            case FP32 -> "fp32";
            case FP16 -> "fp16";
            case BF16 -> "bf16";
            case INT8_BLOCK -> "int8";
            case TOPK -> "topk:" + topKFraction;
        };
        boolean byDefault = encoding == Encoding.INT8_BLOCK || encoding == Encoding.TOPK;
        return errorFeedback == byDefault ? name : name + (errorFeedback ? ":ef" : ":noef");
    }
}
