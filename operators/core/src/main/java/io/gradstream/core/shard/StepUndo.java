package io.gradstream.core.shard;

import io.gradstream.core.numeric.FloatScan;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.privacy.ftrl.FtrlShardState;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one step overwrites in its shard, kept so that a step whose result is not finite can be taken back: the version
 * and privacy ledger as they were before the step, and, copied by {@link #keep} right before the optimizer loop runs,
 * the parameters, optimizer slots and DP-FTRL tree state. Finite inputs can still overflow in the loop (a large learning rate, a squared
 * gradient above 3.4e38), and a shard must never store or publish Inf or NaN.
 */
public final class StepUndo {
    private final long version;
    private final PrivacyLedger ledger;
    private float[] params;
    private long optimizerStep;
    private final Map<String, float[]> slots = new LinkedHashMap<>();
    private Map<String, Double> scalars;
    private final TreeLedger treeLedger;
    private FtrlShardState ftrl;

    StepUndo(long version, PrivacyLedger ledger) {
        this(version, ledger, TreeLedger.EMPTY);
    }

    StepUndo(long version, PrivacyLedger ledger, TreeLedger treeLedger) {
        this.version = version;
        this.ledger = ledger;
        this.treeLedger = treeLedger;
    }

    /**
     * Copies the parameters and optimizer slots of {@code state} into arrays of {@code buffers} (null: new arrays);
     * call right before the step's loop runs.
     */
    public void keep(ShardState state, Buffers buffers) {
        params = copy(state.params(), buffers);
        OptimizerState o = state.optimizer();
        optimizerStep = o.step();
        o.tensors().forEach((name, values) -> slots.put(name, copy(values, buffers)));
        scalars = new LinkedHashMap<>(o.scalars());
        ftrl = state.ftrl() == null ? null : state.ftrl().copy();
    }

    private static float[] copy(float[] values, Buffers buffers) {
        float[] c = buffers == null ? new float[values.length] : buffers.take(values.length);
        System.arraycopy(values, 0, c, 0, values.length);
        return c;
    }

    /**
     * Puts {@code state} back as it was before the step: parameters, slots, version, ledgers and tree state. The contributions the
     * step consumed stay consumed (their workers' watermarks too), so they are not applied later either.
     */
    public void restore(ShardState state) {
        if (params == null) {
            throw new IllegalStateException("keep() was not called before the step ran");
        }
        System.arraycopy(params, 0, state.params(), 0, params.length);
        state.optimizer().restore(optimizerStep, slots, scalars);
        state.restore(version, ledger, ftrl, treeLedger);
    }

    /**
     * Arrays for {@link #keep}, reused: a batch's copies are only needed until its results are checked, so the next
     * batch takes the same arrays again instead of allocating (a 64 Ki-float Adam shard copies 768 KiB per step). At
     * most {@link #MAX_FREE_BYTES} wait between batches. Not thread-safe.
     */
    public static final class Buffers {
        static final long MAX_FREE_BYTES = 64L << 20;
        private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
        private final List<float[]> lent = new ArrayList<>();
        private long freeBytes;

        float[] take(int length) {
            ArrayDeque<float[]> q = free.get(length);
            float[] a = q == null ? null : q.poll();
            if (a == null) {
                a = new float[length];
            } else {
                freeBytes -= 4L * length;
            }
            lent.add(a);
            return a;
        }

        /** Every array lent so far may be taken again (the steps they were kept for have been checked). */
        public void reuse() {
            for (float[] a : lent) {
                if (freeBytes + 4L * a.length <= MAX_FREE_BYTES) {
                    free.computeIfAbsent(a.length, n -> new ArrayDeque<>()).push(a);
                    freeBytes += 4L * a.length;
                }
            }
            lent.clear();
        }

        /** Bytes held for reuse; for tests. */
        long freeBytes() {
            return freeBytes;
        }
    }

    /**
     * Index of the first parameter that is not finite after a step, or -1 when all parameters and optimizer slots are
     * finite (a slot's index is reported as {@code params.length + i} for its i-th element, in slot order).
     */
    public static long firstNonFinite(ShardState state) {
        List<float[]> arrays = new ArrayList<>();
        arrays.add(state.params());
        arrays.addAll(state.optimizer().tensors().values());
        long offset = 0;
        for (float[] a : arrays) {
            int bad = FloatScan.firstNonFinite(a);
            if (bad >= 0) {
                return offset + bad;
            }
            offset += a.length;
        }
        for (double v : state.optimizer().scalars().values()) {
            if (!Double.isFinite(v)) {
                return offset;
            }
        }
        FtrlShardState f = state.ftrl();
        if (f != null) {
            for (float[] a : new float[][] {f.prefixSum(), f.momentum()}) {
                int bad = FloatScan.firstNonFinite(a);
                if (bad >= 0) {
                    return offset + bad;
                }
                offset += a.length;
            }
        }
        return -1;
    }
}
