package io.gradstream.core.codec;

import java.nio.ByteBuffer;

/**
 * The 2-byte codecs, little-endian: IEEE binary16 ({@link Fp16#fromFloat(float)}; magnitudes of 65520 and above
 * become infinity, so scale values into range first) or bfloat16 ({@link Bf16#fromFloat(float)}; the float32
 * exponent range at 8 significant bits).
 */
final class HalfPrecisionCodec extends FixedWidthCodec {
    private final boolean bf16;

    HalfPrecisionCodec(Encoding encoding) {
        super(encoding, 2);
        if (encoding != Encoding.FP16 && encoding != Encoding.BF16) {
            throw new IllegalArgumentException("not a 2-byte encoding: " + encoding);
        }
        this.bf16 = encoding == Encoding.BF16;
    }

    @Override
    void encodeAt(float[] src, int offset, int length, ByteBuffer dst, int pos) {
        for (int i = 0; i < length; i++) {
            float x = src[offset + i];
            LittleEndian.putShort(dst, pos + 2 * i, bf16 ? Bf16.fromFloat(x) : Fp16.fromFloat(x));
        }
    }

    @Override
    void decodeAt(ByteBuffer src, int pos, float[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            short h = LittleEndian.getShort(src, pos + 2 * i);
            dst[offset + i] = bf16 ? Bf16.toFloat(h) : Fp16.toFloat(h);
        }
    }
}
