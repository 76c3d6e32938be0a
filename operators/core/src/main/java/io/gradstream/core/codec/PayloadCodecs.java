package io.gradstream.core.codec;

/**
 * Factories for the codecs of this package. Every call returns a new instance, so callers can give each thread
 * its own without caring which codecs keep scratch state.
 */
public final class PayloadCodecs {

    private PayloadCodecs() {}

    /**
     * The codec for {@code encoding}.
     *
     * @throws IllegalArgumentException for {@link Encoding#TOPK}, which needs k: use {@link #topK(int)}
     */
    public static PayloadCodec forEncoding(Encoding encoding) {
        return switch (encoding) {
            case FP32 -> fp32();
            case FP16 -> fp16();
            case BF16 -> bf16();
            case INT8_BLOCK -> int8Block();
            case TOPK ->
                throw new IllegalArgumentException(
                        "TOPK needs a k: use PayloadCodecs.topK(k) or new TopKCodec(k) instead of forEncoding(TOPK)");
        };
    }

    public static PayloadCodec fp32() {
        return new Fp32Codec();
    }

    public static PayloadCodec fp16() {
        return new HalfPrecisionCodec(Encoding.FP16);
    }

    public static PayloadCodec bf16() {
        return new HalfPrecisionCodec(Encoding.BF16);
    }

    public static PayloadCodec int8Block() {
        return new Int8BlockCodec();
    }

    /** @throws IllegalArgumentException if {@code k < 1} */
    public static TopKCodec topK(int k) {
        return new TopKCodec(k);
    }
}
