package io.gradstream.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.client.GradientEncoding;
import io.gradstream.model.Compression;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ModelSpec;
import org.junit.jupiter.api.Test;

/** What each {@code --encoding} makes of the demo model: what it accepts, and how its parameters leave. */
class DemoEncodingTest {

    private static ModelConfig config(String encoding) {
        GradientEncoding e = GradientEncoding.parse(encoding);
        ModelSpec spec = DigitsDemo.spec(2, null, 0, e);
        CompressionSpec c = DemoEncoding.compression(e);
        return ModelConfig.of("digits", spec, null, Limits.DEFAULT, name -> null, null, c);
    }

    @Test
    void eachEncodingConfiguresAValidModel() {
        ModelConfig fp32 = config("fp32");
        assertThat(fp32.compression()).isEqualTo(Compression.NONE);
        assertThat(fp32.outputEncoding()).isEqualTo(Encoding.FP32);

        ModelConfig bf16 = config("bf16");
        assertThat(bf16.outputEncoding()).isEqualTo(Encoding.BF16);
        assertThat(bf16.compression().inputEncodings()).containsExactly(Encoding.BF16);
        assertThat(bf16.compression().hasDeltaStream()).isFalse();

        ModelConfig int8 = config("int8");
        assertThat(int8.outputEncoding()).isEqualTo(Encoding.FP32);
        assertThat(int8.compression().deltaEncoding()).isEqualTo(Encoding.INT8_BLOCK);

        ModelConfig topk = config("topk:0.01");
        assertThat(topk.compression().inputEncodings()).containsExactly(Encoding.TOPK);
        assertThat(topk.compression().deltaEncoding()).isEqualTo(Encoding.INT8_BLOCK);
        assertThat(topk.compression().snapshotEvery()).isEqualTo(DemoEncoding.SNAPSHOT_EVERY);
        // An INT8 delta of a full shard: 260 bytes instead of 1024.
        assertThat(topk.compression().deltaCodec(256).maxEncodedSize(256)).isEqualTo(4 + 256);
    }
}
