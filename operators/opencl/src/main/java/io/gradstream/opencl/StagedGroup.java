package io.gradstream.opencl;

import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.Slot;
import io.gradstream.core.optim.StepScalars;
import java.util.Arrays;
import java.util.List;

/**
 * The host-side inputs of one kernel launch, read from its shards' states without changing them: the buffer layout,
 * each shard's scalars packed for the kernel, and its slot arrays in the optimizer's slot order, created as torch
 * creates them where the state has none yet (they join the state only when the batch commits).
 *
 * @param packed {@link OptimizerKernels#NSC} scalars per shard: the kernels' {@code sc} argument
 * @param slotNames the state's names of the kernel's slot arguments s0, s1, ... (the same for every shard)
 * @param slots {@code slots[slot][shard]}: the array the shard's slot is read from and committed to
 * @param created {@code created[slot][shard]}: whether that array is new, to be put into the state at commit
 */
record StagedGroup(
        List<ShardStep> shards,
        String kernel,
        BatchLayout layout,
        List<StepScalars> scalars,
        float[] packed,
        String[] slotNames,
        float[][][] slots,
        boolean[][] created) {
    /** The kernels take three slot arguments. */
    static final int MAX_SLOTS = 3;

    /**
     * Stages {@code shards}, which all run {@code packed}'s kernel; {@code scalars} and {@code packed} are theirs, in
     * the same order.
     */
    static StagedGroup of(List<ShardStep> shards, List<StepScalars> scalars, List<OptimizerKernels.Packed> packed) {
        int count = shards.size();
        String kernel = packed.get(0).kernel();
        String[] names = slotNames(shards.get(0).optimizer().slots());
        float[] sc = new float[count * OptimizerKernels.NSC];
        float[][][] slots = new float[names.length][count][];
        boolean[][] created = new boolean[names.length][count];
        int[] lengths = new int[count];
        for (int j = 0; j < count; j++) {
            ShardStep s = shards.get(j);
            lengths[j] = s.length();
            OptimizerKernels.Packed k = packed.get(j);
            if (!k.kernel().equals(kernel)) {
                throw new IllegalArgumentException("shard " + j + " runs kernel " + k.kernel() + ", not " + kernel);
            }
            System.arraycopy(k.scalars(), 0, sc, j * OptimizerKernels.NSC, k.scalars().length);
            List<Slot> layout = s.optimizer().slots();
            if (!Arrays.equals(slotNames(layout), names)) {
                throw new IllegalStateException("kernel " + kernel + " binds slots " + Arrays.toString(names) + " but "
                        + s.optimizer() + " has " + layout);
            }
            for (int slot = 0; slot < names.length; slot++) {
                float[] have = s.state().tensor(names[slot]);
                if (have == null) {
                    // Created as torch creates it; uploaded like any slot (SGD's first momentum step overwrites it).
                    have = new float[s.length()];
                    float initial = layout.get(slot).initialValue();
                    if (initial != 0f) {
                        Arrays.fill(have, initial);
                    }
                    created[slot][j] = true;
                }
                slots[slot][j] = have;
            }
        }
        return new StagedGroup(
                shards, kernel, BatchLayout.of(lengths), List.copyOf(scalars), sc, names, slots, created);
    }

    private static String[] slotNames(List<Slot> layout) {
        if (layout.size() > MAX_SLOTS) {
            throw new IllegalArgumentException("the kernels bind at most " + MAX_SLOTS + " slots, not " + layout);
        }
        return layout.stream().map(Slot::name).toArray(String[]::new);
    }

    int count() {
        return shards.size();
    }
}
