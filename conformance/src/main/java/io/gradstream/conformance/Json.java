package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one reader (and writer) of the reference files' JSON conventions: numbers are exact binary64 values, NaN/±Inf
 * are the strings {@code "nan"}, {@code "inf"}, {@code "-inf"}, bit patterns hex strings. Accessors fail with the
 * field's name when it is missing or of the wrong kind.
 */
public final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private Json() {}

    /** Parses a whole file; anything that is not one JSON object is a {@link ReferenceFormatException}. */
    public static JsonNode read(Path file) throws ReferenceFormatException {
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new ReferenceFormatException("not readable as JSON: " + firstLine(e.getMessage()), e);
        }
        if (root == null || !root.isObject()) {
            throw new ReferenceFormatException("not a JSON object");
        }
        return root;
    }

    public static JsonNode field(JsonNode obj, String name) throws ReferenceFormatException {
        JsonNode n = obj.get(name);
        if (n == null || n.isNull()) {
            throw new ReferenceFormatException("missing field '" + name + "'");
        }
        return n;
    }

    public static double number(JsonNode n, String what) throws ReferenceFormatException {
        if (n.isNumber()) {
            return n.doubleValue();
        }
        if (n.isTextual()) {
            switch (n.textValue()) {
                case "nan":
                    return Double.NaN;
                case "inf":
                    return Double.POSITIVE_INFINITY;
                case "-inf":
                    return Double.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw new ReferenceFormatException(what + " is not a number: " + abbreviate(n));
    }

    public static double[] numbers(JsonNode n, String what) throws ReferenceFormatException {
        if (!n.isArray()) {
            throw new ReferenceFormatException(what + " is not a list of numbers");
        }
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = number(n.get(i), what + "[" + i + "]");
        }
        return out;
    }

    public static float[] floats(JsonNode n, String what) throws ReferenceFormatException {
        double[] d = numbers(n, what);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    public static double[][] matrix(JsonNode n, String what) throws ReferenceFormatException {
        if (!n.isArray()) {
            throw new ReferenceFormatException(what + " is not a list of lists");
        }
        double[][] out = new double[n.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = numbers(n.get(i), what + "[" + i + "]");
        }
        return out;
    }

    /** A bit pattern such as {@code "0x7fc00000"} (the {@code 0x} is optional). */
    public static long hexBits(JsonNode n, String what) throws ReferenceFormatException {
        String s = n.asText().trim();
        try {
            return Long.parseLong(s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s, 16);
        } catch (NumberFormatException e) {
            throw new ReferenceFormatException(what + " is not a hex bit pattern: " + s, e);
        }
    }

    /** A finite value as a JSON number, a non-finite one as the reference files' string. */
    static JsonNode numberNode(double v) {
        if (Double.isNaN(v)) {
            return NODES.textNode("nan");
        }
        if (Double.isInfinite(v)) {
            return NODES.textNode(v > 0 ? "inf" : "-inf");
        }
        return NODES.numberNode(v);
    }

    static ArrayNode array(float[] values) {
        ArrayNode a = NODES.arrayNode(values.length);
        for (float v : values) {
            a.add(numberNode(v));
        }
        return a;
    }

    static ArrayNode array(double[] values) {
        ArrayNode a = NODES.arrayNode(values.length);
        for (double v : values) {
            a.add(numberNode(v));
        }
        return a;
    }

    /** A JSON object as plain Java values (Map, List, Double/Long, Boolean, String, null) for hyperparameters. */
    public static Map<String, Object> toMap(JsonNode obj, String what) throws ReferenceFormatException {
        if (!obj.isObject()) {
            throw new ReferenceFormatException(what + " is not an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) toJava(obj);
        return m;
    }

    private static Object toJava(JsonNode n) {
        if (n.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            n.fields().forEachRemaining(e -> m.put(e.getKey(), toJava(e.getValue())));
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            n.forEach(x -> l.add(toJava(x)));
            return l;
        }
        if (n.isIntegralNumber()) {
            return n.longValue();
        }
        if (n.isNumber()) {
            return n.doubleValue();
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        if (n.isNull()) {
            return null;
        }
        return n.asText();
    }

    static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
