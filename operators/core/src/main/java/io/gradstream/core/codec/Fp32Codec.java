package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.util.Objects;

/** The lossless codec: the raw binary32 bit pattern of each element, 4 bytes little-endian (NaN payloads kept). */
public final class Fp32Codec implements PayloadCodec {

    @Override
    public Encoding encoding() {
        return Encoding.FP32;
    }

    @Override
    public int maxEncodedSize(int elementCount) {
        LittleEndian.requireLength(elementCount);
        return LittleEndian.toIntSize(Encoding.FP32, 4L * elementCount, elementCount);
    }

    @Override
    public int encode(float[] src, int offset, int length, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireWritable(Encoding.FP32, dst, size, length);
        int pos = dst.position();
        for (int i = 0; i < length; i++) {
            LittleEndian.putFloat(dst, pos + 4 * i, src[offset + i]);
        }
        dst.position(pos + size);
        return size;
    }

    @Override
    public void decode(ByteBuffer src, float[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireReadable(Encoding.FP32, src, size, length);
        int pos = src.position();
        for (int i = 0; i < length; i++) {
            dst[offset + i] = LittleEndian.getFloat(src, pos + 4 * i);
        }
        src.position(pos + size);
    }
}
