package io.gradstream.opencl;

import static org.jocl.CL.CL_TRUE;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepScalars;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * Runs a {@link StagedGroup} on the device: uploads parameters, gradients and slots (device copies for resident
 * shards), launches its kernel (three for LAMB) and reads the results into host staging. The shards' own arrays and
 * states are untouched until the returned {@link Launched#commit}, which the backend runs only once every group of
 * the batch has run.
 */
final class GroupLauncher {
    private static final String PROGRAM = "optimizers";
    /** Work-groups of one chunk: see optimizers.cl. */
    private static final long[] LOCAL = {ClContext.CHUNK};

    private final ClContext ctx;
    /** Grow-only host staging, one per role, so a steady stream of batches allocates nothing on the host either. */
    private final Map<String, float[]> staging = new HashMap<>();

    GroupLauncher(ClContext ctx) {
        this.ctx = ctx;
    }

    /**
     * What is left once a group has run: {@code keepResident} enqueues the copies of resident shards' new slots over
     * their device copies (after the batch's last kernel), {@code commit} writes the results into the shards.
     */
    record Launched(Runnable keepResident, Runnable commit) {}

    /**
     * Steps {@code group}, the {@code groupIndex}-th of its batch (each group has its own slot buffers, as resident
     * slots are copied out of them after the batch's last kernel).
     *
     * @param entries the resident entry of each shard (null: none), or null when nothing is resident
     */
    Launched launch(StagedGroup group, int groupIndex, ResidentSlots.Entry[] entries) {
        final BatchLayout layout = group.layout();
        final int count = group.count();
        final int slotCount = group.slotNames().length;
        final int padded = layout.padded();
        boolean[] onDevice = new boolean[count];
        boolean allResident = entries != null;
        for (int j = 0; j < count; j++) {
            ResidentSlots.Entry e = entries == null ? null : entries[j];
            onDevice[j] = e != null && e.step == group.shards().get(j).state().step();
            allResident &= e != null;
        }

        final long bytes = 4L * padded;
        cl_command_queue q = ctx.queue();
        cl_mem p = ctx.buffer("p", bytes);
        cl_mem g = ctx.buffer("g", bytes);
        cl_mem[] slots = new cl_mem[StagedGroup.MAX_SLOTS];
        for (int slot = 0; slot < slots.length; slot++) {
            slots[slot] = slot < slotCount
                    ? ctx.buffer("s" + slot + "#" + groupIndex, bytes)
                    : ctx.buffer("unused" + slot, 4);
        }
        int[] chunkShard = layout.chunkShard();
        int[] ends = layout.ends();
        cl_mem scBuf = ctx.buffer("sc", 4L * group.packed().length);
        cl_mem chunkBuf = ctx.buffer("chunks", 4L * chunkShard.length);
        cl_mem endBuf = ctx.buffer("ends", 4L * ends.length);
        write(q, scBuf, group.packed(), 0, group.packed().length);
        write(q, chunkBuf, chunkShard);
        write(q, endBuf, ends);
        for (int j = 0; j < count; j++) {
            ShardStep s = group.shards().get(j);
            write(q, p, s.params(), layout.offset(j), s.length());
            write(q, g, s.grad(), layout.offset(j), s.length());
            for (int slot = 0; slot < slotCount; slot++) {
                if (onDevice[j]) {
                    copy(q, entries[j].slots[slot], 0, slots[slot], layout.offset(j), s.length());
                } else {
                    write(q, slots[slot], group.slots()[slot][j], layout.offset(j), s.length());
                }
            }
        }

        float[] trust = null;
        if (group.kernel().equals(OptimizerKernels.LAMB)) {
            trust = lamb(group, p, g, slots, scBuf, chunkBuf, endBuf);
        } else if (padded > 0) {
            cl_kernel k = ctx.kernel(PROGRAM, group.kernel());
            setElementwiseArgs(k, p, g, slots, scBuf, chunkBuf, endBuf);
            CL.clEnqueueNDRangeKernel(q, k, 1, null, new long[] {padded}, LOCAL, 0, null, null);
        }

        // Resident shards keep their new slots on the device; the others read them back with the parameters into
        // staging (one set per group, as all commit together).
        Runnable keepResident = () -> {
            for (int j = 0; entries != null && j < count; j++) {
                for (int slot = 0; entries[j] != null && slot < slotCount; slot++) {
                    copy(ctx.queue(), slots[slot], layout.offset(j), entries[j].slots[slot], 0, layout.length(j));
                }
            }
        };
        float[] pOut = read(q, "p" + groupIndex, p, padded);
        float[][] slotOut = new float[slotCount][];
        for (int slot = 0; slot < slotCount && !allResident; slot++) {
            slotOut[slot] = read(q, "s" + slot + "#" + groupIndex, slots[slot], padded);
        }
        CL.clFinish(q);
        final float[] trustRatios = trust;
        return new Launched(keepResident, () -> commit(group, entries, pOut, slotOut, trustRatios));
    }

    /** Writes a launched group's results into its shards: parameters, slots, scalar slots, step (and resident tags). */
    private static void commit(
            StagedGroup group, ResidentSlots.Entry[] entries, float[] pOut, float[][] slotOut, float[] trustRatios) {
        for (int j = 0; j < group.count(); j++) {
            ShardStep s = group.shards().get(j);
            ResidentSlots.Entry e = entries == null ? null : entries[j];
            int offset = group.layout().offset(j);
            System.arraycopy(pOut, offset, s.params(), 0, s.length());
            OptimizerState st = s.state();
            for (int slot = 0; slot < group.slotNames().length; slot++) {
                float[] target = group.slots()[slot][j];
                if (e == null) {
                    System.arraycopy(slotOut[slot], offset, target, 0, s.length());
                }
                if (group.created()[slot][j]) {
                    // A resident shard's new slot exists on the host too, stale until written back.
                    st.putTensor(group.slotNames()[slot], target);
                }
            }
            group.scalars().get(j).scalarSlots().forEach(st::putScalar);
            if (trustRatios != null) {
                st.putScalar(StepScalars.Lamb.TRUST_RATIO, trustRatios[j]);
            }
            st.setStep(st.step() + 1);
            if (e != null) {
                e.step = st.step();
                e.dirty = true;
            }
        }
    }

    /** LAMB: moments, per-chunk norms, the trust ratio per shard on the host, then the update. */
    private float[] lamb(
            StagedGroup group, cl_mem p, cl_mem g, cl_mem[] slots, cl_mem scBuf, cl_mem chunkBuf, cl_mem endBuf) {
        final BatchLayout layout = group.layout();
        final int count = group.count();
        float[] trust = new float[count];
        Arrays.fill(trust, 1f);
        if (layout.padded() == 0) {
            return trust;
        }
        cl_command_queue q = ctx.queue();
        cl_kernel moments = ctx.kernel(PROGRAM, "lamb_moments");
        setElementwiseArgs(moments, p, g, slots, scBuf, chunkBuf, endBuf);
        CL.clEnqueueNDRangeKernel(q, moments, 1, null, new long[] {layout.padded()}, LOCAL, 0, null, null);

        double[] sums = chunkNorms(p, slots, scBuf, chunkBuf, endBuf, layout.chunks());
        float[] slr = new float[count];
        for (int j = 0; j < count; j++) {
            double pSq = 0;
            double uSq = 0;
            for (int c = layout.firstChunk(j); c < layout.endChunk(j); c++) {
                pSq += sums[2 * c];
                uSq += sums[2 * c + 1];
            }
            trust[j] = StepScalars.Lamb.trustRatio(pSq, uSq);
            slr[j] = ((StepScalars.Lamb) group.scalars().get(j)).scaledLr(trust[j]);
        }
        cl_mem slrBuf = ctx.buffer("slr", 4L * count);
        write(q, slrBuf, slr, 0, count);
        cl_kernel apply = ctx.kernel(PROGRAM, "lamb_apply");
        int next = setElementwiseArgs(apply, p, g, slots, scBuf, chunkBuf, endBuf);
        arg(apply, next, slrBuf);
        CL.clEnqueueNDRangeKernel(q, apply, 1, null, new long[] {layout.padded()}, LOCAL, 0, null, null);
        return trust;
    }

    /** LAMB's sums of p² and u² per chunk ({@code [2c]}, {@code [2c + 1]}), in double where the device has it. */
    private double[] chunkNorms(cl_mem p, cl_mem[] slots, cl_mem scBuf, cl_mem chunkBuf, cl_mem endBuf, int chunks) {
        cl_command_queue q = ctx.queue();
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
        return sums;
    }

    private static int setElementwiseArgs(
            cl_kernel k, cl_mem p, cl_mem g, cl_mem[] slots, cl_mem sc, cl_mem chunks, cl_mem ends) {
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

    private static void write(cl_command_queue q, cl_mem dst, int[] src) {
        CL.clEnqueueWriteBuffer(q, dst, CL_TRUE, 0, 4L * src.length, Pointer.to(src), 0, null, null);
    }

    private static void copy(cl_command_queue q, cl_mem src, int srcOffset, cl_mem dst, int dstOffset, int n) {
        if (n > 0) {
            CL.clEnqueueCopyBuffer(q, src, dst, 4L * srcOffset, 4L * dstOffset, 4L * n, 0, null, null);
        }
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

    /** Drops the host staging arrays. */
    void clear() {
        staging.clear();
    }
}
