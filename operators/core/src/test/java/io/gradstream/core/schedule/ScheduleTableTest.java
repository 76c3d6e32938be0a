package io.gradstream.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The table serves any step in any order with the values of one forward walk, in memory that does not grow. */
class ScheduleTableTest {
    private static final LrSchedule OSCILLATING =
            LrSchedules.create("CosineAnnealingWarmRestarts", Map.of("T_0", 7, "T_mult", 2, "eta_min", 0.001));

    /** lr and momentum of steps 0..n-1 by one walk of a fresh cursor. */
    private static double[][] walk(LrSchedule schedule, int n) {
        LrCursor c = schedule.start(0.1, 0.9);
        double[][] out = new double[n][];
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                c.step();
            }
            out[i] = new double[] {c.lr(), c.momentum()};
        }
        return out;
    }

    @Test
    void stepsInsideAndFarBehindTheWindowHaveTheValuesOfOneForwardWalk() {
        double[][] expected = walk(OSCILLATING, 500);
        ScheduleTable table = new ScheduleTable(OSCILLATING, 0.1, 0.9, 8);
        long[] order = {0, 1, 5, 3, 40, 35, 39, 499, 498, 10, 11, 12, 300, 2, 499, 100};
        for (long step : order) {
            assertThat(table.lr(step)).as("lr of step %d", step).isEqualTo(expected[(int) step][0]);
            assertThat(table.momentum(step))
                    .as("momentum of step %d", step)
                    .isEqualTo(expected[(int) step][1], org.assertj.core.data.Offset.offset(0.0));
        }
    }

    @Test
    void oneCycleMomentumIsServedBehindTheWindowToo() {
        LrSchedule oneCycle = LrSchedules.create("OneCycleLR", Map.of("max_lr", 0.5, "total_steps", 300));
        double[][] expected = walk(oneCycle, 300);
        ScheduleTable table = new ScheduleTable(oneCycle, 0.1, 0.9, 16);
        for (long step : new long[] {299, 0, 150, 151, 20}) {
            assertThat(table.lr(step)).isEqualTo(expected[(int) step][0]);
            assertThat(table.momentum(step)).isEqualTo(expected[(int) step][1]);
        }
    }

    @Test
    void memoryStaysTheSameHoweverManyStepsWereAskedFor() {
        ScheduleTable table = new ScheduleTable(OSCILLATING, 0.1, 0.9);
        long before = table.bytes();
        for (long step = 0; step < 3L * ScheduleTable.WINDOW; step += 1) {
            table.lr(step);
        }
        assertThat(table.bytes()).isEqualTo(before).isEqualTo(16L * ScheduleTable.WINDOW);
        assertThat(table.lr(5)).as("an early step, recomputed").isEqualTo(walk(OSCILLATING, 6)[5][0]);
    }
}
