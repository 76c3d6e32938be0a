package io.gradstream.core.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The numeric-format golden files (numpy/torch, {@code numeric_formats/*.json}) through the codecs' bulk encode
 * path, all cases of a file in one array so that they land in the vectorised loops. The conformance module checks
 * the scalar functions against the same files; NaN payloads are not normative there, so NaN results are only
 * required to be NaN of the same sign.
 */
class GoldenVectorsThroughCodecsTest {

    private static final Pattern CASE = Pattern.compile("\\{[^{}]*\"f32_bits\"[^{}]*}");
    private static final Pattern VECTOR_ARRAY = Pattern.compile("\"(x|scales|q)\":\\s*\\[([^\\]]*)]");

    @Test
    void fp16CasesEncodeToTheirReferenceBits() throws IOException {
        assertHalfCases("fp16_conversion.json", "f16_bits", PayloadCodecs.fp16());
    }

    @Test
    void bf16CasesEncodeToTheirReferenceBits() throws IOException {
        assertHalfCases("bf16_conversion.json", "bf16_bits", PayloadCodecs.bf16());
    }

    @Test
    void int8VectorsEncodeToTheirReferenceScalesAndQuantizedValues() throws IOException {
        String json = Files.readString(referenceFile("int8_blockwise_quantization.json"));
        List<double[]> arrays = new ArrayList<>();
        Matcher m = VECTOR_ARRAY.matcher(json);
        while (m.find()) {
            arrays.add(numbers(m.group(2)));
        }
        assertThat(arrays).hasSizeGreaterThanOrEqualTo(3 * 6).hasSize(arrays.size() / 3 * 3);
        for (int v = 0; v < arrays.size(); v += 3) {
            float[] x = floats(arrays.get(v));
            double[] scales = arrays.get(v + 1);
            double[] q = arrays.get(v + 2);
            ByteBuffer encoded =
                    ByteBuffer.wrap(PayloadCodecs.int8Block().encode(x)).order(ByteOrder.LITTLE_ENDIAN);
            int pos = 0;
            for (int b = 0; b < scales.length; b++) {
                assertThat(Float.floatToRawIntBits(encoded.getFloat(pos)))
                        .as("vector %d scale %d", v / 3, b)
                        .isEqualTo(Float.floatToRawIntBits((float) scales[b]));
                pos += 4;
                for (int i = 256 * b; i < Math.min(x.length, 256 * (b + 1)); i++) {
                    assertThat(encoded.get(pos++))
                            .as("vector %d q[%d]", v / 3, i)
                            .isEqualTo((byte) q[i]);
                }
            }
            assertThat(pos).isEqualTo(encoded.capacity());
        }
    }

    private static void assertHalfCases(String file, String bitsField, PayloadCodec codec) throws IOException {
        String json = Files.readString(referenceFile(file));
        List<int[]> cases = new ArrayList<>();
        Matcher m = CASE.matcher(json);
        while (m.find()) {
            cases.add(new int[] {hexField(m.group(), "f32_bits"), hexField(m.group(), bitsField)});
        }
        assertThat(cases).hasSizeGreaterThan(100);
        // Three copies, shifted by one element, so every case also sits in each position of a 64-bit word.
        int n = cases.size();
        float[] x = new float[3 * n + 1];
        for (int k = 0; k < 3; k++) {
            for (int c = 0; c < n; c++) {
                x[k * n + c + (k == 0 ? 0 : 1)] = Float.intBitsToFloat(cases.get(c)[0]);
            }
        }
        ByteBuffer encoded = ByteBuffer.wrap(codec.encode(x)).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < 3; k++) {
            for (int c = 0; c < n; c++) {
                int got = encoded.getShort(2 * (k * n + c + (k == 0 ? 0 : 1))) & 0xFFFF;
                int want = cases.get(c)[1] & 0xFFFF;
                int infinity = codec.encoding() == Encoding.BF16 ? 0x7F80 : 0x7C00;
                if ((want & 0x7FFF) > infinity) {
                    assertThat(got & 0x8000).isEqualTo(want & 0x8000);
                    assertThat(got & 0x7FFF).isGreaterThan(infinity);
                } else {
                    assertThat(Integer.toHexString(got))
                            .as("%s case %d (f32 0x%08x)", file, c, cases.get(c)[0])
                            .isEqualTo(Integer.toHexString(want));
                }
            }
        }
    }

    private static int hexField(String object, String field) {
        Matcher m =
                Pattern.compile("\"" + field + "\":\\s*\"0x([0-9a-fA-F]+)\"").matcher(object);
        assertThat(m.find()).as("%s in %s", field, object).isTrue();
        return (int) Long.parseLong(m.group(1), 16);
    }

    private static double[] numbers(String list) {
        String[] parts = list.split(",");
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Double.parseDouble(parts[i].trim());
        }
        return out;
    }

    private static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /** The golden files of the conformance module: {@code gradstream.reference.dir}, set by surefire in the parent pom. */
    private static Path referenceFile(String name) {
        String dir = System.getProperty("gradstream.reference.dir");
        Path base = dir != null && !dir.isBlank()
                ? Path.of(dir)
                : Path.of("../../conformance/src/test/resources/reference"); // an IDE run from operators/core
        return base.resolve("numeric_formats").resolve(name);
    }
}
