package io.gradstream.core.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An immutable, ordered map of hyperparameters under torch's names ({@code lr}, {@code betas}, {@code weight_decay},
 * ...), with typed accessors that reject malformed and non-finite values with an error naming the parameter.
 */
public final class Hyperparameters {
    private final Map<String, Object> values;

    private Hyperparameters(Map<String, Object> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    public static Hyperparameters of(Map<String, ?> values) {
        Map<String, Object> copy = new LinkedHashMap<>();
        values.forEach((k, v) -> copy.put(k, v instanceof List<?> l ? List.copyOf(l) : v));
        return new Hyperparameters(copy);
    }

    public static Hyperparameters empty() {
        return new Hyperparameters(new LinkedHashMap<>());
    }

    /** A copy with {@code name} set to {@code value}. */
    public Hyperparameters with(String name, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(values);
        copy.put(name, value instanceof List<?> l ? List.copyOf(l) : value);
        return new Hyperparameters(copy);
    }

    public boolean has(String name) {
        return values.containsKey(name) && values.get(name) != null;
    }

    public Set<String> names() {
        return values.keySet();
    }

    public Map<String, Object> asMap() {
        return values;
    }

    /** A finite number, or {@code defaultValue} when absent. */
    public double number(String name, double defaultValue) {
        return has(name) ? toFiniteDouble(name, values.get(name)) : defaultValue;
    }

    /** A finite number that must be present (torch's {@code required} parameters, e.g. SGD's {@code lr}). */
    public double requiredNumber(String name) {
        if (!has(name)) {
            throw new InvalidHyperparameterException(name, "missing", "a value is required");
        }
        return toFiniteDouble(name, values.get(name));
    }

    /** A whole number (torch's int parameters such as {@code step_size}), or {@code defaultValue} when absent. */
    public long integer(String name, long defaultValue) {
        if (!has(name)) {
            return defaultValue;
        }
        double d = toFiniteDouble(name, values.get(name));
        if (d != Math.rint(d) || Math.abs(d) > (1L << 53)) {
            throw new InvalidHyperparameterException(name, values.get(name), "must be an integer");
        }
        return (long) d;
    }

    public boolean flag(String name, boolean defaultValue) {
        if (!has(name)) {
            return defaultValue;
        }
        Object v = values.get(name);
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(s);
        }
        throw new InvalidHyperparameterException(name, v, "must be true or false");
    }

    public String string(String name, String defaultValue) {
        if (!has(name)) {
            return defaultValue;
        }
        Object v = values.get(name);
        if (v instanceof String s) {
            return s;
        }
        throw new InvalidHyperparameterException(name, v, "must be a string");
    }

    /** A list of finite numbers (torch's tuples such as {@code betas} or MultiStepLR's {@code milestones}). */
    public double[] numbers(String name, double[] defaultValue) {
        if (!has(name)) {
            return defaultValue == null ? null : defaultValue.clone();
        }
        Object v = values.get(name);
        if (!(v instanceof List<?> list)) {
            throw new InvalidHyperparameterException(name, v, "must be a list of numbers");
        }
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = toFiniteDouble(name + "[" + i + "]", list.get(i));
        }
        return out;
    }

    /** A pair such as torch's {@code betas=(beta1, beta2)}. */
    public double[] pair(String name, double first, double second) {
        double[] p = numbers(name, new double[] {first, second});
        if (p.length != 2) {
            throw new InvalidHyperparameterException(name, values.get(name), "must hold exactly two numbers");
        }
        return p;
    }

    /** Rejects names outside {@code allowed}, as torch rejects unexpected keyword arguments. */
    public void requireOnly(String owner, Set<String> allowed) {
        for (String name : values.keySet()) {
            if (!allowed.contains(name)) {
                throw new InvalidHyperparameterException(
                        name,
                        values.get(name),
                        "unknown hyperparameter for " + owner + "; known: " + String.join(", ", allowed));
            }
        }
    }

    private static double toFiniteDouble(String name, Object v) {
        double d;
        if (v instanceof Number n) {
            d = n.doubleValue();
        } else if (v instanceof String s) {
            try {
                d = Double.parseDouble(s.trim());
            } catch (NumberFormatException e) {
                throw new InvalidHyperparameterException(name, "'" + s + "'", "must be a number");
            }
        } else {
            throw new InvalidHyperparameterException(name, v, "must be a number");
        }
        if (!Double.isFinite(d)) {
            throw new InvalidHyperparameterException(name, d, "must be finite");
        }
        return d;
    }

    @Override
    public String toString() {
        return values.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Hyperparameters h && h.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }
}
