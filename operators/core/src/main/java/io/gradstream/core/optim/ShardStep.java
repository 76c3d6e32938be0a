package io.gradstream.core.optim;

import java.util.Objects;

/**
 * One due optimizer step of one parameter shard: the optimizer (with its scheduled learning rate) and the arrays it
 * updates in place. A {@link StepBackend} applies a batch of them.
 *
 * @param key the shard's identity ({@code model/tensor/shard}), or null; a backend that keeps state between steps
 *     ({@link ResidentState}) keeps it only for keyed steps
 */
public record ShardStep(Optimizer optimizer, float[] params, float[] grad, OptimizerState state, String key) {

    /** A step without a shard identity. */
    public ShardStep(Optimizer optimizer, float[] params, float[] grad, OptimizerState state) {
        this(optimizer, params, grad, state, null);
    }

    /** Checks everything a backend must not discover half-way: a backend failure is then a device failure. */
    public ShardStep {
        Objects.requireNonNull(optimizer, "optimizer must not be null");
        Objects.requireNonNull(state, "state must not be null");
        AbstractOptimizer.checkLengths(params, grad);
        for (var slot : state.tensors().entrySet()) {
            if (slot.getValue().length != params.length) {
                throw new IllegalArgumentException("state slot " + slot.getKey() + " has " + slot.getValue().length
                        + " elements but the parameters have " + params.length);
            }
        }
    }

    /** The number of parameters of the shard. */
    public int length() {
        return params.length;
    }
}
