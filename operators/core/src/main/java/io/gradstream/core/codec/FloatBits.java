package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A staging copy of float32 elements in a little-endian {@code byte[]}, so a loop can read two elements' raw bits
 * as one 64-bit word ({@link #word(byte[], int)}, a {@code byteArrayViewVarHandle} load): the only bit
 * reinterpretation that Java 17's C2 vectorises ({@code Float.floatToRawIntBits} stops its SuperWord pass). Loading
 * is one bulk memory copy.
 */
final class FloatBits {
    final byte[] bytes;
    private final FloatBuffer view;

    FloatBits(int capacity) {
        bytes = new byte[4 * capacity];
        view = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    /** Copies {@code src[from, from + n)} to the start of {@link #bytes}. */
    void load(float[] src, int from, int n) {
        view.clear();
        view.put(src, from, n);
    }

    /** Bits of element {@code 2 * j} (low half) and {@code 2 * j + 1} (high half) of a loaded range. */
    static long word(byte[] bytes, int j) {
        return LittleEndian.getLong(bytes, 8 * j);
    }
}
