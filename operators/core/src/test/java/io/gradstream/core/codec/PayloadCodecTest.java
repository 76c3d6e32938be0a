package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class PayloadCodecTest {

    static List<PayloadCodec> codecs() {
        return List.of(
                PayloadCodecs.fp32(),
                PayloadCodecs.fp16(),
                PayloadCodecs.bf16(),
                PayloadCodecs.int8Block(),
                PayloadCodecs.topK(17));
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void bytesAreLittleEndianAndIdenticalForEveryBufferKind(PayloadCodec codec) {
        Random random = new Random(77);
        for (int n : new int[] {0, 1, 3, 255, 256, 257, 1031}) {
            float[] x = Int8BlockCodecTest.randomGaussian(random, n + 5, 3f);
            byte[] reference = codec.encode(Arrays.copyOfRange(x, 2, 2 + n));
            assertThat(reference).hasSize(codec.maxEncodedSize(n));

            for (ByteBuffer dst : new ByteBuffer[] {
                ByteBuffer.allocate(reference.length + 11).order(ByteOrder.BIG_ENDIAN),
                ByteBuffer.allocate(reference.length + 11).order(ByteOrder.LITTLE_ENDIAN),
                ByteBuffer.allocateDirect(reference.length + 11).order(ByteOrder.BIG_ENDIAN),
                ByteBuffer.allocate(reference.length + 40).position(13).slice()
            }) {
                ByteOrder order = dst.order();
                dst.position(5);
                int written = codec.encode(x, 2, n, dst);
                assertThat(written).isEqualTo(reference.length);
                assertThat(dst.position()).isEqualTo(5 + written);
                assertThat(dst.order()).isEqualTo(order);
                byte[] copy = new byte[written];
                dst.get(5, copy);
                assertThat(copy).isEqualTo(reference);

                float[] decoded = new float[n + 4];
                dst.position(5);
                codec.decode(dst.asReadOnlyBuffer().position(5), decoded, 3, n);
                codec.decode(dst, decoded, 3, n);
                assertThat(dst.position()).isEqualTo(5 + written);
                assertThat(decoded).startsWith(0f, 0f, 0f);
                assertThat(Arrays.copyOfRange(decoded, 3, 3 + n)).isEqualTo(codec.decode(reference, n));
            }
        }
    }

    @Test
    void fp32IsLosslessBitForBit() {
        float[] x = {
            1f,
            -0f,
            0f,
            Float.MIN_VALUE,
            Float.MAX_VALUE,
            Float.NEGATIVE_INFINITY,
            Float.intBitsToFloat(0x7FC00123),
            (float) Math.PI
        };
        byte[] encoded = PayloadCodecs.fp32().encode(x);
        assertThat(Arrays.copyOf(encoded, 4)).containsExactly(0x00, 0x00, 0x80, 0x3F);
        float[] decoded = PayloadCodecs.fp32().decode(encoded, x.length);
        for (int i = 0; i < x.length; i++) {
            assertThat(Float.floatToRawIntBits(decoded[i])).isEqualTo(Float.floatToRawIntBits(x[i]));
        }
        Random random = new Random(5);
        float[] r = new float[10_000];
        for (int i = 0; i < r.length; i++) {
            r[i] = Float.intBitsToFloat(random.nextInt());
        }
        float[] back = PayloadCodecs.fp32().decode(PayloadCodecs.fp32().encode(r), r.length);
        for (int i = 0; i < r.length; i++) {
            assertThat(Float.floatToRawIntBits(back[i])).isEqualTo(Float.floatToRawIntBits(r[i]));
        }
    }

    @Test
    void halfPrecisionCodecsEqualTheScalarHelpers() {
        Random random = new Random(6);
        float[] x = new float[20_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 2 == 0 ? Float.intBitsToFloat(random.nextInt()) : (float) random.nextGaussian();
        }
        byte[] fp16 = PayloadCodecs.fp16().encode(x);
        byte[] bf16 = PayloadCodecs.bf16().encode(x);
        assertThat(fp16).hasSize(2 * x.length);
        assertThat(bf16).hasSize(2 * x.length);
        ByteBuffer f = ByteBuffer.wrap(fp16).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = ByteBuffer.wrap(bf16).order(ByteOrder.LITTLE_ENDIAN);
        float[] fDecoded = PayloadCodecs.fp16().decode(fp16, x.length);
        float[] bDecoded = PayloadCodecs.bf16().decode(bf16, x.length);
        for (int i = 0; i < x.length; i++) {
            assertThat(f.getShort(2 * i)).isEqualTo(Fp16.fromFloat(x[i]));
            assertThat(b.getShort(2 * i)).isEqualTo(Bf16.fromFloat(x[i]));
            assertThat(Float.floatToRawIntBits(fDecoded[i]))
                    .isEqualTo(Float.floatToRawIntBits(Fp16.toFloat(Fp16.fromFloat(x[i]))));
            assertThat(Float.floatToRawIntBits(bDecoded[i]))
                    .isEqualTo(Float.floatToRawIntBits(Bf16.toFloat(Bf16.fromFloat(x[i]))));
        }
        assertThat(PayloadCodecs.fp16().encode(new float[] {1f})).containsExactly(0x00, 0x3C);
        assertThat(PayloadCodecs.bf16().encode(new float[] {1f})).containsExactly(0x80, 0x3F);
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void shortSourceIsRejectedWithAClearMessage(PayloadCodec codec) {
        float[] x = Int8BlockCodecTest.randomGaussian(new Random(8), 300, 1f);
        byte[] encoded = codec.encode(x);
        ByteBuffer truncated = ByteBuffer.wrap(Arrays.copyOf(encoded, encoded.length - 1));
        assertThatThrownBy(() -> codec.decode(truncated, new float[300], 0, 300))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(codec.encoding().name())
                .hasMessageContaining("too short");
        assertThat(truncated.position()).isZero();
        if (codec.encoding() != Encoding.TOPK) {
            // A dense payload's size pins the element count; TOPK's (count, indices, values) legitimately does not.
            assertThatThrownBy(() -> codec.decode(encoded, 299))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("trailing");
        }
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void trailingBytesAndSmallDestinationsAreRejected(PayloadCodec codec) {
        float[] x = {1f, 2f, 3f};
        byte[] encoded = Arrays.copyOf(codec.encode(x), codec.maxEncodedSize(3) + 2);
        assertThatThrownBy(() -> codec.decode(encoded, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 trailing bytes");
        ByteBuffer small = ByteBuffer.allocate(codec.maxEncodedSize(3) - 1);
        assertThatThrownBy(() -> codec.encode(x, 0, 3, small))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs " + codec.maxEncodedSize(3) + " bytes");
        assertThat(small.position()).isZero();
        assertThatThrownBy(() -> codec.encode(x, 0, 3, ByteBuffer.allocate(64).asReadOnlyBuffer()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("read-only");
        assertThatThrownBy(() -> codec.encode(x, 2, 2, ByteBuffer.allocate(64)))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> codec.maxEncodedSize(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sizesAreExactAndOverflowIsReported() {
        assertThat(PayloadCodecs.fp32().maxEncodedSize(10)).isEqualTo(40);
        assertThat(PayloadCodecs.fp16().maxEncodedSize(10)).isEqualTo(20);
        assertThat(PayloadCodecs.bf16().maxEncodedSize(10)).isEqualTo(20);
        assertThat(PayloadCodecs.int8Block().maxEncodedSize(0)).isZero();
        assertThat(PayloadCodecs.int8Block().maxEncodedSize(257)).isEqualTo(2 * 4 + 257);
        assertThat(PayloadCodecs.topK(5).maxEncodedSize(3)).isEqualTo(4 + 3 * 8);
        assertThat(PayloadCodecs.topK(5).maxEncodedSize(300)).isEqualTo(4 + 5 * 8);
        assertThatThrownBy(() -> PayloadCodecs.fp32().maxEncodedSize(Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("FP32");
    }

    @ParameterizedTest
    @EnumSource(value = Encoding.class, names = "TOPK", mode = EnumSource.Mode.EXCLUDE)
    void forEncodingReturnsTheMatchingCodec(Encoding encoding) {
        assertThat(PayloadCodecs.forEncoding(encoding).encoding()).isEqualTo(encoding);
        assertThat(PayloadCodecs.forEncoding(encoding)).isNotSameAs(PayloadCodecs.forEncoding(encoding));
    }

    @Test
    void forEncodingTopKPointsToTheFactoryThatTakesK() {
        assertThatThrownBy(() -> PayloadCodecs.forEncoding(Encoding.TOPK))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("topK(k)");
        assertThat(PayloadCodecs.topK(4).encoding()).isEqualTo(Encoding.TOPK);
        assertThat(PayloadCodecs.topK(4).k()).isEqualTo(4);
    }
}
