package io.gradstream.core.codec;

import java.nio.ByteBuffer;

/** The lossless codec: the raw binary32 bit pattern of each element, 4 bytes little-endian (NaN payloads kept). */
final class Fp32Codec extends FixedWidthCodec {

    Fp32Codec() {
        super(Encoding.FP32, 4);
    }

    @Override
    void encodeAt(float[] src, int offset, int length, ByteBuffer dst, int pos) {
        for (int i = 0; i < length; i++) {
            LittleEndian.putFloat(dst, pos + 4 * i, src[offset + i]);
        }
    }

    @Override
    void decodeAt(ByteBuffer src, int pos, float[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            dst[offset + i] = LittleEndian.getFloat(src, pos + 4 * i);
        }
    }
}
