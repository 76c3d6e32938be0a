package io.gradstream.core.schedule;

/**
 * torch's {@code _LRScheduler} protocol: {@code step()} increments {@code last_epoch} and sets the group's lr to
 * {@link #recursiveLr()}; {@code step(epoch)} (used by SequentialLR at a milestone) jumps to {@code epoch} through the
 * closed form where torch has one. Subclasses are the individual schedulers.
 */
abstract class TorchScheduler implements LrCursor {
    final ParamGroup group;
    final double baseLr;
    long lastEpoch = -1;
    int stepCount;

    TorchScheduler(ParamGroup group) {
        this.group = group;
        this.baseLr = group.initialLr;
    }

    /** torch's {@code get_lr()}: usually a function of the group's current lr and {@link #lastEpoch}. */
    abstract double recursiveLr();

    /** torch's {@code _get_closed_form_lr()}, or NaN where torch has none. */
    double closedFormLr() {
        return Double.NaN;
    }

    /** torch's constructor ends with {@code _initial_step()}: one step from last_epoch -1 to 0. */
    final TorchScheduler initialStep() {
        stepCount = 0;
        step();
        return this;
    }

    @Override
    public void step() {
        stepCount++;
        lastEpoch++;
        group.lr = recursiveLr();
    }

    /** torch's deprecated {@code step(epoch)}. */
    void stepTo(long epoch) {
        stepCount++;
        lastEpoch = epoch;
        double closed = closedFormLr();
        group.lr = Double.isNaN(closed) ? recursiveLr() : closed;
    }

    @Override
    public long index() {
        return lastEpoch;
    }

    @Override
    public double lr() {
        return group.lr;
    }

    @Override
    public double momentum() {
        return group.momentum;
    }
}
