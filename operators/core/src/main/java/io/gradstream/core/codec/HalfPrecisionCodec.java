package io.gradstream.core.codec;

import java.nio.ByteBuffer;

/**
 * The 2-byte codecs, little-endian: IEEE binary16 ({@link Fp16#fromFloat(float)}; magnitudes of 65520 and above
 * become infinity, so scale values into range first) or bfloat16 ({@link Bf16#fromFloat(float)}; the float32
 * exponent range at 8 significant bits). Encoding runs the vectorised {@link HalfPrecisionEncoder}, bit-identical to
 * those per-element functions.
 */
final class HalfPrecisionCodec extends FixedWidthCodec {
    private final boolean bf16;
    /** Created on the first encode (16-40 KiB of scratch that a decode-only instance never needs). */
    private HalfPrecisionEncoder encoder;
    /** Staging for destinations without an accessible array (direct buffers), allocated on first use. */
    private byte[] staging;

    HalfPrecisionCodec(Encoding encoding) {
        super(encoding, 2);
        if (encoding != Encoding.FP16 && encoding != Encoding.BF16) {
            throw new IllegalArgumentException("not a 2-byte encoding: " + encoding);
        }
        this.bf16 = encoding == Encoding.BF16;
    }

    @Override
    void encodeAt(float[] src, int offset, int length, ByteBuffer dst, int pos) {
        if (encoder == null) {
            encoder = new HalfPrecisionEncoder(bf16);
        }
        if (dst.hasArray()) {
            encoder.encode(src, offset, length, dst.array(), dst.arrayOffset() + pos);
        } else {
            if (staging == null) {
                staging = new byte[2 * HalfPrecisionEncoder.CHUNK];
            }
            for (int done = 0; done < length; done += HalfPrecisionEncoder.CHUNK) {
                int n = Math.min(HalfPrecisionEncoder.CHUNK, length - done);
                encoder.encode(src, offset + done, n, staging, 0);
                dst.put(pos + 2 * done, staging, 0, 2 * n);
            }
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
