package io.gradstream.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reference files' JSON conventions: exact binary64 numbers, non-finite values as strings, named failures. */
class JsonTest {
    @TempDir
    Path tmp;

    private JsonNode read(String text) throws IOException, ReferenceFormatException {
        Path file = tmp.resolve("f.json");
        Files.writeString(file, text);
        return Json.read(file);
    }

    @Test
    void numbersAreExactDoublesAndNonFiniteValuesAreStrings() throws Exception {
        JsonNode root = read("{\"a\": [0.1, -0.0, 1.4012984643248171e-45, 1.7976931348623157e+308, \"nan\", \"inf\","
                + " \"-inf\", 3]}");
        double[] a = Json.numbers(root.get("a"), "a");
        assertThat(a[0]).isEqualTo(0.1);
        assertThat(Double.doubleToRawLongBits(a[1])).isEqualTo(Double.doubleToRawLongBits(-0.0));
        // Shortest repr of a float32 value parses to the identical double, and from there to the identical float.
        assertThat((float) a[2]).isEqualTo(Float.MIN_VALUE);
        assertThat(a[3]).isEqualTo(Double.MAX_VALUE);
        assertThat(a[4]).isNaN();
        assertThat(a[5]).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(a[6]).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(a[7]).isEqualTo(3.0);
        assertThat(Json.floats(root.get("a"), "a")[2]).isEqualTo(Float.MIN_VALUE);
    }

    @Test
    void writtenValuesReadBackTheSame() throws Exception {
        float[] values = {0.1f, -0f, Float.MIN_VALUE, Float.NaN, Float.NEGATIVE_INFINITY};
        JsonNode back = read("{\"v\": " + Json.array(values) + "}");
        float[] got = Json.floats(back.get("v"), "v");
        for (int i = 0; i < values.length; i++) {
            assertThat(Float.floatToRawIntBits(got[i])).as("v[%d]", i).isEqualTo(Float.floatToRawIntBits(values[i]));
        }
    }

    @Test
    void hexBitPatterns() throws Exception {
        JsonNode root = read("{\"a\": \"0x7fc00000\", \"b\": \"FFFF\", \"c\": \"0xffffffff\", \"d\": \"0x12g\"}");
        assertThat(Json.hexBits(root.get("a"), "a")).isEqualTo(0x7fc00000L);
        assertThat(Json.hexBits(root.get("b"), "b")).isEqualTo(0xffffL);
        assertThat((int) Json.hexBits(root.get("c"), "c")).isEqualTo(-1);
        assertThatThrownBy(() -> Json.hexBits(root.get("d"), "case 3.f32_bits"))
                .isInstanceOf(ReferenceFormatException.class)
                .hasMessage("case 3.f32_bits is not a hex bit pattern: 0x12g");
    }

    @Test
    void failuresNameTheFieldOrTheProblem() throws Exception {
        JsonNode root = read("{\"n\": \"abc\", \"list\": 1, \"rows\": [[1], 2], \"nothing\": null}");
        assertThatThrownBy(() -> Json.field(root, "grads")).hasMessage("missing field 'grads'");
        assertThatThrownBy(() -> Json.field(root, "nothing")).hasMessage("missing field 'nothing'");
        assertThatThrownBy(() -> Json.number(root.get("n"), "lr")).hasMessage("lr is not a number: \"abc\"");
        assertThatThrownBy(() -> Json.numbers(root.get("list"), "x")).hasMessage("x is not a list of numbers");
        assertThatThrownBy(() -> Json.matrix(root.get("rows"), "grads"))
                .hasMessage("grads[1] is not a list of numbers");
        assertThatThrownBy(() -> Json.toMap(root.get("list"), "hyperparameters"))
                .hasMessage("hyperparameters is not an object");
    }

    @Test
    void malformedFilesAndNonObjectsAreRefused() {
        for (String bad : new String[] {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "\"abc", "tru", "{1:2}"}) {
            assertThatThrownBy(() -> read(bad))
                    .as(bad)
                    .isInstanceOf(ReferenceFormatException.class)
                    .hasMessageMatching("not readable as JSON.*|not a JSON object");
        }
        assertThatThrownBy(() -> read("[1, 2]")).hasMessage("not a JSON object");
        assertThatThrownBy(() -> Json.read(tmp.resolve("missing.json")))
                .isInstanceOf(ReferenceFormatException.class)
                .hasMessageStartingWith("not readable as JSON");
    }

    @Test
    void hyperparametersBecomePlainJavaValues() throws Exception {
        JsonNode root = read("{\"hp\": {\"lr\": 0.01, \"betas\": [0.9, 0.999], \"steps\": 3, \"amsgrad\": true,"
                + " \"name\": \"x\", \"none\": null}}");
        assertThat(Json.toMap(root.get("hp"), "hp"))
                .containsEntry("lr", 0.01)
                .containsEntry("betas", java.util.List.of(0.9, 0.999))
                .containsEntry("steps", 3L)
                .containsEntry("amsgrad", true)
                .containsEntry("name", "x")
                .containsEntry("none", null);
    }
}
