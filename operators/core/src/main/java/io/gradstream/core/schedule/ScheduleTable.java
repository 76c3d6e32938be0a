package io.gradstream.core.schedule;

import java.util.Arrays;

/**
 * A schedule's learning rate (and, for schedules that cycle it, momentum) by optimizer step, computed once and
 * extended on demand: the shards of one model ask for nearby steps, in any order, and a torch scheduler can only walk
 * forwards. Not thread-safe.
 */
public final class ScheduleTable {
    private final LrCursor cursor;
    private double[] lrs = new double[0];
    private double[] momenta = new double[0];
    private int known;

    /** The table of {@code schedule} started at the optimizer's base learning rate and momentum (NaN: none). */
    public ScheduleTable(LrSchedule schedule, double baseLr, double baseMomentum) {
        this.cursor = schedule.start(baseLr, baseMomentum);
    }

    /** The learning rate of step {@code step} (0 = the first). */
    public double lr(long step) {
        int i = fill(step); // first: filling may replace the arrays
        return lrs[i];
    }

    /** The momentum the schedule sets for step {@code step}, or NaN when it does not cycle momentum. */
    public double momentum(long step) {
        int i = fill(step);
        return momenta[i];
    }

    private int fill(long step) {
        if (step < 0 || step >= Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("step " + step + " is beyond the schedule table");
        }
        while (known <= step) {
            if (known == lrs.length) {
                lrs = Arrays.copyOf(lrs, Math.max(16, 2 * known));
                momenta = Arrays.copyOf(momenta, lrs.length);
            }
            if (known > 0) {
                cursor.step();
            }
            lrs[known] = cursor.lr();
            momenta[known] = cursor.momentum();
            known++;
        }
        return (int) step;
    }
}
