package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ErrorFeedbackTest {

    static List<PayloadCodec> codecs() {
        return PayloadCodecTest.codecs();
    }

    /**
     * decoded + newResidual == grad + oldResidual. It holds exactly for every codec here: for TOPK trivially, and for
     * the rounding codecs because each decoded value is within a factor of 2 of the accumulated one (or 0), so the
     * subtraction acc - decoded is exact (Sterbenz) as long as nothing overflows.
     */
    @ParameterizedTest
    @MethodSource("codecs")
    void decodedPlusResidualEqualsAccumulatedGradient(PayloadCodec codec) {
        Random random = new Random(31);
        ErrorFeedback feedback = new ErrorFeedback();
        for (int n : new int[] {0, 1, 100, 1000, 300}) {
            float[] residual = Int8BlockCodecTest.randomGaussian(random, n, 0.1f);
            for (int step = 0; step < 5; step++) {
                float[] grad = Int8BlockCodecTest.randomGaussian(random, n, 10f);
                float[] gradCopy = grad.clone();
                float[] oldResidual = residual.clone();
                ByteBuffer dst = ByteBuffer.allocate(codec.maxEncodedSize(n) + 9);
                dst.position(9);
                int written = feedback.compress(grad, residual, codec, dst);
                assertThat(written).isEqualTo(codec.maxEncodedSize(n));
                assertThat(dst.position()).isEqualTo(9 + written);
                assertThat(grad).isEqualTo(gradCopy);

                float[] decoded = new float[n];
                codec.decode(dst.position(9), decoded, 0, n);
                for (int i = 0; i < n; i++) {
                    float acc = grad[i] + oldResidual[i];
                    assertThat(decoded[i] + residual[i])
                            .as("%s n=%d i=%d", codec.encoding(), n, i)
                            .isEqualTo(acc);
                }
            }
        }
    }

    @Test
    void topKResidualIsZeroAtSentIndicesAndTheAccumulatedValueElsewhere() {
        TopKCodec codec = PayloadCodecs.topK(2);
        float[] grad = {0.5f, -4f, 1f, 3f, 0.25f};
        float[] residual = {1f, 0f, 0f, 0f, 0f};
        ErrorFeedback feedback = new ErrorFeedback();
        ByteBuffer dst = ByteBuffer.allocate(64);
        feedback.compress(grad, residual, codec, dst);
        assertThat(residual).containsExactly(1.5f, 0f, 1f, 0f, 0.25f);
        float[] decoded = new float[5];
        codec.decode(dst.flip(), decoded, 0, 5);
        assertThat(decoded).containsExactly(0f, -4f, 0f, 3f, 0f);
    }

    @Test
    void everyCoordinateIsEventuallySent() {
        // Error feedback's point: with k = 1, small coordinates accumulate until they win, so over many steps the sum
        // of what was sent plus the final residual is the sum of the gradients.
        TopKCodec codec = PayloadCodecs.topK(1);
        ErrorFeedback feedback = new ErrorFeedback();
        float[] grad = {1f, 0.5f, 0.25f, 0.125f};
        float[] residual = new float[4];
        float[] sent = new float[4];
        float[] decoded = new float[4];
        ByteBuffer dst = ByteBuffer.allocate(codec.maxEncodedSize(4));
        for (int step = 0; step < 64; step++) {
            dst.clear();
            feedback.compress(grad, residual, codec, dst);
            codec.decode(dst.flip(), decoded, 0, 4);
            for (int i = 0; i < 4; i++) {
                sent[i] += decoded[i];
            }
        }
        for (int i = 0; i < 4; i++) {
            assertThat(sent[i]).as("coordinate %d", i).isGreaterThan(0f);
            assertThat(sent[i] + residual[i]).isEqualTo(64 * grad[i]);
        }
    }

    @Test
    void lengthMismatchNamesBothLengths() {
        assertThatThrownBy(() -> new ErrorFeedback()
                        .compress(new float[3], new float[4], PayloadCodecs.fp16(), ByteBuffer.allocate(64)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("grad.length = 3")
                .hasMessageContaining("residual.length = 4");
    }

    @Test
    void fp16OverflowIsRefusedAndTheResidualKept() {
        float[] residual = {0.5f, 1f};
        ByteBuffer dst = ByteBuffer.allocate(64);
        assertThatThrownBy(() ->
                        new ErrorFeedback().compress(new float[] {1f, 70000f}, residual, PayloadCodecs.fp16(), dst))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("70001.0")
                .hasMessageContaining("index 1")
                .hasMessageContaining("BF16");
        assertThat(residual).containsExactly(0.5f, 1f);
        assertThat(dst.position()).isZero();
    }
}
