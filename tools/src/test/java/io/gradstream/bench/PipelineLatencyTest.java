package io.gradstream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The latency phase's statistics (percentile rank, the count of updates above the target) and the drain order. */
class PipelineLatencyTest {

    @Test
    void countAboveCountsOnlyStrictlySlowerSamples() {
        long[] sorted = {1_000, 20_000, 50_000, 50_000, 50_001, 91_000};
        assertThat(LivePhases.countAbove(sorted, 50_000)).isEqualTo(2);
        assertThat(LivePhases.countAbove(sorted, 0)).isEqualTo(6);
        assertThat(LivePhases.countAbove(sorted, 91_000)).isZero();
        assertThat(LivePhases.countAbove(new long[0], 50_000)).isZero();
    }

    @Test
    void p99OfAWindowIsItsHundredthSlowestShareSoOneBurstDecidesAShortWindow() {
        // 2300 updates (a 10 s phase at ~230/s) with one burst of 25 slow ones: p99 is the 24th slowest, in the burst.
        long[] shortWindow = window(2300, 25);
        assertThat(LivePhases.percentile(shortWindow, 0.99)).isEqualTo(100_000);
        // The same burst rate over 30 s (three bursts in 6900 updates, 1.09 %) still misses; two bursts (0.72 %) do
        // not.
        assertThat(LivePhases.percentile(window(6900, 75), 0.99)).isEqualTo(100_000);
        assertThat(LivePhases.percentile(window(6900, 50), 0.99)).isEqualTo(20_000);
        assertThat(LivePhases.countAbove(window(6900, 50), 50_000)).isEqualTo(50);
    }

    @Test
    void eachRunDrainsTheEncodingsRotatedSoEveryEncodingTakesEveryPlace() {
        assertThat(PipelineBenchmark.drainOrder(1, 3)).containsExactly(0);
        assertThat(PipelineBenchmark.drainOrder(2, 0)).containsExactly(0, 1);
        assertThat(PipelineBenchmark.drainOrder(2, 1)).containsExactly(1, 0);
        assertThat(PipelineBenchmark.drainOrder(3, 4)).containsExactly(1, 2, 0);
        // Over as many runs as encodings, FP32 (0) is drained first once and in every other place once.
        int[] firstPlaces = new int[5];
        for (int run = 0; run < 5; run++) {
            int[] order = PipelineBenchmark.drainOrder(5, run);
            assertThat(order).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
            firstPlaces[order[0]]++;
        }
        assertThat(firstPlaces).containsOnly(1);
    }

    /** {@code n} sorted samples, the slowest {@code slow} of them 100 ms and the rest 20 ms. */
    private static long[] window(int n, int slow) {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) {
            a[i] = i < n - slow ? 20_000 : 100_000;
        }
        return a;
    }
}
