package io.gradstream.core.optim;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Shared plumbing of the optimizers: resolving defaults, torch's range checks, and the length checks every step
 * makes before touching an array. Subclasses hold their hyperparameters as final fields read once per step.
 */
abstract class AbstractOptimizer implements Optimizer {

    /** torch's implementation-selection flags: accepted for state_dict compatibility, no effect on the numbers. */
    static final Set<String> IMPLEMENTATION_FLAGS = Set.of("foreach", "capturable", "differentiable", "fused");

    private final String name;
    private final Hyperparameters resolved;
    protected final double lr;
    protected final boolean maximize;

    /**
     * @param defaults every hyperparameter the optimizer knows with its torch default ({@code null} = required)
     */
    AbstractOptimizer(String name, Hyperparameters given, Map<String, Object> defaults) {
        this.name = name;
        Set<String> allowed = new LinkedHashSet<>(defaults.keySet());
        allowed.add("maximize");
        allowed.addAll(IMPLEMENTATION_FLAGS);
        given.requireOnly(name, allowed);
        Map<String, Object> merged = new LinkedHashMap<>();
        defaults.forEach((k, v) -> {
            Object value = given.has(k) ? given.asMap().get(k) : v;
            if (value != null) {
                merged.put(k, value);
            }
        });
        merged.put("maximize", given.flag("maximize", false));
        for (String flag : IMPLEMENTATION_FLAGS) {
            if (given.has(flag)) {
                merged.put(flag, given.flag(flag, false));
            }
        }
        this.resolved = Hyperparameters.of(merged);
        this.lr = resolved.requiredNumber("lr");
        this.maximize = resolved.flag("maximize", false);
        atLeast("lr", lr, 0.0);
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final Hyperparameters hyperparameters() {
        return resolved;
    }

    @Override
    public final double learningRate() {
        return lr;
    }

    protected final Hyperparameters hp() {
        return resolved;
    }

    static void atLeast(String parameter, double value, double min) {
        if (!(value >= min)) {
            throw new InvalidHyperparameterException(parameter, value, "must be >= " + min);
        }
    }

    /** torch's check for betas: {@code 0 <= beta < 1}. */
    static double[] betas(Hyperparameters hp) {
        double[] b = hp.pair("betas", 0.9, 0.999);
        for (int i = 0; i < 2; i++) {
            if (!(b[i] >= 0.0 && b[i] < 1.0)) {
                throw new InvalidHyperparameterException("betas[" + i + "]", b[i], "must be in [0, 1)");
            }
        }
        return b;
    }

    static Map<String, Object> defaults(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    static List<Double> pairOf(double a, double b) {
        return List.of(a, b);
    }

    /** Checks that the gradient (and any slot passed) has the parameters' length; returns it. */
    static int checkLengths(float[] params, float[] grad) {
        if (params == null || grad == null) {
            throw new IllegalArgumentException("params and grad must not be null");
        }
        if (params.length != grad.length) {
            throw new IllegalArgumentException(
                    "grad has " + grad.length + " elements but params have " + params.length);
        }
        return params.length;
    }

    /** The gradient sign torch applies for {@code maximize}: multiplying by -1 is exact, so g*sign == -g bit for bit. */
    final float gradSign() {
        return maximize ? -1f : 1f;
    }

    @Override
    public String toString() {
        return name + resolved;
    }
}
