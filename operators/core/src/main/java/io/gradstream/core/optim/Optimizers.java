package io.gradstream.core.optim;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Creates optimizers by name with torch's hyperparameter names and defaults. Names are case-insensitive and may carry
 * torch's module prefix: {@code adam}, {@code Adam} and {@code torch.optim.Adam} are the same optimizer.
 */
public final class Optimizers {

    /** Canonical names, in the order {@code --help} and error messages list them. */
    public static final List<String> NAMES = List.of(
            Sgd.NAME,
            Adam.ADAM,
            Adam.ADAMW,
            RmsProp.NAME,
            Adagrad.NAME,
            Adamax.NAME,
            NAdam.NAME,
            RAdam.NAME,
            Lamb.NAME,
            Lion.NAME);

    private Optimizers() {}

    public static Optimizer create(String name, Map<String, ?> hyperparameters) {
        return create(name, Hyperparameters.of(hyperparameters));
    }

    /**
     * @throws IllegalArgumentException naming the optimizer when it is unknown
     * @throws InvalidHyperparameterException naming the parameter and value when a hyperparameter is invalid
     */
    public static Optimizer create(String name, Hyperparameters hp) {
        return switch (canonicalName(name)) {
            case Sgd.NAME -> new Sgd(hp);
            case Adam.ADAM -> new Adam(hp, false);
            case Adam.ADAMW -> new Adam(hp, true);
            case RmsProp.NAME -> new RmsProp(hp);
            case Adagrad.NAME -> new Adagrad(hp);
            case Adamax.NAME -> new Adamax(hp);
            case NAdam.NAME -> new NAdam(hp);
            case RAdam.NAME -> new RAdam(hp);
            case Lamb.NAME -> new Lamb(hp);
            case Lion.NAME -> new Lion(hp);
            default -> throw new IllegalStateException("unreachable: " + name);
        };
    }

    /** The canonical spelling of {@code name}; throws an error listing the known names when it is unknown. */
    public static String canonicalName(String name) {
        if (name != null) {
            String bare = name.trim();
            if (bare.startsWith("torch.optim.")) {
                bare = bare.substring("torch.optim.".length());
            }
            for (String known : NAMES) {
                if (known.toLowerCase(Locale.ROOT).equals(bare.toLowerCase(Locale.ROOT))) {
                    return known;
                }
            }
        }
        throw new IllegalArgumentException("Unknown optimizer '" + name + "'; known: " + String.join(", ", NAMES));
    }
}
