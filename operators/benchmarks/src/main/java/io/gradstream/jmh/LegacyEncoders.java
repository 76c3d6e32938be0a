package io.gradstream.jmh;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The per-element FP16, BF16 and INT8_BLOCK encode loops as they were before issue 14 (one rounding function call and
 * one ByteBuffer VarHandle store per element), kept here only so that every run measures the old and the new encoders
 * side by side. The core module's tests hold the same copy as the bit-exact reference.
 */
final class LegacyEncoders {
    private static final VarHandle SHORT =
            MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOAT =
            MethodHandles.byteBufferViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    private LegacyEncoders() {}

    static int encode(String codec, float[] src, int offset, int length, ByteBuffer dst) {
        int pos = dst.position();
        switch (codec) {
            case "FP16", "BF16" -> {
                boolean bf16 = codec.equals("BF16");
                for (int i = 0; i < length; i++) {
                    float x = src[offset + i];
                    SHORT.set(dst, pos + 2 * i, bf16 ? bf16(x) : fp16(x));
                }
                pos += 2 * length;
            }
            case "INT8_BLOCK" -> {
                for (int start = 0; start < length; start += 256) {
                    int end = Math.min(start + 256, length);
                    float amax = 0f;
                    for (int i = offset + start; i < offset + end; i++) {
                        float v = src[i];
                        if (!Float.isFinite(v)) {
                            throw new IllegalArgumentException("INT8_BLOCK input must be finite, got " + v);
                        }
                        amax = Math.max(amax, Math.abs(v));
                    }
                    float scale = amax / 127f;
                    FLOAT.set(dst, pos, scale);
                    pos += 4;
                    for (int i = start; i < end; i++) {
                        double r = Math.rint(src[offset + i] / scale);
                        dst.put(pos++, (byte) (r > 127 ? 127 : r < -127 ? -127 : (int) r));
                    }
                }
            }
            default -> throw new IllegalArgumentException("no legacy encoder for " + codec);
        }
        int written = pos - dst.position();
        dst.position(pos);
        return written;
    }

    private static short fp16(float f) {
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

    private static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
