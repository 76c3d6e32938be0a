package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * bfloat16 codec: each element rounded by {@link Bf16#fromFloat(float)}, 2 bytes little-endian; keeps the float32
 * exponent range at 8 significant bits.
 */
public final class Bf16Codec implements PayloadCodec {

    @Override
    public Encoding encoding() {
        return Encoding.BF16;
    }

    @Override
    public int maxEncodedSize(int elementCount) {
        LittleEndian.requireLength(elementCount);
        return LittleEndian.toIntSize(Encoding.BF16, 2L * elementCount, elementCount);
    }

    @Override
    public int encode(float[] src, int offset, int length, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireWritable(Encoding.BF16, dst, size, length);
        int pos = dst.position();
        for (int i = 0; i < length; i++) {
            LittleEndian.putShort(dst, pos + 2 * i, Bf16.fromFloat(src[offset + i]));
        }
        dst.position(pos + size);
        return size;
    }

    @Override
    public void decode(ByteBuffer src, float[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireReadable(Encoding.BF16, src, size, length);
        int pos = src.position();
        for (int i = 0; i < length; i++) {
            dst[offset + i] = Bf16.toFloat(LittleEndian.getShort(src, pos + 2 * i));
        }
        src.position(pos + size);
    }
}
