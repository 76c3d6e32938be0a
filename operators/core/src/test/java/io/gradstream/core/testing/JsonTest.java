package io.gradstream.core.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    @SuppressWarnings("unchecked")
    void parsesAllValueKinds() {
        Object parsed = Json.parse(" {\"a\": [1, -2.5e-3, 0, 1E2], \"b\": {\"c\": null, \"d\": true, \"e\": false},"
                + " \"s\": \"x\\\"\\\\\\/\\n\\t\\u00e9\", \"empty\": [], \"o\": {}} ");
        assertThat(parsed).isInstanceOf(Map.class);
        Map<String, Object> map = (Map<String, Object>) parsed;
        assertThat(map.keySet()).containsExactly("a", "b", "s", "empty", "o");
        assertThat((List<Object>) map.get("a")).containsExactly(1.0, -2.5e-3, 0.0, 100.0);
        assertThat((Map<String, Object>) map.get("b")).containsEntry("c", null).containsEntry("d", true).containsEntry("e", false);
        assertThat(map.get("s")).isEqualTo("x\"\\/\n\t\u00e9");
        assertThat((List<Object>) map.get("empty")).isEmpty();
        assertThat((Map<String, Object>) map.get("o")).isEmpty();
    }

    @Test
    void numbersAreExactDoubles() {
        // Shortest repr of float32 values must parse to the identical double, and from there to the identical float.
        assertThat(Json.parse("0.1")).isEqualTo(0.1);
        assertThat(Json.parse("-0.0")).isEqualTo(-0.0);
        assertThat((float) (double) (Double) Json.parse("1.4012984643248171e-45")).isEqualTo(Float.MIN_VALUE);
        assertThat(Json.parse("[1.7976931348623157e+308]")).isEqualTo(Arrays.asList(Double.MAX_VALUE));
    }

    @Test
    void rejectsMalformedInput() {
        for (String bad : new String[] {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "\"abc", "tru",
                "[1] 2", "{\"a\":1,\"a\":2}", "\"\\x\"", "{1:2}"}) {
            assertThatThrownBy(() -> Json.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("offset");
        }
    }
}
