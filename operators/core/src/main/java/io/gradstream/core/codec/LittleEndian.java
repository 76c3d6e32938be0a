package io.gradstream.core.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Absolute little-endian accesses to any ByteBuffer (heap, direct or read-only), independent of the buffer's own
 * order, so the codecs neither depend on nor change the caller's {@link ByteBuffer#order()}.
 */
final class LittleEndian {

    // Byte-buffer view handles ignore ByteBuffer.order() and are intrinsified by the JIT into plain loads/stores.
    private static final VarHandle FLOAT =
            MethodHandles.byteBufferViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT =
            MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    // Array views: the bulk encoders write into the destination's backing array (or a staging array) directly, and
    // read staged float bits as 64-bit words (FloatBits), a load C2 vectorises.
    private static final VarHandle ARRAY_FLOAT =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ARRAY_INT =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ARRAY_SHORT =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ARRAY_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private LittleEndian() {}

    static void putFloat(byte[] b, int index, float v) {
        ARRAY_FLOAT.set(b, index, v);
    }

    static void putInt(byte[] b, int index, int v) {
        ARRAY_INT.set(b, index, v);
    }

    static void putShort(byte[] b, int index, short v) {
        ARRAY_SHORT.set(b, index, v);
    }

    static long getLong(byte[] b, int index) {
        return (long) ARRAY_LONG.get(b, index);
    }

    static void putFloat(ByteBuffer b, int index, float v) {
        FLOAT.set(b, index, v);
    }

    static float getFloat(ByteBuffer b, int index) {
        return (float) FLOAT.get(b, index);
    }

    static void putInt(ByteBuffer b, int index, int v) {
        INT.set(b, index, v);
    }

    static int getInt(ByteBuffer b, int index) {
        return (int) INT.get(b, index);
    }

    static void putShort(ByteBuffer b, int index, short v) {
        SHORT.set(b, index, v);
    }

    static short getShort(ByteBuffer b, int index) {
        return (short) SHORT.get(b, index);
    }

    /** Fails with a message naming the codec when {@code dst} cannot take {@code needed} more bytes. */
    static void requireWritable(Encoding encoding, ByteBuffer dst, long needed, int length) {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException(encoding + " encode: destination buffer is read-only");
        }
        if (dst.remaining() < needed) {
            throw new IllegalArgumentException(encoding + " encode of " + length + " elements needs " + needed
                    + " bytes but the destination has only " + dst.remaining() + " remaining");
        }
    }

    /** Fails with a message naming the codec when {@code src} holds fewer than {@code needed} more bytes. */
    static void requireReadable(Encoding encoding, ByteBuffer src, long needed, int length) {
        if (src.remaining() < needed) {
            throw new IllegalArgumentException(encoding + " payload too short: decoding " + length + " elements needs "
                    + needed + " bytes but only " + src.remaining() + " remain");
        }
    }

    static void requireLength(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("element count must be >= 0, got " + length);
        }
    }

    /** Converts a byte count computed in long to int, failing clearly instead of overflowing. */
    static int toIntSize(Encoding encoding, long size, int elementCount) {
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(encoding + " payload of " + elementCount + " elements would need " + size
                    + " bytes, more than a ByteBuffer can hold");
        }
        return (int) size;
    }
}
