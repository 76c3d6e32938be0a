package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The per-element encoders as they were before the bulk encoders (issue 14), frozen here as the reference the bulk
 * output must equal byte for byte. Deliberately independent of the main code: changing {@link Fp16}, {@link Bf16} or
 * {@link Int8BlockCodec} cannot change what these produce.
 */
final class LegacyEncoders {

    private LegacyEncoders() {}

    static short fp16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            return (short) (abs == 0x7F800000 ? sign | 0x7C00 : sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
        }
        if (abs >= 0x477FF000) {
            return (short) (sign | 0x7C00);
        }
        if (abs >= 0x38800000) {
            int rebiased = abs - (112 << 23);
            return (short) (sign | ((rebiased + 0x0FFF + ((rebiased >>> 13) & 1)) >>> 13));
        }
        if (abs <= 0x33000000) {
            return (short) sign;
        }
        int exponent = abs >>> 23;
        int significand = (abs & 0x7FFFFF) | 0x800000;
        int shift = 126 - exponent;
        int result = significand >>> shift;
        int remainder = significand & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (remainder > half || (remainder == half && (result & 1) != 0)) {
            result++;
        }
        return (short) (sign | result);
    }

    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The old HalfPrecisionCodec.encode: 2 bytes per element, little-endian. */
    static byte[] half(boolean bf16, float[] src, int offset, int length) {
        ByteBuffer out = ByteBuffer.allocate(2 * length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < length; i++) {
            float x = src[offset + i];
            out.putShort(2 * i, bf16 ? bf16(x) : fp16(x));
        }
        return out.array();
    }

    /**
     * The old Int8BlockCodec.encode: per block the float32 scale, then one byte per element.
     *
     * @throws IllegalArgumentException on a non-finite element, with the old message
     */
    static byte[] int8(float[] src, int offset, int length) {
        int blocks = (length + 255) / 256;
        ByteBuffer out = ByteBuffer.allocate(4 * blocks + length).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 0;
        for (int start = 0; start < length; start += 256) {
            int end = Math.min(start + 256, length);
            float amax = 0f;
            for (int i = offset + start; i < offset + end; i++) {
                float v = src[i];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("INT8_BLOCK input must be finite, got " + v + " at index " + i);
                }
                amax = Math.max(amax, Math.abs(v));
            }
            float scale = amax / 127f;
            out.putFloat(pos, scale);
            pos += 4;
            for (int i = start; i < end; i++) {
                double r = Math.rint(src[offset + i] / scale);
                out.put(pos++, (byte) (r > 127 ? 127 : r < -127 ? -127 : (int) r));
            }
        }
        return out.array();
    }
}
