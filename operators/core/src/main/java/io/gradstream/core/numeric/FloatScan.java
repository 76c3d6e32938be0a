package io.gradstream.core.numeric;

/**
 * Finds the first Inf or NaN in a float32 range at vector speed. Every step checks the gradient it received and the
 * parameters and optimizer slots it wrote (three 64 Ki-float arrays for an Adam shard), and a scalar early-exit loop
 * over them cost more than the Adam step itself: Java 17's C2 vectorises neither a loop with an early exit nor a float
 * reduction.
 *
 * <p>So each chunk of {@link #CHUNK} elements is copied into scratch and folded with {@code (x - x) + (y - y)}, which is
 * {@code +0} for finite elements and NaN otherwise, in halvings that C2 vectorises (each loop reads and writes the same
 * array at the same index, shifted by a constant); a chunk that folds to NaN is then searched element by element.
 */
public final class FloatScan {
    /** Elements folded per pass: 16 KiB of scratch, which stays in the L1 cache. */
    static final int CHUNK = 4096;

    /** Scratch of one thread; no other thread ever uses its array. */
    private record Scratch(Thread owner, float[] values) {}

    /**
     * One slot per thread-id residue: a TaskManager runs one optimizer thread per slot, and a single shared slot made
     * them take it from each other on every call. A slot is written without synchronisation: a thread that reads a
     * stale one sees another owner (its fields are final) and starts its own array.
     */
    private static final Scratch[] SLOTS = new Scratch[16];

    private FloatScan() {}

    /**
     * The calling thread's scratch, kept in its slot while no other thread of the same residue calls. Not a
     * ThreadLocal: on a Flink task thread, whose many thread-locals make the lookup miss and probe, that cost as much
     * as the scan (JFR); and a new array per call costs ~1.5 us of zeroing and garbage per 64 Ki elements
     * (FiniteCheckBenchmark).
     */
    private static float[] scratch() {
        Thread me = Thread.currentThread();
        int slot = (int) me.getId() & (SLOTS.length - 1);
        Scratch s = SLOTS[slot];
        if (s == null || s.owner() != me) {
            s = new Scratch(me, new float[CHUNK]);
            SLOTS[slot] = s;
        }
        return s.values();
    }

    /** Index of the first element of {@code a} that is Inf or NaN, or -1 when all are finite. */
    public static int firstNonFinite(float[] a) {
        return firstNonFinite(a, 0, a.length);
    }

    /** Index (into {@code a}) of the first element of {@code a[from, to)} that is Inf or NaN, or -1. */
    public static int firstNonFinite(float[] a, int from, int to) {
        int start = from;
        if (to - from >= CHUNK) {
            float[] t = scratch();
            for (; start + CHUNK <= to; start += CHUNK) {
                System.arraycopy(a, start, t, 0, CHUNK);
                if (fold(t) != 0f) {
                    return scalar(a, start, start + CHUNK);
                }
            }
        }
        return scalar(a, start, to);
    }

    /** +0 when every element of {@code t} is finite, else NaN; overwrites {@code t}. */
    private static float fold(float[] t) {
        // Constant trip counts: a loop whose count varies between calls of an inlined method compiles slower.
        for (int i = 0; i < 2048; i++) {
            t[i] = (t[i] - t[i]) + (t[i + 2048] - t[i + 2048]);
        }
        for (int i = 0; i < 1024; i++) {
            t[i] = t[i] + t[i + 1024];
        }
        for (int i = 0; i < 512; i++) {
            t[i] = t[i] + t[i + 512];
        }
        for (int i = 0; i < 256; i++) {
            t[i] = t[i] + t[i + 256];
        }
        for (int i = 0; i < 128; i++) {
            t[i] = t[i] + t[i + 128];
        }
        for (int i = 0; i < 64; i++) {
            t[i] = t[i] + t[i + 64];
        }
        float s = 0f;
        for (int i = 0; i < 64; i++) {
            s += t[i];
        }
        return s;
    }

    private static int scalar(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Float.isFinite(a[i])) {
                return i;
            }
        }
        return -1;
    }
}
