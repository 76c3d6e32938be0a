package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.codec.Encoding;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The device FP16/BF16 codecs must equal the core's bit for bit: every 16-bit pattern, and 2^20 float patterns. */
class OpenClHalfPrecisionCodecITCase extends WithClContext {

    @ParameterizedTest
    @EnumSource(
            value = Encoding.class,
            names = {"FP16", "BF16"})
    void decodesEveryPatternAsTheCore(Encoding encoding) {
        PayloadCodec cpu = PayloadCodecs.forEncoding(encoding);
        PayloadCodec device = new OpenClHalfPrecisionCodec(ctx, encoding);
        byte[] all = new byte[2 * 65536];
        for (int h = 0; h < 65536; h++) {
            all[2 * h] = (byte) h;
            all[2 * h + 1] = (byte) (h >>> 8);
        }
        float[] want = new float[65536];
        float[] have = new float[65536 + 3];
        cpu.decode(ByteBuffer.wrap(all), want, 0, want.length);
        ByteBuffer src = ByteBuffer.wrap(all);
        device.decode(src, have, 3, want.length);
        assertThat(src.position()).isEqualTo(all.length);
        for (int h = 0; h < 65536; h++) {
            assertThat(Float.floatToRawIntBits(have[h + 3]))
                    .as("pattern 0x%04x", h)
                    .isEqualTo(Float.floatToRawIntBits(want[h]));
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = Encoding.class,
            names = {"FP16", "BF16"})
    void encodesLikeTheCore(Encoding encoding) {
        PayloadCodec cpu = PayloadCodecs.forEncoding(encoding);
        PayloadCodec device = new OpenClHalfPrecisionCodec(ctx, encoding);
        SplittableRandom rnd = new SplittableRandom(11);
        float[] values = new float[1 << 20];
        int[] specials = {
            0,
            0x80000000,
            0x7F800000,
            0xFF800000,
            0x7FC00000,
            0x7F800001,
            0xFFFFFFFF,
            0x477FEFFF,
            0x477FF000,
            0x38800000,
            0x387FFFFF,
            0x33000000,
            0x33000001,
            0x00000001,
            0x7F7FFFFF,
            0x3F800000
        };
        for (int i = 0; i < values.length; i++) {
            int bits = i < specials.length
                    ? specials[i]
                    // Half of the rest spread over all patterns, half near the binary16 range where rounding is busy.
                    : (i & 1) == 0
                            ? rnd.nextInt()
                            : (rnd.nextInt(0x30000000, 0x48000000) | (rnd.nextInt() & 0x80000000));
            values[i] = Float.intBitsToFloat(bits);
        }
        byte[] want = cpu.encode(values);
        byte[] have = device.encode(values);
        assertThat(have).isEqualTo(want);
    }
}
