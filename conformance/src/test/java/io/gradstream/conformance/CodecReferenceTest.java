package io.gradstream.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.core.codec.Bf16;
import io.gradstream.core.codec.Fp16;
import io.gradstream.core.codec.Int8BlockCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The core's payload codecs against the golden vectors of {@code reference/numeric_formats}, one dynamic test per
 * case: FP16 and BF16 conversions bit for bit (NaN payloads excepted), INT8 blocks through both the static kernels
 * and the codec's wire format.
 */
class CodecReferenceTest {

    @TestFactory
    Stream<DynamicTest> fp16MatchesGoldenVectors() {
        JsonNode cases =
                ReferenceFiles.load("numeric_formats/fp16_conversion.json").get("cases");
        assertThat(cases.size()).isGreaterThan(100);
        return elements(cases)
                .map(c -> DynamicTest.dynamicTest(
                        c.get("id").asText() + " " + c.get("category").asText(), () -> {
                            int f32Bits = bits(c, "f32_bits");
                            short expected = (short) bits(c, "f16_bits");
                            float input = Float.intBitsToFloat(f32Bits);
                            short actual = Fp16.fromFloat(input);
                            float back = Fp16.toFloat(expected);
                            if (c.path("is_nan").asBoolean(false)) {
                                // NaN payloads are not normative: only NaN-ness and the sign.
                                assertThat(Fp16.toFloat(actual)).isNaN();
                                assertThat(actual & 0x8000).isEqualTo(f32Bits >>> 31 << 15);
                                assertThat(back).isNaN();
                            } else {
                                assertThat(hex(actual)).isEqualTo(hex(expected));
                                assertThat(Integer.toHexString(Float.floatToRawIntBits(back)))
                                        .isEqualTo(Integer.toHexString(bits(c, "f16_to_f32_bits")));
                            }
                        }));
    }

    @TestFactory
    Stream<DynamicTest> bf16MatchesGoldenVectors() {
        JsonNode cases =
                ReferenceFiles.load("numeric_formats/bf16_conversion.json").get("cases");
        assertThat(cases.size()).isGreaterThan(100);
        return elements(cases)
                .map(c -> DynamicTest.dynamicTest(
                        c.get("id").asText() + " " + c.get("category").asText(), () -> {
                            float input = Float.intBitsToFloat(bits(c, "f32_bits"));
                            short expected = (short) bits(c, "bf16_bits");
                            short actual = Bf16.fromFloat(input);
                            if (c.path("is_nan").asBoolean(false)) {
                                // NaN bit patterns are not normative (torch itself is inconsistent).
                                assertThat(Bf16.toFloat(actual)).isNaN();
                            } else {
                                assertThat(hex(actual)).isEqualTo(hex(expected));
                                assertThat(Integer.toHexString(Float.floatToRawIntBits(Bf16.toFloat(expected))))
                                        .isEqualTo(Integer.toHexString(bits(c, "bf16_to_f32_bits")));
                            }
                        }));
    }

    @TestFactory
    Stream<DynamicTest> int8BlocksMatchGoldenVectors() {
        Int8BlockCodec codec = new Int8BlockCodec();
        JsonNode vectors = ReferenceFiles.load("numeric_formats/int8_blockwise_quantization.json")
                .get("vectors");
        assertThat(vectors.size()).isPositive();
        return elements(vectors)
                .map(v -> DynamicTest.dynamicTest(v.get("name").asText(), () -> {
                    assertThat(v.get("block_size").asInt()).isEqualTo(Int8BlockCodec.BLOCK_SIZE);
                    float[] x = Json.floats(v.get("x"), "x");
                    float[] expectedScales = Json.floats(v.get("scales"), "scales");
                    byte[] expectedQ = bytes(Json.numbers(v.get("q"), "q"));
                    float[] expectedDequantized = Json.floats(v.get("dequantized"), "dequantized");
                    assertThat(x).hasSize(v.get("length").asInt());
                    assertThat(Int8BlockCodec.numBlocks(x.length))
                            .isEqualTo(v.get("n_blocks").asInt());

                    float[] scales = new float[Int8BlockCodec.numBlocks(x.length)];
                    byte[] q = new byte[x.length];
                    Int8BlockCodec.quantize(x, 0, x.length, scales, q);
                    assertThat(bits(scales)).isEqualTo(bits(expectedScales));
                    assertThat(q).isEqualTo(expectedQ);

                    float[] dequantized = new float[x.length];
                    Int8BlockCodec.dequantize(scales, q, dequantized);
                    assertThat(bits(dequantized)).isEqualTo(bits(expectedDequantized));

                    // The codec writes the same numbers: per block the float32 scale (LE), then that block's q bytes.
                    byte[] encoded = codec.encode(x);
                    assertThat(encoded).hasSize(codec.maxEncodedSize(x.length)).hasSize(4 * scales.length + x.length);
                    ByteBuffer le = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
                    int block = Int8BlockCodec.BLOCK_SIZE;
                    for (int b = 0; b < scales.length; b++) {
                        int blockStart = b * (block + 4);
                        assertThat(Float.floatToRawIntBits(le.getFloat(blockStart)))
                                .isEqualTo(Float.floatToRawIntBits(scales[b]));
                        for (int i = b * block; i < Math.min((b + 1) * block, x.length); i++) {
                            assertThat(encoded[blockStart + 4 + i - b * block]).isEqualTo(expectedQ[i]);
                        }
                    }
                    assertThat(bits(codec.decode(encoded, x.length))).isEqualTo(bits(expectedDequantized));
                }));
    }

    private static Stream<JsonNode> elements(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false);
    }

    private static int bits(JsonNode c, String field) throws ReferenceFormatException {
        return (int) Json.hexBits(Json.field(c, field), field);
    }

    private static byte[] bytes(double[] values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < out.length; i++) {
            assertThat(values[i]).isBetween(-127.0, 127.0);
            out[i] = (byte) values[i];
        }
        return out;
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }

    private static String hex(short bits) {
        return String.format("%04x", bits & 0xFFFF);
    }
}
