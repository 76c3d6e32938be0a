package io.gradstream.ops.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One object of a spec file with its path ({@code privacy}, {@code tensors[1]}): typed access to its fields that
 * refuses unknown fields, missing required ones and wrong types with the field's full path and the reason, so a typo
 * in a spec file is named before anything is sent.
 */
final class Fields {
    private final JsonNode node;
    private final String path;

    private Fields(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    /**
     * The object at {@code path}, which may hold only {@code known} fields.
     *
     * @throws SpecException when it is not an object or holds another field
     */
    static Fields of(JsonNode node, String path, Set<String> known) {
        if (node == null || !node.isObject()) {
            throw new SpecException(path, "expected an object (key: value pairs), got " + describe(node));
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                String close = known.stream()
                        .filter(k -> k.equalsIgnoreCase(name))
                        .findFirst()
                        .map(k -> " (did you mean " + k + "?)")
                        .orElse("");
                throw new SpecException(
                        join(path, name),
                        "unknown field" + close + "; the fields here are " + String.join(", ", known));
            }
        }
        return new Fields(node, path);
    }

    String path(String field) {
        return join(path, field);
    }

    boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    JsonNode get(String field) {
        return node.get(field);
    }

    JsonNode require(String field, String what) {
        if (!has(field)) {
            throw new SpecException(path(field), "is required: " + what);
        }
        return node.get(field);
    }

    String string(String field) {
        return has(field) ? text(node.get(field), path(field)) : null;
    }

    Integer integer(String field) {
        return has(field) ? (int) integral(node.get(field), path(field), Integer.MIN_VALUE, Integer.MAX_VALUE) : null;
    }

    Long longValue(String field) {
        return has(field) ? integral(node.get(field), path(field), Long.MIN_VALUE, Long.MAX_VALUE) : null;
    }

    Double number(String field) {
        return has(field) ? number(node.get(field), path(field)) : null;
    }

    /** An enum symbol, matched regardless of case; the error lists the symbols. */
    <E extends Enum<E>> E symbol(String field, Class<E> type) {
        return has(field) ? symbol(node.get(field), path(field), type) : null;
    }

    static <E extends Enum<E>> E symbol(JsonNode node, String path, Class<E> type) {
        String v = text(node, path);
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name());
        }
        throw new SpecException(path, "'" + v + "' is not one of " + String.join(", ", names));
    }

    static String text(JsonNode v, String path) {
        if (!v.isTextual()) {
            throw new SpecException(path, "expected a string, got " + describe(v));
        }
        return v.textValue();
    }

    static long integral(JsonNode v, String path, long min, long max) {
        if (!v.isNumber() || !v.canConvertToExactIntegral()) {
            throw new SpecException(path, "expected an integer, got " + describe(v));
        }
        BigInteger b = v.bigIntegerValue();
        if (b.compareTo(BigInteger.valueOf(min)) < 0 || b.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new SpecException(path, b + " is out of range [" + min + ", " + max + "]");
        }
        return b.longValue();
    }

    static double number(JsonNode v, String path) {
        if (!v.isNumber()) {
            throw new SpecException(path, "expected a number, got " + describe(v));
        }
        double d = v.doubleValue();
        if (!Double.isFinite(d)) {
            throw new SpecException(path, "must be finite, got " + v);
        }
        return d;
    }

    /** What a node is, for messages: its type and, for a scalar, its value. */
    static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        if (v.isNull()) {
            return "null";
        }
        if (v.isObject()) {
            return "an object";
        }
        if (v.isArray()) {
            return "a list";
        }
        String text = v.isTextual() ? "'" + v.textValue() + "'" : v.toString();
        String type = v.isTextual() ? "string" : v.isBoolean() ? "boolean" : "number";
        return String.format(Locale.ROOT, "the %s %s", type, text.length() > 80 ? text.substring(0, 80) + "..." : text);
    }

    static String join(String path, String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    static Set<String> known(String... names) {
        return new java.util.LinkedHashSet<>(List.of(names));
    }

    static Iterable<Map.Entry<String, JsonNode>> entries(JsonNode object) {
        return object::fields;
    }
}
