package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The framing shared by the codecs that spend a fixed number of bytes per element (FP32, FP16, BF16): range and
 * space checks, position bookkeeping; subclasses only write the per-element loop.
 */
abstract class FixedWidthCodec implements PayloadCodec {
    private final Encoding encoding;
    private final int bytesPerElement;

    FixedWidthCodec(Encoding encoding, int bytesPerElement) {
        this.encoding = encoding;
        this.bytesPerElement = bytesPerElement;
    }

    @Override
    public final Encoding encoding() {
        return encoding;
    }

    @Override
    public final int maxEncodedSize(int elementCount) {
        LittleEndian.requireLength(elementCount);
        return LittleEndian.toIntSize(encoding, (long) bytesPerElement * elementCount, elementCount);
    }

    @Override
    public final int encode(float[] src, int offset, int length, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireWritable(encoding, dst, size, length);
        int pos = dst.position();
        encodeAt(src, offset, length, dst, pos);
        dst.position(pos + size);
        return size;
    }

    @Override
    public final void decode(ByteBuffer src, float[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireReadable(encoding, src, size, length);
        int pos = src.position();
        decodeAt(src, pos, dst, offset, length);
        src.position(pos + size);
    }

    /** Writes {@code src[offset, offset + length)} at absolute byte position {@code pos} of {@code dst}. */
    abstract void encodeAt(float[] src, int offset, int length, ByteBuffer dst, int pos);

    /** Reads {@code length} elements from absolute byte position {@code pos} of {@code src}. */
    abstract void decodeAt(ByteBuffer src, int pos, float[] dst, int offset, int length);
}
