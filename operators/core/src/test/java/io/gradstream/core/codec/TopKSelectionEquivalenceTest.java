package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * TOPK's histogram selection against the encoder it replaced (a quickselect over every element's key, frozen here):
 * byte-identical payloads on gradients, ties, zeros, subnormals, infinities, every k, offsets and odd lengths.
 */
class TopKSelectionEquivalenceTest {

    /** The encoder before the histogram: every key selected among, then the same index-order emit. */
    private static byte[] reference(float[] src, int offset, int length, int k) {
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
            threshold = TopKCodec.select(keys, length, length - count);
        }
        ByteBuffer out = ByteBuffer.allocate(4 + 8 * count).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.putInt(0, count);
        for (int i = 0, j = 0; j < count; i++) {
            float v = src[offset + i];
            if (key(v, i) >= threshold) {
                out.putInt(4 + 4 * j, i);
                out.putFloat(4 + 4 * count + 4 * j, v);
                j++;
            }
        }
        return out.array();
    }

    private static long key(float v, int index) {
        return ((long) (Float.floatToRawIntBits(v) & 0x7FFFFFFF) << 32) | (~index & 0xFFFFFFFFL);
    }

    private static byte[] encoded(TopKCodec codec, float[] src, int offset, int length) {
        ByteBuffer out = ByteBuffer.allocate(codec.maxEncodedSize(length));
        codec.encode(src, offset, length, out);
        return out.array();
    }

    private static float[] values(SplittableRandom r, int n, int kind) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (kind) {
                case 0 -> (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(40) - 30)); // gradient-like
                case 1 -> r.nextInt(4) - 2f; // few distinct magnitudes: ties everywhere
                case 2 -> 0f;
                case 3 -> r.nextBoolean() ? -0f : Float.MIN_VALUE * r.nextInt(8); // zeros and subnormals
                case 4 ->
                    r.nextInt(50) == 0
                            ? (r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY)
                            : (float) r.nextGaussian();
                case 5 -> Float.intBitsToFloat(r.nextInt() & 0x7F7FFFFF) * (r.nextBoolean() ? 1 : -1); // any finite
                default -> 1.5f * (i % 3 == 0 ? 1 : -1) + (i % 7 == 0 ? Math.ulp(1.5f) : 0); // neighbours of a tie
            };
        }
        return x;
    }

    @Test
    void theHistogramSelectionEncodesByteForByteAsTheQuickselect() {
        SplittableRandom r = new SplittableRandom(14);
        TopKCodec[] codecs = new TopKCodec[70];
        for (int trial = 0; trial < 3000; trial++) {
            int n = trial < 40 ? trial : trial % 10 == 0 ? 65536 + r.nextInt(3) : 1 + r.nextInt(3000);
            int kind = trial % 7;
            int k = switch (trial % 5) {
                case 0 -> 1;
                case 1 -> Math.max(1, n - 1);
                case 2 -> Math.max(1, (int) Math.ceil(0.01 * n));
                case 3 -> 1 + r.nextInt(Math.max(1, n + 2));
                default -> Math.max(1, (int) Math.ceil(0.3 * n));
            };
            int offset = r.nextInt(5);
            float[] x = new float[offset + n + r.nextInt(3)];
            System.arraycopy(values(r, n, kind), 0, x, offset, n);
            // One codec reused across calls of every size, as a job's is: its scratch and histogram carry over.
            int slot = Math.min(k, codecs.length) - 1;
            if (codecs[slot] == null || codecs[slot].k() != k) {
                codecs[slot] = new TopKCodec(k);
            }
            assertThat(encoded(codecs[slot], x, offset, n))
                    .as("trial %d: n %d, k %d, kind %d", trial, n, k, kind)
                    .isEqualTo(reference(x, offset, n, k));
        }
    }

    @Test
    void aNaNIsRefusedWithTheSameMessageAndNothingWritten() {
        for (int at : new int[] {0, 1, 500, 999}) {
            float[] x = values(new SplittableRandom(at), 1000, 0);
            x[at] = Float.NaN;
            x[999 - at / 2] = Float.intBitsToFloat(0xFFC00001); // a negative NaN with a payload, later or equal
            String expected;
            try {
                reference(x, 0, 1000, 10);
                throw new AssertionError("the reference accepted a NaN");
            } catch (IllegalArgumentException e) {
                expected = e.getMessage();
            }
            ByteBuffer out = ByteBuffer.allocate(4 + 80);
            assertThatThrownBy(() -> new TopKCodec(10).encode(x, 0, 1000, out)).hasMessage(expected);
            assertThat(out.array()).containsOnly(0);
            assertThat(out.position()).isZero();
        }
        float[] all = new float[3];
        Arrays.fill(all, Float.NaN);
        assertThatThrownBy(() -> new TopKCodec(3).encode(all, 0, 3, ByteBuffer.allocate(28)))
                .hasMessage("TOPK input must not be NaN, got NaN at index 0");
    }
}
