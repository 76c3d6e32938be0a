package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopKCodecTest {

    /** Brute force: sort all indices by (|x| descending, index ascending), keep c, return them ascending. */
    private static int[] expectedIndices(float[] x, int k) {
        return IntStream.range(0, x.length)
                .boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -Math.abs(x[i]))
                        .thenComparingInt(i -> i))
                .limit(Math.min(k, x.length))
                .mapToInt(Integer::intValue)
                .sorted()
                .toArray();
    }

    @Test
    void keepsExactlyTheKLargestMagnitudesWithLowerIndexWinningTies() {
        Random random = new Random(2024);
        for (int trial = 0; trial < 400; trial++) {
            int n = trial < 20 ? trial : random.nextInt(trial < 300 ? 300 : 5000);
            int k = 1 + random.nextInt(Math.max(1, n + 3));
            float[] x = new float[n];
            int kind = trial % 4;
            for (int i = 0; i < n; i++) {
                switch (kind) {
                    case 0: // continuous values
                        x[i] = (float) random.nextGaussian();
                        break;
                    case 1: // heavy ties, signed zeros and infinities
                        x[i] = random.nextInt(5) - 2;
                        if (x[i] == 0 && random.nextBoolean()) {
                            x[i] = -0f;
                        }
                        if (random.nextInt(50) == 0) {
                            x[i] = random.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                        }
                        break;
                    case 2: // sorted input, a classic quickselect worst case
                        x[i] = i;
                        break;
                    default: // mostly zeros, like sparse gradients
                        x[i] = random.nextInt(10) == 0 ? (float) random.nextGaussian() : 0f;
                }
            }
            TopKCodec codec = new TopKCodec(k);
            int[] expected = expectedIndices(x, k);
            ByteBuffer dst = ByteBuffer.allocate(codec.maxEncodedSize(n) + 8).order(ByteOrder.BIG_ENDIAN);
            dst.position(3);
            int written = codec.encode(x, 0, n, dst);
            assertThat(written).isEqualTo(4 + 8 * expected.length).isEqualTo(codec.maxEncodedSize(n));
            assertThat(dst.position()).isEqualTo(3 + written);
            assertThat(dst.order()).isEqualTo(ByteOrder.BIG_ENDIAN);

            ByteBuffer le = ByteBuffer.wrap(dst.array(), 3, written).slice().order(ByteOrder.LITTLE_ENDIAN);
            int c = le.getInt(0);
            assertThat(c).isEqualTo(expected.length);
            for (int j = 0; j < c; j++) {
                assertThat(le.getInt(4 + 4 * j))
                        .as("n=%d k=%d entry %d", n, k, j)
                        .isEqualTo(expected[j]);
                assertThat(Float.floatToRawIntBits(le.getFloat(4 + 4 * c + 4 * j)))
                        .isEqualTo(Float.floatToRawIntBits(x[expected[j]]));
            }

            float[] decoded = new float[n + 2];
            Arrays.fill(decoded, 99f);
            dst.position(3);
            codec.decode(dst, decoded, 1, n);
            assertThat(dst.position()).isEqualTo(3 + written);
            assertThat(decoded[0]).isEqualTo(99f);
            assertThat(decoded[n + 1]).isEqualTo(99f);
            boolean[] kept = new boolean[n];
            for (int index : expected) {
                kept[index] = true;
            }
            for (int i = 0; i < n; i++) {
                assertThat(Float.floatToRawIntBits(decoded[1 + i]))
                        .isEqualTo(Float.floatToRawIntBits(kept[i] ? x[i] : 0f));
            }
        }
    }

    @Test
    void encodesASliceWithIndicesRelativeToTheSlice() {
        float[] x = {100f, 1f, -5f, 2f, 5f, 100f};
        byte[] encoded = new byte[new TopKCodec(2).maxEncodedSize(4)];
        new TopKCodec(2).encode(x, 1, 4, ByteBuffer.wrap(encoded));
        ByteBuffer le = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
        // -5 (slice index 1) and 5 (slice index 3) tie on magnitude; both are kept, in ascending index order.
        assertThat(le.getInt()).isEqualTo(2);
        assertThat(le.getInt()).isEqualTo(1);
        assertThat(le.getInt()).isEqualTo(3);
        assertThat(le.getFloat()).isEqualTo(-5f);
        assertThat(le.getFloat()).isEqualTo(5f);
    }

    @Test
    void tieAtTheBoundaryGoesToTheLowerIndex() {
        TopKCodec codec = new TopKCodec(2);
        assertThat(codec.decode(codec.encode(new float[] {1f, -3f, 1f, 3f, -1f}), 5))
                .containsExactly(0f, -3f, 0f, 3f, 0f);
        assertThat(codec.decode(codec.encode(new float[] {2f, -2f, 2f, 2f}), 4)).containsExactly(2f, -2f, 0f, 0f);
    }

    @Test
    void emptyAndShortVectors() {
        TopKCodec codec = new TopKCodec(5);
        assertThat(codec.encode(new float[0])).containsExactly(0, 0, 0, 0);
        assertThat(codec.decode(new byte[4], 0)).isEmpty();
        assertThat(codec.decode(codec.encode(new float[] {3f, -0f, 1f}), 3)).containsExactly(3f, -0f, 1f);
    }

    @Test
    void selectFindsEveryRankAndTheHeapSortFallbackSorts() {
        Random random = new Random(9);
        for (int n = 1; n < 200; n++) {
            long[] values = random.longs(n, -50, 50).toArray();
            long[] sorted = values.clone();
            Arrays.sort(sorted);
            for (int rank = 0; rank < n; rank += 1 + n / 7) {
                assertThat(TopKCodec.select(values.clone(), n, rank)).isEqualTo(sorted[rank]);
            }
            long[] heap = values.clone();
            TopKCodec.heapSort(heap, 0, n);
            assertThat(heap).isEqualTo(sorted);
        }
    }

    @Test
    void reusesItsScratchAcrossCallsAndSizes() {
        TopKCodec codec = new TopKCodec(3);
        Random random = new Random(1);
        for (int n : new int[] {1000, 10, 5000, 7, 5000}) {
            float[] x = Int8BlockCodecTest.randomGaussian(random, n, 1f);
            float[] decoded = codec.decode(codec.encode(x), n);
            int[] expected = expectedIndices(x, 3);
            for (int i = 0; i < n; i++) {
                assertThat(decoded[i]).isEqualTo(Arrays.binarySearch(expected, i) >= 0 ? x[i] : 0f);
            }
        }
    }

    @Test
    void rejectsKBelowOne() {
        assertThatThrownBy(() -> new TopKCodec(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("k >= 1")
                .hasMessageContaining("k = 0");
        assertThatThrownBy(() -> PayloadCodecs.topK(-3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("k = -3");
    }

    @Test
    void rejectsNaNInputNamingTheIndex() {
        assertThatThrownBy(() -> new TopKCodec(1).encode(new float[] {1f, 2f, Float.NaN}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NaN")
                .hasMessageContaining("index 2");
    }

    @Test
    void rejectsMalformedPayloads() {
        TopKCodec codec = new TopKCodec(2);
        assertThatThrownBy(() -> codec.decode(new byte[3], 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too short");
        assertThatThrownBy(() -> codec.decode(payload(3, 0, 1, 2), 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("count 3");
        assertThatThrownBy(() -> codec.decode(payload(-1), 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("count -1");
        byte[] truncated = Arrays.copyOf(payload(2, 0, 1), 4 + 8 + 4);
        assertThatThrownBy(() -> codec.decode(truncated, 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too short")
                .hasMessageContaining("20 bytes");
        assertThatThrownBy(() -> codec.decode(payload(2, 1, 5), 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index 5")
                .hasMessageContaining("out of range");
        assertThatThrownBy(() -> codec.decode(payload(2, -1, 3), 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index -1");
        assertThatThrownBy(() -> codec.decode(payload(2, 3, 1), 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ascending");
        assertThatThrownBy(() -> codec.decode(payload(2, 2, 2), 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ascending");

        // A malformed payload neither moves the buffer nor touches the output.
        ByteBuffer src = ByteBuffer.wrap(payload(2, 3, 1));
        float[] out = {7f, 7f, 7f, 7f, 7f};
        assertThatThrownBy(() -> codec.decode(src, out, 0, 5)).isInstanceOf(IllegalArgumentException.class);
        assertThat(src.position()).isZero();
        assertThat(out).containsOnly(7f);
    }

    @Test
    void decodesAnyCountUpToTheLength() {
        // The receiver need not know the sender's k.
        assertThat(new TopKCodec(1).decode(payload(2, 0, 4), 5)).containsExactly(1f, 0f, 0f, 0f, 1f);
    }

    /** count, then indices, then each value 1.0f; count may disagree with the number of indices on purpose. */
    private static byte[] payload(int count, int... indices) {
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * indices.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(count);
        for (int index : indices) {
            b.putInt(index);
        }
        for (int ignored : indices) {
            b.putFloat(1f);
        }
        return b.array();
    }
}
