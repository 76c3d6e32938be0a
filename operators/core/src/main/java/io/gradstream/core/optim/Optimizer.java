package io.gradstream.core.optim;

import java.util.List;

/**
 * One optimizer with fixed hyperparameters, applying in-place steps to float32 parameter shards with exactly
 * torch.optim's update rule (scalar hyperparameter arithmetic in double, element arithmetic in float32). Instances
 * are immutable and thread-safe; all mutable data lives in the arrays and the {@link OptimizerState} passed in.
 */
public interface Optimizer {

    /** The canonical name, e.g. {@code Adam} (see {@link Optimizers#create}). */
    String name();

    /** Every hyperparameter under torch's name, defaults resolved. */
    Hyperparameters hyperparameters();

    /** The learning rate this instance applies. */
    double learningRate();

    /**
     * The tensor slots a step of this configuration reads and writes, in a fixed order (an accelerator binds them to
     * its kernel's slot arguments in this order); torch creates absent ones on the first step.
     */
    List<Slot> slots();

    /**
     * The scalars of the next step of {@code state} (step number {@code state.step() + 1}): exactly the values
     * {@link #step} uses. Only reads {@code state}.
     */
    StepScalars scalars(OptimizerState state);

    /**
     * Applies one step: updates {@code params} and {@code state} in place from {@code grad}. Slots absent from
     * {@code state} are created as torch creates them on the first step.
     *
     * @throws IllegalArgumentException if the array lengths differ
     */
    void step(float[] params, float[] grad, OptimizerState state);

    /** The same optimizer with another learning rate (LR schedules set it per step). */
    default Optimizer withLearningRate(double lr) {
        return Optimizers.create(name(), hyperparameters().with("lr", lr));
    }

    /**
     * The same optimizer with another momentum, as OneCycleLR cycles it: {@code betas[0]} where the optimizer has
     * betas, else {@code momentum}.
     *
     * @throws IllegalArgumentException if the optimizer has neither (torch raises ValueError there too)
     */
    default Optimizer withMomentum(double momentum) {
        Hyperparameters hp = hyperparameters();
        if (hp.has("betas")) {
            double[] betas = hp.pair("betas", 0.9, 0.999);
            return Optimizers.create(name(), hp.with("betas", List.of(momentum, betas[1])));
        }
        if (hp.has("momentum")) {
            return Optimizers.create(name(), hp.with("momentum", momentum));
        }
        throw new IllegalArgumentException(name() + " has neither momentum nor betas to cycle");
    }
}
