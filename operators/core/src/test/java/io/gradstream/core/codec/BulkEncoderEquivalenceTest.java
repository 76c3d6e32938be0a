package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The vectorised FP16, BF16 and INT8_BLOCK encoders against the frozen per-element encoders ({@link LegacyEncoders}):
 * byte-identical output on sampled and edge-case bit patterns, at every chunk boundary and offset, into heap, sliced
 * and direct buffers. The full 2^32 sweep runs by hand: {@code -Dgradstream.codec.exhaustive=true}.
 */
class BulkEncoderEquivalenceTest {

    private static final int CHUNK = HalfPrecisionEncoder.CHUNK;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void halfPrecisionMatchesOnEvery65536thPatternWithMixedLowBits(boolean bf16) {
        float[] x = new float[1 << 17];
        for (int i = 0; i < 1 << 16; i++) {
            x[2 * i] = Float.intBitsToFloat(i << 16);
            x[2 * i + 1] = Float.intBitsToFloat(i << 16 | (mix(i) & 0xFFFF));
        }
        assertHalfMatches(bf16, x);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void halfPrecisionMatchesAroundEveryThreshold(boolean bf16) {
        int[] centers = {
            0x00000000,
            0x00000001,
            0x007FFFFF,
            0x00800000, // zero, float32 subnormals
            0x33000000,
            0x33800000,
            0x38000000,
            0x387FE000,
            0x387FF000,
            0x38800000, // fp16 zero/subnormal/normal
            0x3F800000,
            0x477FE000,
            0x477FF000,
            0x47800000, // one, fp16 max, overflow threshold
            0x7F7F8000,
            0x7F7FFFFF,
            0x7F800000,
            0x7F800001,
            0x7F808000,
            0x7FC00000,
            0x7FFF8000,
            0x7FFFFFFF
        };
        float[] x = new float[centers.length * 2 * 8192];
        int k = 0;
        for (int center : centers) {
            for (int d = -4096; d < 4096; d++) {
                x[k++] = Float.intBitsToFloat(center + d);
                x[k++] = Float.intBitsToFloat((center + d) | 0x80000000);
            }
        }
        assertHalfMatches(bf16, x);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void halfPrecisionMatchesOnTiesAndTheirNeighbours(boolean bf16) {
        SplittableRandom random = new SplittableRandom(14);
        float[] x = new float[256 * 64 * 6];
        int k = 0;
        for (int exponent = 0; exponent < 256; exponent++) {
            // The dropped bits of a tie: 13 (fp16 normal), 16 (bf16), or 126 - e + 13 for an fp16 subnormal result.
            int dropped = bf16 ? 16 : exponent >= 113 ? 13 : Math.min(24, Math.max(1, 126 - exponent + 13));
            for (int r = 0; r < 64; r++) {
                int high = random.nextInt() & 0x807FFFFF & -(1 << Math.min(dropped, 23));
                int tie = dropped > 23 ? 0 : 1 << (dropped - 1);
                for (int d = -1; d <= 1; d++) {
                    x[k++] = Float.intBitsToFloat(exponent << 23 | high | (tie + d) & 0x7FFFFF);
                    x[k++] = Float.intBitsToFloat(exponent << 23 | (high ^ (1 << Math.min(dropped, 22))) | tie);
                }
            }
        }
        assertHalfMatches(bf16, Arrays.copyOf(x, k));
    }

    @Test
    void fp16MatchesOnASweepOfTheSubnormalResultRange() {
        // Every 7th pattern from half the smallest subnormal to the smallest normal: the |x| + 0.5f path.
        int from = 0x32F00000;
        int to = 0x38900000;
        float[] x = new float[(to - from) / 7 + 1];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.intBitsToFloat((from + 7 * i) ^ (i & 1) << 31);
        }
        assertHalfMatches(false, x);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void halfPrecisionMatchesOnGradientsWithSpecialValuesAtEveryChunkPosition(boolean bf16) {
        SplittableRandom random = new SplittableRandom(bf16 ? 2 : 1);
        float[] specials = {
            Float.NaN,
            -Float.NaN,
            Float.intBitsToFloat(0xFFFFFFFF),
            Float.intBitsToFloat(0x7F800001),
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            65520f,
            -65519.99f,
            1e30f,
            Float.MAX_VALUE
        };
        for (int n : new int[] {0, 1, 2, 3, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 65536}) {
            float[] x = gradients(random, n + 8, random.nextInt(16) - 12);
            if (n > 0 && random.nextBoolean()) {
                for (int s = 0; s < 3; s++) {
                    x[random.nextInt(x.length)] = specials[random.nextInt(specials.length)];
                }
                x[4 + n - 1] = specials[random.nextInt(specials.length)]; // the odd tail
            }
            for (int offset : new int[] {0, 1, 4}) {
                assertHalfMatches(bf16, x, offset, n);
            }
        }
    }

    @Test
    void int8MatchesOnGradientsOfEveryScaleIncludingZeroAndSubnormalScales() {
        SplittableRandom random = new SplittableRandom(8);
        for (int n : new int[] {0, 1, 2, 3, 255, 256, 257, 511, 2047, 2048, 2049, 5000, 65536}) {
            float[] x = new float[n + 5];
            for (int start = 0; start < x.length; start += 256) {
                int kind = random.nextInt(6);
                int exponent = kind == 0 ? -140 : kind == 1 ? -125 : random.nextInt(60) - 30;
                for (int i = start; i < Math.min(start + 256, x.length); i++) {
                    x[i] = kind == 2 ? 0f : (float) (random.nextGaussian() * Math.scalb(1.0, exponent));
                }
                if (kind == 3) {
                    x[start] = -0f;
                }
            }
            for (int offset : new int[] {0, 3}) {
                assertInt8Matches(x, offset, n);
            }
        }
    }

    @Test
    void int8MatchesOnExactTiesAndTheClampBoundary() {
        float[] x = new float[512];
        for (int i = 0; i < 256; i++) {
            x[i] = (i - 128) + 0.5f; // scale 1 after amax 127.5 -> not exactly 1; ties still appear at many elements
        }
        x[0] = 127f; // block 1: amax 127, scale exactly 1, every x/scale exact
        for (int i = 256; i < 512; i++) {
            x[i] = (i - 384) * 0.5f;
        }
        x[256] = -127f;
        assertInt8Matches(x, 0, x.length);
        float[] big = {Float.MAX_VALUE, -Float.MAX_VALUE, 1e38f, Float.MIN_VALUE, -0f};
        assertInt8Matches(big, 0, big.length);
    }

    @Test
    void int8RejectsTheSameNonFiniteElementWithTheSameMessage() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (int at : new int[] {0, 127, 128, 255, 256, 383, 1700, 2047, 2048, 2999}) {
                float[] x = gradients(new SplittableRandom(at), 3003, 0);
                x[3 + at] = bad;
                x[3 + 2999] = bad; // a later one must not be the one reported
                Throwable legacy = catchThrowable(() -> LegacyEncoders.int8(x, 3, 3000));
                for (ByteBuffer dst : buffers(PayloadCodecs.int8Block().maxEncodedSize(3000))) {
                    assertThatThrownBy(() -> PayloadCodecs.int8Block().encode(x, 3, 3000, dst))
                            .isInstanceOf(IllegalArgumentException.class)
                            .hasMessage(legacy.getMessage());
                    assertThat(dst.position()).isEqualTo(2);
                }
            }
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "gradstream.codec.exhaustive", matches = "true")
    void everyFloat32BitPattern() {
        float[] x = new float[1 << 24];
        for (boolean bf16 : new boolean[] {false, true}) {
            PayloadCodec codec = bf16 ? PayloadCodecs.bf16() : PayloadCodecs.fp16();
            ByteBuffer dst = ByteBuffer.allocate(2 * x.length);
            for (int high = 0; high < 256; high++) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = Float.intBitsToFloat(high << 24 | i);
                }
                dst.clear();
                codec.encode(x, 0, x.length, dst);
                assertThat(dst.array())
                        .as("patterns 0x%02x000000..", high)
                        .isEqualTo(LegacyEncoders.half(bf16, x, 0, x.length));
            }
        }
    }

    static int mix(int i) {
        int h = i * 0x9E3779B9;
        return h ^ (h >>> 15);
    }

    /** Gaussian gradients scaled by 2^exponent, a few exact zeros among them. */
    static float[] gradients(SplittableRandom random, int n, int exponent) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextInt(50) == 0 ? 0f : (float) Math.scalb(random.nextGaussian(), exponent);
        }
        return x;
    }

    private static void assertHalfMatches(boolean bf16, float[] x) {
        assertHalfMatches(bf16, x, 0, x.length);
    }

    private static void assertHalfMatches(boolean bf16, float[] x, int offset, int n) {
        byte[] want = LegacyEncoders.half(bf16, x, offset, n);
        Encoding encoding = bf16 ? Encoding.BF16 : Encoding.FP16;
        PayloadCodec codec = PayloadCodecs.forEncoding(encoding);
        for (ByteBuffer dst : buffers(want.length)) {
            assertThat(codec.encode(x, offset, n, dst)).isEqualTo(want.length);
            assertThat(written(dst, want.length))
                    .as("%s of %d elements at %d", encoding, n, offset)
                    .isEqualTo(want);
        }
    }

    private static void assertInt8Matches(float[] x, int offset, int n) {
        byte[] want = LegacyEncoders.int8(x, offset, n);
        PayloadCodec codec = PayloadCodecs.int8Block();
        for (ByteBuffer dst : buffers(want.length)) {
            assertThat(codec.encode(x, offset, n, dst)).isEqualTo(want.length);
            assertThat(written(dst, want.length))
                    .as("INT8_BLOCK of %d elements at %d", n, offset)
                    .isEqualTo(want);
        }
    }

    /** A heap buffer, a heap slice (nonzero array offset) and a direct buffer, each positioned at 2. */
    private static ByteBuffer[] buffers(int size) {
        return new ByteBuffer[] {
            ByteBuffer.allocate(size + 5).position(2),
            ByteBuffer.allocate(size + 12).position(7).slice().position(2),
            ByteBuffer.allocateDirect(size + 5).position(2)
        };
    }

    private static byte[] written(ByteBuffer dst, int size) {
        assertThat(dst.position()).isEqualTo(2 + size);
        byte[] out = new byte[size];
        dst.get(2, out);
        return out;
    }
}
