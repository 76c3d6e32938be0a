package io.gradstream.jmh;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The per-element FP16, BF16 and INT8_BLOCK encode loops as they were before issue 14 (one rounding function call and
 * one ByteBuffer VarHandle store per element), and TOPK's selection by a quickselect over every element's key, kept
 * here only so that every run measures the old and the new encoders side by side. The core module's tests hold the
 * same copies as the bit-exact reference.
 */
final class LegacyEncoders {
    private static final VarHandle SHORT =
            MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOAT =
            MethodHandles.byteBufferViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

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
            case "TOPK_1pct" -> {
                pos += topK(src, offset, length, length / 100, dst, pos);
            }
            default -> throw new IllegalArgumentException("no legacy encoder for " + codec);
        }
        int written = pos - dst.position();
        dst.position(pos);
        return written;
    }

    /** TOPK as it was: every element's key, a quickselect for the threshold, then the index-order emit. */
    private static int topK(float[] src, int offset, int length, int k, ByteBuffer dst, int pos) {
        for (int i = 0; i < length; i++) {
            if (Float.isNaN(src[offset + i])) {
                throw new IllegalArgumentException("TOPK input must not be NaN, got NaN at index " + (offset + i));
            }
        }
        int count = Math.min(k, length);
        long threshold = Long.MIN_VALUE;
        if (count < length) {
            long[] keys = new long[length];
            for (int i = 0; i < length; i++) {
                keys[i] = key(src[offset + i], i);
            }
            threshold = select(keys, length, length - count);
        }
        INT.set(dst, pos, count);
        int indexPos = pos + 4;
        int valuePos = indexPos + 4 * count;
        for (int i = 0, j = 0; j < count; i++) {
            float v = src[offset + i];
            if (key(v, i) >= threshold) {
                INT.set(dst, indexPos + 4 * j, i);
                FLOAT.set(dst, valuePos + 4 * j, v);
                j++;
            }
        }
        return 4 + 8 * count;
    }

    private static long key(float v, int index) {
        return ((long) (Float.floatToRawIntBits(v) & 0x7FFFFFFF) << 32) | (~index & 0xFFFFFFFFL);
    }

    /**
     * The quickselect TopKCodec used (median-of-three Hoare partition); its O(n log n) fallback after 2·log2(n)
     * rounds is a plain sort here, which gradients never reach.
     */
    private static long select(long[] a, int n, int rank) {
        int lo = 0;
        int hi = n - 1;
        int budget = 2 * (32 - Integer.numberOfLeadingZeros(n));
        while (lo < hi) {
            if (budget-- == 0) {
                java.util.Arrays.sort(a, lo, hi + 1);
                return a[rank];
            }
            long x = a[lo];
            long y = a[(lo + hi) >>> 1];
            long z = a[hi];
            long pivot = x < y ? (y < z ? y : Math.max(x, z)) : (x < z ? x : Math.max(y, z));
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (rank <= j) {
                hi = j;
            } else if (rank >= i) {
                lo = i;
            } else {
                return a[rank];
            }
        }
        return a[rank];
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
