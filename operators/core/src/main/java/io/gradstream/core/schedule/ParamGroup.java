package io.gradstream.core.schedule;

/**
 * The mutable part of torch's {@code optimizer.param_groups[0]} that schedulers read and write. Chained schedules
 * (SequentialLR) share one group, which is why torch's recursive forms depend on it rather than on the step alone.
 */
final class ParamGroup {
    double lr;
    /** torch's {@code initial_lr}: the {@code base_lrs} of every scheduler attached to the group. */
    double initialLr;

    double momentum;

    ParamGroup(double lr, double momentum) {
        this.lr = lr;
        this.initialLr = lr;
        this.momentum = momentum;
    }
}
