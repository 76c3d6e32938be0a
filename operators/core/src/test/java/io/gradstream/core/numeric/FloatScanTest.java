package io.gradstream.core.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FloatScanTest {
    private static final int C = FloatScan.CHUNK;
    private static final float[] NON_FINITE = {
        Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY,
        Float.NaN,
        Float.intBitsToFloat(0x7fc0_0001),
        Float.intBitsToFloat(0xffa0_0000)
    };
    private static final float[] EXTREME_FINITE = {
        Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 0f, -0f, 65504f
    };

    /** The definition: the first index whose element is not finite. */
    private static int reference(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Float.isFinite(a[i])) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void finiteArraysOfEveryShapeHaveNone() {
        SplittableRandom r = new SplittableRandom(1);
        for (int n : new int[] {0, 1, 63, C - 1, C, C + 1, 3 * C + 17, 65536}) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                // Extreme finite values too: (x - x) must stay 0 for MAX_VALUE, subnormals and -0.
                a[i] = r.nextInt(8) == 0
                        ? EXTREME_FINITE[r.nextInt(EXTREME_FINITE.length)]
                        : (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(200) - 100));
            }
            assertThat(FloatScan.firstNonFinite(a)).as("n=%d", n).isEqualTo(-1);
        }
    }

    @Test
    void findsTheFirstNonFiniteWhereverItIs() {
        int n = 3 * C + 17;
        int[] positions = {0, 1, C - 1, C, C + 1, 2 * C - 1, 2 * C + 2047, 2 * C + 2048, 3 * C - 1, 3 * C, n - 1};
        for (int p : positions) {
            for (float bad : NON_FINITE) {
                float[] a = gaussian(n, p);
                a[p] = bad;
                assertThat(FloatScan.firstNonFinite(a)).as("%s at %d", bad, p).isEqualTo(p);
                // A second, later one does not change the answer; an earlier one does.
                if (p + 5 < n) {
                    a[p + 5] = Float.NaN;
                    assertThat(FloatScan.firstNonFinite(a)).isEqualTo(p);
                }
            }
        }
    }

    @Test
    void subrangesAgreeWithTheDefinition() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 2000; trial++) {
            int n = r.nextInt(4 * C + 100);
            float[] a = gaussian(n, trial);
            int bads = r.nextInt(4);
            for (int b = 0; b < bads && n > 0; b++) {
                a[r.nextInt(n)] = NON_FINITE[r.nextInt(NON_FINITE.length)];
            }
            int from = n == 0 ? 0 : r.nextInt(n + 1);
            int to = from + r.nextInt(n - from + 1);
            assertThat(FloatScan.firstNonFinite(a, from, to))
                    .as("n=%d [%d, %d)", n, from, to)
                    .isEqualTo(reference(a, from, to));
        }
    }

    /** Threads that call in turn never share scratch: each keeps finding exactly its own array's first bad element. */
    @Test
    void threadsCallingAtOnceEachGetTheirOwnAnswer() throws Exception {
        int threads = 4;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<Integer>> wrong = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int bad = t * C + 100 + t; // a different chunk and offset per thread
                wrong.add(pool.submit(() -> {
                    float[] a = gaussian(4 * C, bad);
                    float[] clean = a.clone();
                    a[bad] = Float.NaN;
                    int errors = 0;
                    for (int i = 0; i < 3000; i++) {
                        errors += FloatScan.firstNonFinite(a) == bad ? 0 : 1;
                        errors += FloatScan.firstNonFinite(clean) == -1 ? 0 : 1;
                    }
                    return errors;
                }));
            }
            for (var f : wrong) {
                assertThat(f.get()).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
