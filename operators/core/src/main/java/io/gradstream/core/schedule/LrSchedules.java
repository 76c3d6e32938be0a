package io.gradstream.core.schedule;

import io.gradstream.core.optim.Hyperparameters;
import io.gradstream.core.optim.InvalidHyperparameterException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Creates learning-rate schedules by torch's class name and hyperparameter names, validating them as torch does.
 * {@code constant} (no schedule), ConstantLR, StepLR, MultiStepLR, ExponentialLR, PolynomialLR, CosineAnnealingLR,
 * CosineAnnealingWarmRestarts, LinearLR, OneCycleLR and SequentialLR, whose {@code schedulers} hyperparameter is a
 * list of {@code {"scheduler": NAME, "hyperparameters": {...}}} and {@code milestones} the steps where each next one
 * takes over (warmup then decay).
 */
public final class LrSchedules {

    public static final String CONSTANT = "constant";

    /** Canonical names. */
    public static final List<String> NAMES = List.of(
            CONSTANT,
            "ConstantLR",
            "StepLR",
            "MultiStepLR",
            "ExponentialLR",
            "PolynomialLR",
            "CosineAnnealingLR",
            "CosineAnnealingWarmRestarts",
            "LinearLR",
            "OneCycleLR",
            "SequentialLR");

    private LrSchedules() {}

    public static LrSchedule constant() {
        return create(CONSTANT, Hyperparameters.empty());
    }

    public static LrSchedule create(String name, Map<String, ?> hyperparameters) {
        return create(name, Hyperparameters.of(hyperparameters));
    }

    /**
     * @throws IllegalArgumentException for an unknown schedule name
     * @throws InvalidHyperparameterException naming the parameter and value for invalid hyperparameters
     */
    public static LrSchedule create(String name, Hyperparameters hp) {
        String canonical = canonicalName(name);
        // Building one cursor validates everything once, here, rather than at the first step of a running job.
        // (Whether the optimizer has a momentum to cycle is only known at start().)
        build(canonical, hp, new ParamGroup(1.0, 0.0));
        return new LrSchedule() {
            @Override
            public String name() {
                return canonical;
            }

            @Override
            public Hyperparameters hyperparameters() {
                return hp;
            }

            @Override
            public LrCursor start(double baseLr, double baseMomentum) {
                return build(canonical, hp, new ParamGroup(baseLr, baseMomentum));
            }

            @Override
            public String toString() {
                return canonical + hp;
            }
        };
    }

    public static String canonicalName(String name) {
        if (name != null) {
            String bare = name.trim();
            if (bare.startsWith("torch.optim.lr_scheduler.")) {
                bare = bare.substring("torch.optim.lr_scheduler.".length());
            }
            for (String known : NAMES) {
                if (known.equalsIgnoreCase(bare)) {
                    return known;
                }
            }
            if (bare.equalsIgnoreCase("none")) {
                return CONSTANT;
            }
        }
        throw new IllegalArgumentException("Unknown LR schedule '" + name + "'; known: " + String.join(", ", NAMES));
    }

    private static TorchScheduler build(String name, Hyperparameters hp, ParamGroup g) {
        return switch (name) {
            case CONSTANT -> {
                hp.requireOnly(name, Set.of());
                yield new Schedulers.Constant(g).initialStep();
            }
            case "ConstantLR" -> {
                hp.requireOnly(name, Set.of("factor", "total_iters"));
                double factor = hp.number("factor", 1.0 / 3);
                if (factor > 1.0 || factor < 0) {
                    throw new InvalidHyperparameterException("factor", factor, "must be in [0, 1]");
                }
                yield new Schedulers.ConstantLr(g, factor, nonNegative(hp, "total_iters", 5)).initialStep();
            }
            case "StepLR" -> {
                hp.requireOnly(name, Set.of("step_size", "gamma"));
                yield new Schedulers.StepLr(g, positive(hp, "step_size", -1), hp.number("gamma", 0.1)).initialStep();
            }
            case "MultiStepLR" -> {
                hp.requireOnly(name, Set.of("milestones", "gamma"));
                double[] ms = hp.numbers("milestones", null);
                if (ms == null) {
                    throw new InvalidHyperparameterException("milestones", "missing", "a list of steps is required");
                }
                yield new Schedulers.MultiStepLr(g, toSteps("milestones", ms), hp.number("gamma", 0.1)).initialStep();
            }
            case "ExponentialLR" -> {
                hp.requireOnly(name, Set.of("gamma"));
                yield new Schedulers.ExponentialLr(g, hp.requiredNumber("gamma")).initialStep();
            }
            case "PolynomialLR" -> {
                hp.requireOnly(name, Set.of("total_iters", "power"));
                yield new Schedulers.PolynomialLr(g, positive(hp, "total_iters", 5), hp.number("power", 1.0))
                        .initialStep();
            }
            case "CosineAnnealingLR" -> {
                hp.requireOnly(name, Set.of("T_max", "eta_min"));
                yield new Schedulers.CosineAnnealingLr(g, positive(hp, "T_max", -1), hp.number("eta_min", 0))
                        .initialStep();
            }
            case "CosineAnnealingWarmRestarts" -> {
                hp.requireOnly(name, Set.of("T_0", "T_mult", "eta_min"));
                yield new Schedulers.CosineAnnealingWarmRestarts(
                                g, positive(hp, "T_0", -1), positive(hp, "T_mult", 1), hp.number("eta_min", 0))
                        .initialStep();
            }
            case "LinearLR" -> {
                hp.requireOnly(name, Set.of("start_factor", "end_factor", "total_iters"));
                double start = hp.number("start_factor", 1.0 / 3);
                double end = hp.number("end_factor", 1.0);
                if (start > 1.0 || start <= 0) {
                    throw new InvalidHyperparameterException("start_factor", start, "must be in (0, 1]");
                }
                if (end > 1.0 || end < 0) {
                    throw new InvalidHyperparameterException("end_factor", end, "must be in [0, 1]");
                }
                yield new Schedulers.LinearLr(g, start, end, positive(hp, "total_iters", 5)).initialStep();
            }
            case "OneCycleLR" -> oneCycle(hp, g);
            case "SequentialLR" -> sequential(hp, g);
            default -> throw new IllegalStateException("unreachable: " + name);
        };
    }

    private static TorchScheduler oneCycle(Hyperparameters hp, ParamGroup g) {
        hp.requireOnly(
                "OneCycleLR",
                Set.of(
                        "max_lr",
                        "total_steps",
                        "epochs",
                        "steps_per_epoch",
                        "pct_start",
                        "anneal_strategy",
                        "cycle_momentum",
                        "base_momentum",
                        "max_momentum",
                        "div_factor",
                        "final_div_factor",
                        "three_phase"));
        long totalSteps;
        if (hp.has("total_steps")) {
            totalSteps = positive(hp, "total_steps", -1);
        } else if (hp.has("epochs") && hp.has("steps_per_epoch")) {
            totalSteps = positive(hp, "epochs", -1) * positive(hp, "steps_per_epoch", -1);
        } else {
            throw new InvalidHyperparameterException(
                    "total_steps", "missing", "define either total_steps or (epochs and steps_per_epoch)");
        }
        double pctStart = hp.number("pct_start", 0.3);
        if (pctStart < 0 || pctStart > 1) {
            throw new InvalidHyperparameterException("pct_start", pctStart, "must be in [0, 1]");
        }
        String strategy = hp.string("anneal_strategy", "cos");
        if (!strategy.equals("cos") && !strategy.equals("linear")) {
            throw new InvalidHyperparameterException("anneal_strategy", strategy, "must be 'cos' or 'linear'");
        }
        double maxLr = hp.requiredNumber("max_lr");
        if (maxLr < 0) {
            throw new InvalidHyperparameterException("max_lr", maxLr, "must be >= 0");
        }
        boolean cycleMomentum = hp.flag("cycle_momentum", true);
        if (cycleMomentum && Double.isNaN(g.momentum)) {
            throw new InvalidHyperparameterException(
                    "cycle_momentum",
                    true,
                    "the optimizer must have momentum or betas to cycle; set cycle_momentum=false");
        }
        double divFactor = hp.number("div_factor", 25.0);
        double finalDivFactor = hp.number("final_div_factor", 1e4);
        if (divFactor <= 0 || finalDivFactor <= 0) {
            throw new InvalidHyperparameterException(
                    divFactor <= 0 ? "div_factor" : "final_div_factor",
                    divFactor <= 0 ? divFactor : finalDivFactor,
                    "must be > 0");
        }
        return new PhasedSchedulers.OneCycleLr(
                        g,
                        totalSteps,
                        maxLr,
                        pctStart,
                        strategy.equals("cos"),
                        cycleMomentum,
                        hp.number("base_momentum", 0.85),
                        hp.number("max_momentum", 0.95),
                        divFactor,
                        finalDivFactor,
                        hp.flag("three_phase", false))
                .initialStep();
    }

    private static TorchScheduler sequential(Hyperparameters hp, ParamGroup g) {
        hp.requireOnly("SequentialLR", Set.of("schedulers", "milestones"));
        Object raw = hp.asMap().get("schedulers");
        if (!(raw instanceof List<?> list) || list.isEmpty()) {
            throw new InvalidHyperparameterException(
                    "schedulers", raw, "must be a non-empty list of {\"scheduler\": NAME, \"hyperparameters\": {...}}");
        }
        double[] ms = hp.numbers("milestones", new double[0]);
        long[] milestones = toSteps("milestones", ms);
        if (milestones.length != list.size() - 1) {
            throw new InvalidHyperparameterException(
                    "milestones",
                    hp.asMap().get("milestones"),
                    "SequentialLR needs one milestone fewer than schedulers (" + list.size() + " schedulers)");
        }
        List<TorchScheduler> subs = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> entry)) {
                throw new InvalidHyperparameterException("schedulers[" + i + "]", list.get(i), "must be an object");
            }
            Object subName = entry.containsKey("scheduler") ? entry.get("scheduler") : entry.get("name");
            Object subHp = entry.containsKey("hyperparameters") ? entry.get("hyperparameters") : Map.of();
            if (!(subName instanceof String s) || !(subHp instanceof Map<?, ?> m)) {
                throw new InvalidHyperparameterException(
                        "schedulers[" + i + "]", entry, "needs a \"scheduler\" name and a \"hyperparameters\" object");
            }
            String canonical = canonicalName(s);
            if (canonical.equals("SequentialLR")) {
                throw new InvalidHyperparameterException("schedulers[" + i + "]", s, "cannot nest SequentialLR");
            }
            @SuppressWarnings("unchecked")
            Map<String, ?> subMap = (Map<String, ?>) m;
            subs.add(build(canonical, Hyperparameters.of(subMap), g));
        }
        return new PhasedSchedulers.SequentialLr(g, subs, milestones);
    }

    private static long positive(Hyperparameters hp, String name, long defaultValue) {
        if (defaultValue < 0 && !hp.has(name)) {
            throw new InvalidHyperparameterException(name, "missing", "a positive integer is required");
        }
        long v = hp.integer(name, defaultValue);
        if (v <= 0) {
            throw new InvalidHyperparameterException(name, v, "must be a positive integer");
        }
        return v;
    }

    private static long nonNegative(Hyperparameters hp, String name, long defaultValue) {
        long v = hp.integer(name, defaultValue);
        if (v < 0) {
            throw new InvalidHyperparameterException(name, v, "must be >= 0");
        }
        return v;
    }

    private static long[] toSteps(String name, double[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            if (values[i] != Math.rint(values[i]) || values[i] < 0) {
                throw new InvalidHyperparameterException(
                        name + "[" + i + "]", values[i], "must be a non-negative integer");
            }
            out[i] = (long) values[i];
            if (i > 0 && out[i] < out[i - 1] && name.equals("milestones")) {
                throw new InvalidHyperparameterException(
                        name, java.util.Arrays.toString(values), "must be in increasing order");
            }
        }
        return out;
    }
}
