package io.gradstream.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/** The soak's slope and verdict on synthetic series with known trends. */
class SoakAnalysisTest {

    private static final SoakAnalysis.Thresholds LIMITS = new SoakAnalysis.Thresholds(1.0, 60);

    /**
     * A 30-minute run sampled every 5 s: heap(t in minutes) plus Gaussian noise of {@code noise} MiB, a checkpoint
     * every 10 s of {@code checkpointMs(t)} ms.
     */
    private static List<SoakAnalysis.Sample> run(
            double minutes, DoubleUnaryOperator heap, double noise, DoubleUnaryOperator checkpointMs, long restarts) {
        Random rnd = new Random(42);
        List<SoakAnalysis.Sample> out = new ArrayList<>();
        for (double s = 0; s <= minutes * 60; s += 5) {
            double m = s / 60;
            long checkpoint = (long) (s / 10);
            out.add(new SoakAnalysis.Sample(
                    s,
                    heap.applyAsDouble(m) + rnd.nextGaussian() * noise,
                    4 << 20,
                    checkpoint,
                    (long) checkpointMs.applyAsDouble(m),
                    checkpoint,
                    0,
                    restarts,
                    10,
                    (long) s,
                    (long) s,
                    100));
        }
        return out;
    }

    @Test
    void aStraightLineIsFittedExactly() {
        SoakAnalysis.Fit f = SoakAnalysis.fit(new double[] {0, 1, 2, 3, 4}, new double[] {3, 5, 7, 9, 11});
        assertThat(f.slope()).isCloseTo(2, within(1e-12));
        assertThat(f.intercept()).isCloseTo(3, within(1e-12));
        assertThat(f.slopeError()).isCloseTo(0, within(1e-12));
        assertThat(f.points()).isEqualTo(5);
    }

    @Test
    void theSlopeErrorIsTheTextbookOne() {
        // Residuals +1, -1, -1, +1 around y = 0: s^2 = 4 / 2, sxx = 5, so the error is sqrt(2 / 5).
        SoakAnalysis.Fit f = SoakAnalysis.fit(new double[] {0, 1, 2, 3}, new double[] {1, -1, -1, 1});
        assertThat(f.slope()).isCloseTo(0, within(1e-12));
        assertThat(f.slopeError()).isCloseTo(Math.sqrt(2.0 / 5), within(1e-12));
        assertThat(f.significantlyPositive()).isFalse();
    }

    @Test
    void aNoisyFlatHeapIsFlat() {
        SoakAnalysis.Verdict v = SoakAnalysis.judge(run(30, m -> 300, 3, m -> 250, 0), LIMITS);
        assertThat(v.flat()).as(v.summary()).isTrue();
        assertThat(v.word()).isEqualTo("FLAT");
        assertThat(v.heap().slope()).isCloseTo(0, within(0.3));
        assertThat(v.heap().points()).isBetween(180, 182);
        assertThat(v.secondHalfFromSeconds()).isEqualTo(900);
        assertThat(v.reasons()).isEmpty();
    }

    @Test
    void aLeakOfTwoMiBPerMinuteIsGrowing() {
        SoakAnalysis.Verdict v = SoakAnalysis.judge(run(30, m -> 300 + 2 * m, 3, m -> 250, 0), LIMITS);
        assertThat(v.flat()).isFalse();
        assertThat(v.word()).isEqualTo("GROWING");
        assertThat(v.heap().slope()).isCloseTo(2, within(0.4));
        assertThat(v.reasons()).singleElement().asString().startsWith("heap after GC grows");
    }

    @Test
    void warmUpGrowthInTheFirstHalfIsNotALeak() {
        SoakAnalysis.Verdict v =
                SoakAnalysis.judge(run(30, m -> 200 + 100 * Math.min(1, m / 10), 1, m -> 250, 0), LIMITS);
        assertThat(v.flat()).as(v.summary()).isTrue();
    }

    @Test
    void aSlopeWithinItsNoiseIsNotCalledGrowth() {
        // Two minutes, second half of 13 samples, 1.5 MiB/min under noise of 10 MiB: not distinguishable from 0.
        SoakAnalysis.Verdict v = SoakAnalysis.judge(run(2, m -> 300 + 1.5 * m, 10, m -> 250, 0), LIMITS);
        assertThat(v.heap().significantlyPositive()).isFalse();
        assertThat(v.flat()).isTrue();
    }

    @Test
    void restartsAreGrowing() {
        SoakAnalysis.Verdict v = SoakAnalysis.judge(run(30, m -> 300, 1, m -> 250, 1), LIMITS);
        assertThat(v.flat()).isFalse();
        assertThat(v.restarts()).isEqualTo(1);
        assertThat(v.reasons()).containsExactly("1 restarts");
    }

    @Test
    void checkpointsGettingSlowerAreGrowing() {
        SoakAnalysis.Verdict v = SoakAnalysis.judge(run(30, m -> 300, 1, m -> 200 + 200 * m, 0), LIMITS);
        assertThat(v.flat()).isFalse();
        assertThat(v.checkpoints().slope()).isCloseTo(200, within(5.0));
        assertThat(v.reasons()).singleElement().asString().startsWith("checkpoint duration rises");
    }

    @Test
    void noisyButLevelCheckpointsAreFine() {
        Random rnd = new Random(7);
        SoakAnalysis.Verdict v = SoakAnalysis.judge(run(30, m -> 300, 1, m -> 250 + 200 * rnd.nextDouble(), 0), LIMITS);
        assertThat(v.flat()).as(v.summary()).isTrue();
        assertThat(v.medianCheckpointMillis()).isBetween(300.0, 400.0);
    }

    @Test
    void aCheckpointStallIsGrowing() {
        List<SoakAnalysis.Sample> samples = new ArrayList<>();
        for (SoakAnalysis.Sample s : run(30, m -> 300, 1, m -> 250, 0)) {
            // No checkpoint completes after minute 20 until minute 23 (the last sample without one: 22:55).
            long completed =
                    s.seconds() < 1200 ? s.checkpointsCompleted() : s.seconds() < 1380 ? 120 : s.checkpointsCompleted();
            samples.add(new SoakAnalysis.Sample(
                    s.seconds(),
                    s.heapAfterGcMiB(),
                    s.stateBytes(),
                    completed,
                    s.checkpointMillis(),
                    completed,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0));
        }
        SoakAnalysis.Verdict v = SoakAnalysis.judge(samples, LIMITS);
        assertThat(v.longestCheckpointGapSeconds()).isEqualTo(175);
        assertThat(v.flat()).isFalse();
        assertThat(v.reasons()).singleElement().asString().startsWith("no checkpoint completed for 175 s");
    }

    @Test
    void failedCheckpointsAreReported() {
        List<SoakAnalysis.Sample> samples = new ArrayList<>(run(10, m -> 300, 1, m -> 250, 0));
        SoakAnalysis.Sample last = samples.remove(samples.size() - 1);
        samples.add(new SoakAnalysis.Sample(
                last.seconds(),
                last.heapAfterGcMiB(),
                last.stateBytes(),
                last.checkpointId(),
                last.checkpointMillis(),
                last.checkpointsCompleted(),
                2,
                0,
                0,
                0,
                0,
                0));
        SoakAnalysis.Verdict v = SoakAnalysis.judge(samples, LIMITS);
        assertThat(v.failedCheckpoints()).isEqualTo(2);
        assertThat(v.flat()).isFalse();
    }

    @Test
    void tooFewSamplesAreRefused() {
        assertThatThrownBy(() -> SoakAnalysis.judge(run(0.2, m -> 1, 0, m -> 1, 0), LIMITS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 4 samples");
    }

    @Test
    void medianOfEvenAndOddCounts() {
        assertThat(SoakAnalysis.median(new double[] {3, 1, 2})).isEqualTo(2);
        assertThat(SoakAnalysis.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(SoakAnalysis.median(new double[0])).isZero();
    }
}
