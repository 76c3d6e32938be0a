package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Int8BlockCodecTest {

    private final Int8BlockCodec codec = new Int8BlockCodec();

    @Test
    void quantizeHonoursOffset() {
        float[] x = randomGaussian(new Random(3), 700, 1f);
        float[] shifted = new float[x.length + 13];
        System.arraycopy(x, 0, shifted, 13, x.length);
        float[] s1 = new float[3];
        float[] s2 = new float[3];
        byte[] q1 = new byte[x.length];
        byte[] q2 = new byte[x.length];
        Int8BlockCodec.quantize(x, 0, x.length, s1, q1);
        Int8BlockCodec.quantize(shifted, 13, x.length, s2, q2);
        assertThat(s2).isEqualTo(s1);
        assertThat(q2).isEqualTo(q1);
    }

    @Test
    void roundTripErrorIsAtMostHalfAScale() {
        Random random = new Random(11);
        for (int n : new int[] {0, 1, 255, 256, 257, 1000, 4096}) {
            float[] x = randomGaussian(random, n, (float) Math.pow(10, random.nextInt(12) - 6));
            float[] scales = new float[Int8BlockCodec.numBlocks(n)];
            byte[] q = new byte[n];
            Int8BlockCodec.quantize(x, 0, n, scales, q);
            float[] decoded = codec.decode(codec.encode(x), n);
            for (int i = 0; i < n; i++) {
                float scale = scales[i / Int8BlockCodec.BLOCK_SIZE];
                assertThat(q[i]).isBetween((byte) -127, (byte) 127);
                assertThat((double) Math.abs(decoded[i] - x[i])).isLessThanOrEqualTo(0.5000001 * scale);
            }
        }
    }

    @Test
    void negativeZeroQuotientIsStoredAsZeroAndZeroBlocksHaveZeroScale() {
        float[] x = new float[300];
        x[1] = -0f;
        x[299] = -1e-30f;
        x[298] = 1f;
        float[] scales = new float[2];
        byte[] q = new byte[300];
        Int8BlockCodec.quantize(x, 0, 300, scales, q);
        assertThat(scales[0]).isEqualTo(0f);
        assertThat(q[1]).isZero();
        assertThat(q[299]).isZero();
        assertThat(q[298]).isEqualTo((byte) 127);
    }

    @Test
    void scaleThatUnderflowsToZeroFollowsTheLiteralRule() {
        // amax = 2^-149 gives amax / 127 = 0: nonzero x / 0 = +-Inf clamps to +-127, 0 / 0 gives q = 0; all decode
        // to (signed) zero because fl32(-127 * 0.0f) = -0.0f.
        float[] x = {Float.MIN_VALUE, 0f, -Float.MIN_VALUE};
        float[] scales = new float[1];
        byte[] q = new byte[3];
        Int8BlockCodec.quantize(x, 0, 3, scales, q);
        assertThat(scales[0]).isEqualTo(0f);
        assertThat(q).containsExactly(127, 0, -127);
        assertThat(codec.decode(codec.encode(x), 3)).containsExactly(0f, 0f, -0f);
    }

    @Test
    void rejectsNonFiniteInputNamingIndexAndValue() {
        float[] x = new float[600];
        x[300] = Float.NaN;
        assertThatThrownBy(() -> codec.encode(x))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index 300")
                .hasMessageContaining("NaN");
        x[300] = 0f;
        x[5] = Float.NEGATIVE_INFINITY;
        assertThatThrownBy(() -> Int8BlockCodec.quantize(x, 0, 600, new float[3], new byte[600]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index 5")
                .hasMessageContaining("-Infinity");
    }

    @Test
    void failedEncodeLeavesPositionUnchanged() {
        float[] x = new float[600];
        x[599] = Float.POSITIVE_INFINITY;
        ByteBuffer dst = ByteBuffer.allocate(1000);
        dst.position(7);
        assertThatThrownBy(() -> codec.encode(x, 0, x.length, dst)).isInstanceOf(IllegalArgumentException.class);
        assertThat(dst.position()).isEqualTo(7);
    }

    @Test
    void rejectsMalformedPayloads() {
        float[] x = randomGaussian(new Random(5), 300, 1f);
        byte[] encoded = codec.encode(x);
        assertThatThrownBy(() -> codec.decode(java.util.Arrays.copyOf(encoded, encoded.length - 1), 300))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too short")
                .hasMessageContaining(String.valueOf(encoded.length));

        byte[] minus128 = encoded.clone();
        minus128[4 + 256 + 4 + 10] = Byte.MIN_VALUE;
        assertThatThrownBy(() -> codec.decode(minus128, 300))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("element 266")
                .hasMessageContaining("-128");

        byte[] nanScale = encoded.clone();
        ByteBuffer.wrap(nanScale).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 + 256, Float.NaN);
        assertThatThrownBy(() -> codec.decode(nanScale, 300))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scale of block 1")
                .hasMessageContaining("NaN");

        byte[] negativeScale = encoded.clone();
        ByteBuffer.wrap(negativeScale).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, -1f);
        assertThatThrownBy(() -> codec.decode(negativeScale, 300))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scale of block 0");
    }

    @Test
    void rejectsTooSmallOutputArrays() {
        assertThatThrownBy(() -> Int8BlockCodec.quantize(new float[257], 0, 257, new float[1], new byte[257]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scalesOut.length >= 2");
        assertThatThrownBy(() -> Int8BlockCodec.dequantize(new float[1], new byte[10], new float[9]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("out.length >= 10");
    }

    static float[] randomGaussian(Random random, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * scale;
        }
        return x;
    }
}
