package io.gradstream.core.schedule;

/**
 * A schedule's learning rate (and, for schedules that cycle it, momentum) by optimizer step, computed once per step
 * and kept for the last {@link #WINDOW} steps asked for: the shards of one model ask for nearby steps, in any order,
 * and a torch scheduler can only walk forwards. A shard that lags further behind is served by a second cursor that
 * walks forwards from where it last stood (from step 0 only when asked for an even older step), so memory stays
 * bounded however long a model trains. Not thread-safe.
 */
public final class ScheduleTable {
    /** Steps kept: 64 Ki, 1 MiB per model and subtask. */
    public static final int WINDOW = 1 << 16;

    private final LrSchedule schedule;
    private final double baseLr;
    private final double baseMomentum;
    private final int window;
    private final LrCursor cursor;
    private final double[] lrs;
    private final double[] momenta;
    /** Steps 0..known-1 have been computed; the last min(known, window) of them are in the ring. */
    private long known;

    private LrCursor trail;
    private long trailStep = -1;

    /** The table of {@code schedule} started at the optimizer's base learning rate and momentum (NaN: none). */
    public ScheduleTable(LrSchedule schedule, double baseLr, double baseMomentum) {
        this(schedule, baseLr, baseMomentum, WINDOW);
    }

    ScheduleTable(LrSchedule schedule, double baseLr, double baseMomentum, int window) {
        this.schedule = schedule;
        this.baseLr = baseLr;
        this.baseMomentum = baseMomentum;
        this.window = window;
        this.cursor = schedule.start(baseLr, baseMomentum);
        this.lrs = new double[window];
        this.momenta = new double[window];
    }

    /** The learning rate of step {@code step} (0 = the first). */
    public double lr(long step) {
        return in(step) ? lrs[(int) (step % window)] : trailTo(step).lr();
    }

    /** The momentum the schedule sets for step {@code step}, or NaN when it does not cycle momentum. */
    public double momentum(long step) {
        return in(step) ? momenta[(int) (step % window)] : trailTo(step).momentum();
    }

    /** Bytes this table holds: constant, whatever steps were asked for. */
    public long bytes() {
        return 16L * window;
    }

    /** Whether {@code step} is in the ring, after computing every step up to it. */
    private boolean in(long step) {
        if (step < 0) {
            throw new IllegalStateException("step " + step + " is before the schedule's start");
        }
        while (known <= step) {
            if (known > 0) {
                cursor.step();
            }
            int i = (int) (known % window);
            lrs[i] = cursor.lr();
            momenta[i] = cursor.momentum();
            known++;
        }
        return step >= known - window;
    }

    /** The trailing cursor at {@code step}, a step older than the ring holds. */
    private LrCursor trailTo(long step) {
        if (trail == null || trailStep > step) {
            trail = schedule.start(baseLr, baseMomentum);
            trailStep = 0;
        }
        while (trailStep < step) {
            trail.step();
            trailStep++;
        }
        return trail;
    }
}
