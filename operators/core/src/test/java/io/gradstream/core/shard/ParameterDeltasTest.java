package io.gradstream.core.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ParameterDeltasTest {

    /** Parameters that drift like a training run: a random walk. */
    private static void step(float[] p, SplittableRandom rnd) {
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.01 * rnd.nextGaussian());
        }
    }

    /** A subscriber decodes each delta and adds it; it must hold exactly the server's published copy. */
    private static void followsBitForBit(PayloadCodec codec, double maxResidual) {
        SplittableRandom rnd = new SplittableRandom(3);
        int n = 1000;
        float[] params = new float[n];
        for (int i = 0; i < n; i++) {
            params[i] = (float) rnd.nextGaussian();
        }
        float[] published = params.clone(); // a full snapshot in FP32
        float[] subscriber = params.clone();
        ParameterDeltas deltas = new ParameterDeltas();
        for (int t = 0; t < 200; t++) {
            step(params, rnd);
            ByteBuffer dst = ByteBuffer.allocate(codec.maxEncodedSize(n));
            int written = deltas.encode(params, published, codec, dst);
            assertThat(dst.position()).isEqualTo(written);
            float[] delta = codec.decode(java.util.Arrays.copyOf(dst.array(), written), n);
            ParameterDeltas.apply(subscriber, 0, delta, n);
            assertThat(subscriber).containsExactly(published);
        }
        // Error feedback: what a delta leaves out is sent later, so the copy never drifts away from the parameters.
        double worst = 0;
        for (int i = 0; i < n; i++) {
            worst = Math.max(worst, Math.abs(params[i] - published[i]));
        }
        assertThat(worst).isLessThan(maxResidual);
    }

    @Test
    void topKAndInt8DeltasKeepSubscribersBitIdenticalAndClose() {
        // 200 steps of N(0, 0.01^2) per element: a copy without error feedback would be ~0.14 away.
        followsBitForBit(PayloadCodecs.topK(50), 0.1);
        followsBitForBit(PayloadCodecs.int8Block(), 0.001);
        followsBitForBit(PayloadCodecs.bf16(), 0.001);
    }

    @Test
    void aDeltaThatCannotBeCarriedChangesNothing() {
        float[] params = {1f, Float.MAX_VALUE};
        float[] published = {1f, -Float.MAX_VALUE};
        ByteBuffer dst = ByteBuffer.allocate(64);
        ParameterDeltas deltas = new ParameterDeltas();
        assertThatThrownBy(() -> deltas.encode(params, published, PayloadCodecs.int8Block(), dst))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("element 1");
        assertThat(published).containsExactly(1f, -Float.MAX_VALUE);
        assertThat(dst.position()).isZero();
        assertThatThrownBy(() -> deltas.encode(new float[2], new float[3], PayloadCodecs.fp32(), dst))
                .hasMessageContaining("lengths differ");
    }
}
