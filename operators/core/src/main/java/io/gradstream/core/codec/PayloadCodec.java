package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Encodes float32 arrays to bytes and back. Bytes are always little-endian, whatever {@link ByteBuffer#order()}
 * the caller's buffer has (the buffer's order is neither used nor changed), and encoding/decoding allocates
 * nothing per element.
 *
 * <p>Instances may keep scratch buffers between calls and are therefore NOT thread-safe: use one instance per
 * thread (Flink subtask), or obtain a fresh one from {@link PayloadCodecs}.
 *
 * <p>On any exception the buffers' positions are left unchanged; the bytes past a failed encode's position and the
 * contents of a failed decode's destination range are unspecified.
 */
public interface PayloadCodec {

    /** The encoding this codec writes and reads. */
    Encoding encoding();

    /**
     * Upper bound of the bytes {@link #encode(float[], int, int, ByteBuffer)} writes for {@code elementCount}
     * elements (exact for every codec of this package).
     *
     * @throws IllegalArgumentException if {@code elementCount} is negative or the size exceeds {@code int}
     */
    int maxEncodedSize(int elementCount);

    /**
     * Encodes {@code src[offset, offset + length)} into {@code dst} at its position, little-endian, and advances the
     * position by the bytes written.
     *
     * @return the number of bytes written
     * @throws IllegalArgumentException if {@code dst} has fewer than the needed bytes remaining, or the input is not
     *     encodable by this codec (non-finite values for INT8_BLOCK, NaN for TOPK)
     * @throws IndexOutOfBoundsException if the range is outside {@code src}
     */
    int encode(float[] src, int offset, int length, ByteBuffer dst);

    /**
     * Decodes exactly {@code length} elements from {@code src} at its position into
     * {@code dst[offset, offset + length)} and advances {@code src}'s position past the bytes read.
     *
     * @throws IllegalArgumentException if {@code src} holds too few bytes or malformed data; the message names the
     *     problem
     * @throws IndexOutOfBoundsException if the range is outside {@code dst}
     */
    void decode(ByteBuffer src, float[] dst, int offset, int length);

    /** Encodes all of {@code src} into a new array of exactly the encoded size. */
    default byte[] encode(float[] src) {
        byte[] buffer = new byte[maxEncodedSize(src.length)];
        int written = encode(src, 0, src.length, ByteBuffer.wrap(buffer));
        return written == buffer.length ? buffer : Arrays.copyOf(buffer, written);
    }

    /**
     * Decodes {@code elementCount} elements from the whole of {@code bytes}.
     *
     * @throws IllegalArgumentException if {@code bytes} is too short, malformed, or has bytes left over (which means
     *     the element count or the encoding does not match the payload)
     */
    default float[] decode(byte[] bytes, int elementCount) {
        if (elementCount < 0) {
            throw new IllegalArgumentException("elementCount must be >= 0, got " + elementCount);
        }
        float[] out = new float[elementCount];
        ByteBuffer src = ByteBuffer.wrap(bytes);
        decode(src, out, 0, elementCount);
        if (src.hasRemaining()) {
            throw new IllegalArgumentException(encoding() + " payload of " + bytes.length + " bytes has "
                    + src.remaining() + " trailing bytes after " + elementCount + " elements");
        }
        return out;
    }
}
