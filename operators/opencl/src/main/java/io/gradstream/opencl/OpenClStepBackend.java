package io.gradstream.opencl;

import static org.jocl.CL.CL_TRUE;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The OpenCL {@link StepBackend}: each run of consecutive shards with the same kernel family is concatenated into one
 * buffer per array (shards on {@value ClContext#CHUNK}-element boundaries), stepped by one kernel launch with the
 * per-shard scalars in a small buffer, and read back into host staging arrays. Shards are written back only after the
 * whole batch succeeded, so a failure leaves the batch untouched (the {@link StepBackend} contract). With a resident
 * budget, keyed shards' optimizer slots stay on the device between steps ({@link ResidentState}; docs/opencl.md).
 */
public final class OpenClStepBackend implements StepBackend, ResidentState {
    private static final String PROGRAM = "optimizers";
    /** Work-groups of one chunk: see optimizers.cl. */
    private static final long[] LOCAL = {ClContext.CHUNK};

    private final ClContext ctx;
    private final boolean ownsContext;
    /** Grow-only host staging, one per role, so a steady stream of batches allocates nothing on the host either. */
    private final Map<String, float[]> staging = new HashMap<>();
    /** Device-resident slots, or null when every step moves its slots both ways. */
    private final ResidentSlots resident;

    /** Borrows {@code ctx}: the caller closes it. */
    public OpenClStepBackend(ClContext ctx) {
        this(ctx, false, 0);
    }

    /**
     * Borrows {@code ctx}; keeps up to {@code residentBytes} of keyed shards' optimizer slots on the device between
     * steps (0: none).
     */
    public OpenClStepBackend(ClContext ctx, long residentBytes) {
        this(ctx, false, residentBytes);
    }

    private OpenClStepBackend(ClContext ctx, boolean ownsContext, long residentBytes) {
        if (residentBytes < 0) {
            throw new IllegalArgumentException("residentBytes must be >= 0, got " + residentBytes);
        }
        this.ctx = ctx;
        this.ownsContext = ownsContext;
        this.resident = residentBytes > 0 ? new ResidentSlots(ctx, residentBytes) : null;
    }

    /** Opens its own context on the device {@code config} selects; {@link #close()} releases it. */
    public static OpenClStepBackend open(ClConfig config) {
        return open(config, 0);
    }

    /** As {@link #open(ClConfig)}, keeping up to {@code residentBytes} of optimizer slots on the device. */
    public static OpenClStepBackend open(ClConfig config, long residentBytes) {
        ClContext ctx = ClContext.open(config);
        try {
            return new OpenClStepBackend(ctx, true, residentBytes);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    public ClContext context() {
        return ctx;
    }

    @Override
    public String name() {
        return "opencl:" + ctx.device().name();
    }

    /** Whether a kernel exists for {@code optimizer} (all of the core's optimizers have one). */
    public static boolean supports(Optimizer optimizer) {
        try {
            OptimizerKernels.spec(optimizer.name());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public void step(List<ShardStep> batch) {
        List<Group> groups = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        for (ShardStep s : batch) {
            if (s.key() != null) {
                keys.add(s.key());
            }
        }
        int from = 0;
        try {
            while (from < batch.size()) {
                String kernel = OptimizerKernels.spec(batch.get(from).optimizer()).kernel();
                int to = from + 1;
                while (to < batch.size()
                        && OptimizerKernels.spec(batch.get(to).optimizer()).kernel().equals(kernel)) {
                    to++;
                }
                groups.add(run(batch.subList(from, to), groups.size(), keys));
                from = to;
            }
        } catch (RuntimeException e) {
            throw forgetResident(batch, wrap(e, batch), false);
        }
        // Only now, every kernel having run, do resident shards' new slots overwrite their device copies: until here
        // a failure leaves every resident copy as it was.
        try {
            if (resident != null) {
                groups.forEach(g -> g.keepResident().run());
                CL.clFinish(ctx.queue());
            }
        } catch (RuntimeException e) {
            throw forgetResident(batch, wrap(e, batch), true);
        }
        // Past this point nothing touches the device: the batch is committed whole.
        groups.forEach(g -> g.commit().run());
    }

    /** What {@link #run} leaves to do once every group has run: keep resident slots, then commit. */
    private record Group(Runnable keepResident, Runnable commit) {
    }

    private RuntimeException wrap(RuntimeException e, List<ShardStep> batch) {
        return e instanceof CLException cl ? OpenClException.wrap("OpenCL step of " + batch.size() + " shard(s) on "
                + ctx.device().name() + " failed", cl) : e;
    }

    /**
     * After a failed batch its shards' resident copies are dropped and the host's arrays serve the next step. A dirty
     * copy first goes back to the host: before the copies of the new slots began it still holds exactly the slots of
     * the state's step, so the batch can be recomputed (on the CPU). A dirty copy that cannot be read back, or may be
     * overwritten already, was the only copy: that is a {@link ResidentState.StateLostException}.
     */
    private RuntimeException forgetResident(List<ShardStep> batch, RuntimeException failure, boolean copiesBegan) {
        if (resident == null) {
            return failure;
        }
        List<String> lost = new ArrayList<>();
        for (ShardStep s : batch) {
            ResidentSlots.Entry e = s.key() == null ? null : resident.get(s.key());
            if (e == null) {
                continue;
            }
            if (e.dirty) {
                boolean saved = false;
                if (!copiesBegan && e.step == s.state().step()) {
                    try {
                        readSlots(e, s.state());
                        saved = true;
                    } catch (RuntimeException unreadable) {
                        failure.addSuppressed(unreadable);
                    }
                }
                if (!saved) {
                    lost.add(s.key());
                }
            }
            resident.drop(s.key());
        }
        if (lost.isEmpty() || failure instanceof StateLostException) {
            return failure;
        }
        return new StateLostException("OpenCL step on " + ctx.device().name() + " failed and the newest optimizer "
                + "slots of " + lost.size() + " shard(s) (e.g. " + lost.get(0) + ") were only on the device", failure);
    }

    @Override
    public List<String> dirtyKeys() {
        return resident == null ? List.of() : resident.dirtyKeys();
    }

    @Override
    public void writeBack(String key, OptimizerState state) {
        ResidentSlots.Entry e = resident == null ? null : resident.get(key);
        if (e == null || !e.dirty) {
            return;
        }
        if (e.step != state.step()) {
            throw new IllegalStateException("shard " + key + ": the device holds the slots of step " + e.step
                    + " but the state given is at step " + state.step());
        }
        try {
            readSlots(e, state);
        } catch (RuntimeException failure) {
            resident.drop(key);
            throw new StateLostException("reading the optimizer slots of shard " + key + " back from "
                    + ctx.device().name() + " failed", failure);
        }
        e.dirty = false;
    }

    @Override
    public void discard(Predicate<String> keys) {
        if (resident != null) {
            resident.discard(keys);
        }
    }

    /** Bytes of optimizer slots held on the device between steps. */
    public long residentBytes() {
        return resident == null ? 0 : resident.usedBytes();
    }

    private void readSlots(ResidentSlots.Entry e, OptimizerState state) {
        for (int slot = 0; slot < e.names.length; slot++) {
            if (e.names[slot] == null) {
                continue;
            }
            float[] target = state.tensor(e.names[slot]);
            if (target == null || target.length != e.length) {
                throw new IllegalStateException("shard " + e.key + " has no slot " + e.names[slot] + " of "
                        + e.length + " elements to write back into");
            }
            if (e.length > 0) {
                CL.clEnqueueReadBuffer(ctx.queue(), e.slots[slot], CL_TRUE, 0, 4L * e.length, Pointer.to(target), 0,
                        null, null);
            }
        }
    }

    /**
     * Steps one group (the {@code groupIndex}-th of the batch) on the device; returns what writes the results into
     * the shards' arrays and states.
     */
    private Group run(List<ShardStep> group, int groupIndex, Set<String> batchKeys) {
        final int count = group.size();
        final OptimizerKernels.Spec spec = OptimizerKernels.spec(group.get(0).optimizer());
        final int[] offsets = new int[count];
        final int[] ends = new int[count];
        long total = 0;
        for (int j = 0; j < count; j++) {
            offsets[j] = Math.toIntExact(total);
            int n = group.get(j).length();
            ends[j] = offsets[j] + n;
            total += (long) (n + ClContext.CHUNK - 1) / ClContext.CHUNK * ClContext.CHUNK;
        }
        if (total > Integer.MAX_VALUE) {
            throw new OpenClException(CL.CL_INVALID_BUFFER_SIZE, "a batch of " + total
                    + " elements exceeds one launch; split it");
        }
        final int padded = (int) total;
        final int chunks = padded / ClContext.CHUNK;
        int[] chunkShard = new int[Math.max(chunks, 1)];
        for (int j = 0; j < count; j++) {
            Arrays.fill(chunkShard, offsets[j] / ClContext.CHUNK,
                    (offsets[j] + padded(group.get(j).length())) / ClContext.CHUNK, j);
        }

        // Host-side scalars and new slots, nothing written to the states yet.
        float[] sc = new float[count * OptimizerKernels.NSC];
        List<Map<String, Double>> scalarSlots = new ArrayList<>(count);
        boolean[] slotUsed = new boolean[3];
        float[][][] slotArrays = new float[3][count][];
        boolean[][] slotCreated = new boolean[3][count];
        for (int j = 0; j < count; j++) {
            ShardStep s = group.get(j);
            Map<String, Double> out = new HashMap<>();
            OptimizerKernels.scalars(s.optimizer(), s.state(), sc, j * OptimizerKernels.NSC, out);
            scalarSlots.add(out);
            for (int slot = 0; slot < 3; slot++) {
                if (spec.slots()[slot] == null || !OptimizerKernels.usesSlot(s.optimizer(), slot)) {
                    continue;
                }
                slotUsed[slot] = true;
                float[] have = s.state().tensor(spec.slots()[slot]);
                if (have == null) {
                    // Created as torch creates it; uploaded like any slot (SGD's first momentum step overwrites it).
                    have = new float[s.length()];
                    float init = OptimizerKernels.initialValue(s.optimizer(), slot);
                    if (init != 0f) {
                        Arrays.fill(have, init);
                    }
                    slotCreated[slot][j] = true;
                }
                slotArrays[slot][j] = have;
            }
        }
        // Which shards find their slots on the device, and which keep them there after this step.
        ResidentSlots.Entry[] entries = new ResidentSlots.Entry[count];
        boolean[] onDevice = new boolean[count];
        boolean allResident = resident != null;
        for (int j = 0; j < count; j++) {
            ShardStep s = group.get(j);
            if (resident != null && s.key() != null) {
                String[] names = new String[3];
                for (int slot = 0; slot < 3; slot++) {
                    if (slotArrays[slot][j] != null) {
                        names[slot] = spec.slots()[slot];
                    }
                }
                entries[j] = residentEntry(s, names, batchKeys);
                onDevice[j] = entries[j] != null && entries[j].step == s.state().step();
            }
            allResident &= entries[j] != null;
        }

        final long bytes = 4L * padded;
        cl_command_queue q = ctx.queue();
        cl_mem p = ctx.buffer("p", bytes);
        cl_mem g = ctx.buffer("g", bytes);
        cl_mem[] slots = new cl_mem[3];
        for (int slot = 0; slot < 3; slot++) {
            // One set per group: resident slots are copied out of them after the batch's last kernel.
            slots[slot] = slotUsed[slot] ? ctx.buffer("s" + slot + "#" + groupIndex, bytes)
                    : ctx.buffer("unused" + slot, 4);
        }
        cl_mem scBuf = ctx.buffer("sc", 4L * sc.length);
        cl_mem chunkBuf = ctx.buffer("chunks", 4L * chunkShard.length);
        cl_mem endBuf = ctx.buffer("ends", 4L * count);
        write(q, scBuf, sc, 0, sc.length);
        write(q, chunkBuf, chunkShard);
        write(q, endBuf, ends);
        for (int j = 0; j < count; j++) {
            ShardStep s = group.get(j);
            write(q, p, s.params(), offsets[j], s.length());
            write(q, g, s.grad(), offsets[j], s.length());
            for (int slot = 0; slot < 3; slot++) {
                if (slotArrays[slot][j] == null) {
                    continue;
                }
                if (onDevice[j]) {
                    copy(q, entries[j].slots[slot], 0, slots[slot], offsets[j], s.length());
                } else {
                    write(q, slots[slot], slotArrays[slot][j], offsets[j], s.length());
                }
            }
        }

        float[] trust = null;
        if (spec.kernel().equals("lamb")) {
            trust = lamb(group, padded, chunks, offsets, p, g, slots, scBuf, chunkBuf, endBuf);
        } else if (padded > 0) {
            cl_kernel k = ctx.kernel(PROGRAM, spec.kernel());
            setElementwiseArgs(k, p, g, slots, scBuf, chunkBuf, endBuf);
            CL.clEnqueueNDRangeKernel(q, k, 1, null, new long[] {padded}, LOCAL, 0, null, null);
        }

        // Resident shards keep their new slots on the device (copied by keepResident, after the batch's last
        // kernel); the others read them back with the parameters into staging (one set per group, as all commit
        // together). The shards' own arrays are untouched until the commit.
        Runnable keepResident = () -> {
            for (int j = 0; j < count; j++) {
                if (entries[j] != null) {
                    for (int slot = 0; slot < 3; slot++) {
                        if (entries[j].slots[slot] != null) {
                            copy(ctx.queue(), slots[slot], offsets[j], entries[j].slots[slot], 0,
                                    group.get(j).length());
                        }
                    }
                }
            }
        };
        float[] pOut = read(q, "p" + groupIndex, p, padded);
        float[][] slotOut = new float[3][];
        for (int slot = 0; slot < 3; slot++) {
            if (slotUsed[slot] && !allResident) {
                slotOut[slot] = read(q, "s" + slot + "#" + groupIndex, slots[slot], padded);
            }
        }
        CL.clFinish(q);
        final float[] trustRatios = trust;
        return new Group(keepResident, () -> {
            for (int j = 0; j < count; j++) {
                ShardStep s = group.get(j);
                int n = s.length();
                System.arraycopy(pOut, offsets[j], s.params(), 0, n);
                OptimizerState st = s.state();
                for (int slot = 0; slot < 3; slot++) {
                    float[] target = slotArrays[slot][j];
                    if (target != null) {
                        if (entries[j] == null) {
                            System.arraycopy(slotOut[slot], offsets[j], target, 0, n);
                        }
                        if (slotCreated[slot][j]) {
                            // A resident shard's new slot exists on the host too, stale until written back.
                            st.putTensor(spec.slots()[slot], target);
                        }
                    }
                }
                scalarSlots.get(j).forEach(st::putScalar);
                if (trustRatios != null) {
                    st.putScalar("trust_ratio", trustRatios[j]);
                }
                st.setStep(st.step() + 1);
                if (entries[j] != null) {
                    entries[j].step = st.step();
                    entries[j].dirty = true;
                }
            }
        });
    }

    /**
     * The resident entry shard {@code s} steps with: its own if tagged with the state's step and holding the same
     * slots (then the device copy is current), else a fresh one loaded from the host this step, or null when the
     * budget has no room. A dirty entry that no longer fits the state is written back first when it belongs to the
     * same step (the slot set changed), and is an error when the state moved on without it.
     */
    private ResidentSlots.Entry residentEntry(ShardStep s, String[] names, Set<String> batchKeys) {
        if (Arrays.stream(names).allMatch(java.util.Objects::isNull)) {
            return null; // nothing to keep (SGD without momentum): such a shard is never dirty
        }
        ResidentSlots.Entry e = resident.get(s.key());
        if (e != null && e.step == s.state().step() && e.holds(s.length(), names)) {
            return e;
        }
        if (e != null && e.dirty) {
            if (e.step != s.state().step()) {
                throw new StateLostException("shard " + s.key() + ": the device holds the slots of step " + e.step
                        + " but the state was stepped to " + s.state().step() + " without them", null);
            }
            readSlots(e, s.state());
            e.dirty = false;
        }
        return resident.allocate(s.key(), s.length(), names, batchKeys);
    }

    /** LAMB: moments, per-chunk norms, the trust ratio per shard on the host, then the update. */
    private float[] lamb(List<ShardStep> group, int padded, int chunks, int[] offsets, cl_mem p, cl_mem g,
            cl_mem[] slots, cl_mem scBuf, cl_mem chunkBuf, cl_mem endBuf) {
        int count = group.size();
        float[] trust = new float[count];
        Arrays.fill(trust, 1f);
        if (padded == 0) {
            return trust;
        }
        cl_command_queue q = ctx.queue();
        cl_kernel moments = ctx.kernel(PROGRAM, "lamb_moments");
        setElementwiseArgs(moments, p, g, slots, scBuf, chunkBuf, endBuf);
        CL.clEnqueueNDRangeKernel(q, moments, 1, null, new long[] {padded}, LOCAL, 0, null, null);

        boolean fp64 = ctx.device().fp64();
        int accBytes = fp64 ? Sizeof.cl_double : Sizeof.cl_float;
        cl_mem partial = ctx.buffer("partial", (long) accBytes * 2 * chunks);
        cl_kernel norms = ctx.kernel(PROGRAM, "lamb_norms");
        int a = 0;
        a = arg(norms, a, p);
        a = arg(norms, a, slots[0]);
        a = arg(norms, a, slots[1]);
        a = arg(norms, a, scBuf);
        a = arg(norms, a, chunkBuf);
        a = arg(norms, a, endBuf);
        arg(norms, a, partial);
        CL.clEnqueueNDRangeKernel(q, norms, 1, null, new long[] {chunks}, null, 0, null, null);
        double[] sums = new double[2 * chunks];
        if (fp64) {
            CL.clEnqueueReadBuffer(q, partial, CL_TRUE, 0, 8L * sums.length, Pointer.to(sums), 0, null, null);
        } else {
            float[] f = new float[2 * chunks];
            CL.clEnqueueReadBuffer(q, partial, CL_TRUE, 0, 4L * f.length, Pointer.to(f), 0, null, null);
            for (int i = 0; i < f.length; i++) {
                sums[i] = f[i];
            }
        }
        float[] slr = new float[count];
        for (int j = 0; j < count; j++) {
            double pSq = 0;
            double uSq = 0;
            int first = offsets[j] / ClContext.CHUNK;
            int last = (offsets[j] + padded(group.get(j).length())) / ClContext.CHUNK;
            for (int c = first; c < last; c++) {
                pSq += sums[2 * c];
                uSq += sums[2 * c + 1];
            }
            trust[j] = OptimizerKernels.trustRatio(pSq, uSq);
            slr[j] = (float) group.get(j).optimizer().learningRate() * trust[j];
        }
        cl_mem slrBuf = ctx.buffer("slr", 4L * count);
        write(q, slrBuf, slr, 0, count);
        cl_kernel apply = ctx.kernel(PROGRAM, "lamb_apply");
        int next = setElementwiseArgs(apply, p, g, slots, scBuf, chunkBuf, endBuf);
        arg(apply, next, slrBuf);
        CL.clEnqueueNDRangeKernel(q, apply, 1, null, new long[] {padded}, LOCAL, 0, null, null);
        return trust;
    }

    private static int padded(int n) {
        return (n + ClContext.CHUNK - 1) / ClContext.CHUNK * ClContext.CHUNK;
    }

    private static int setElementwiseArgs(cl_kernel k, cl_mem p, cl_mem g, cl_mem[] slots, cl_mem sc, cl_mem chunks,
            cl_mem ends) {
        int a = 0;
        a = arg(k, a, p);
        a = arg(k, a, g);
        for (cl_mem s : slots) {
            a = arg(k, a, s);
        }
        a = arg(k, a, sc);
        a = arg(k, a, chunks);
        return arg(k, a, ends);
    }

    private static int arg(cl_kernel k, int index, cl_mem mem) {
        CL.clSetKernelArg(k, index, Sizeof.cl_mem, Pointer.to(mem));
        return index + 1;
    }

    private static void write(cl_command_queue q, cl_mem dst, float[] src, int dstOffset, int n) {
        if (n > 0) {
            CL.clEnqueueWriteBuffer(q, dst, CL_TRUE, 4L * dstOffset, 4L * n, Pointer.to(src), 0, null, null);
        }
    }

    private static void copy(cl_command_queue q, cl_mem src, int srcOffset, cl_mem dst, int dstOffset, int n) {
        if (n > 0) {
            CL.clEnqueueCopyBuffer(q, src, dst, 4L * srcOffset, 4L * dstOffset, 4L * n, 0, null, null);
        }
    }

    private static void write(cl_command_queue q, cl_mem dst, int[] src) {
        CL.clEnqueueWriteBuffer(q, dst, CL_TRUE, 0, 4L * src.length, Pointer.to(src), 0, null, null);
    }

    private float[] read(cl_command_queue q, String role, cl_mem src, int n) {
        float[] out = staging.get(role);
        if (out == null || out.length < n) {
            out = new float[n];
            staging.put(role, out);
        }
        if (n > 0) {
            CL.clEnqueueReadBuffer(q, src, CL_TRUE, 0, 4L * n, Pointer.to(out), 0, null, null);
        }
        return out;
    }

    @Override
    public void close() {
        staging.clear();
        if (resident != null) {
            resident.discard(key -> true);
        }
        if (ownsContext) {
            ctx.close();
        }
    }
}
