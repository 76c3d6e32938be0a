package io.gradstream.opencl;

import static org.jocl.CL.CL_TRUE;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * whole batch succeeded, so a failure leaves the batch untouched (the {@link StepBackend} contract).
 */
public final class OpenClStepBackend implements StepBackend {
    private static final String PROGRAM = "optimizers";
    /** Work-groups of one chunk: see optimizers.cl. */
    private static final long[] LOCAL = {ClContext.CHUNK};

    private final ClContext ctx;
    private final boolean ownsContext;
    /** Grow-only host staging, one per role, so a steady stream of batches allocates nothing on the host either. */
    private final Map<String, float[]> staging = new HashMap<>();

    /** Borrows {@code ctx}: the caller closes it. */
    public OpenClStepBackend(ClContext ctx) {
        this(ctx, false);
    }

    private OpenClStepBackend(ClContext ctx, boolean ownsContext) {
        this.ctx = ctx;
        this.ownsContext = ownsContext;
    }

    /** Opens its own context on the device {@code config} selects; {@link #close()} releases it. */
    public static OpenClStepBackend open(ClConfig config) {
        return new OpenClStepBackend(ClContext.open(config), true);
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
        List<Runnable> commits = new ArrayList<>();
        int from = 0;
        try {
            while (from < batch.size()) {
                String kernel = OptimizerKernels.spec(batch.get(from).optimizer()).kernel();
                int to = from + 1;
                while (to < batch.size()
                        && OptimizerKernels.spec(batch.get(to).optimizer()).kernel().equals(kernel)) {
                    to++;
                }
                commits.add(run(batch.subList(from, to), commits.size()));
                from = to;
            }
        } catch (CLException e) {
            throw OpenClException.wrap("OpenCL step of " + batch.size() + " shard(s) on " + ctx.device().name()
                    + " failed", e);
        }
        // Past this point nothing touches the device: the batch is committed whole.
        commits.forEach(Runnable::run);
    }

    /** Steps one group (the {@code groupIndex}-th of the batch) on the device; returns what writes the results into the shards' arrays and states. */
    private Runnable run(List<ShardStep> group, int groupIndex) {
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

        final long bytes = 4L * padded;
        cl_command_queue q = ctx.queue();
        cl_mem p = ctx.buffer("p", bytes);
        cl_mem g = ctx.buffer("g", bytes);
        cl_mem[] slots = new cl_mem[3];
        for (int slot = 0; slot < 3; slot++) {
            slots[slot] = slotUsed[slot] ? ctx.buffer("s" + slot, bytes) : ctx.buffer("unused" + slot, 4);
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
                if (slotArrays[slot][j] != null) {
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

        // Read back into staging (one set per group, as all commit together); the shards' own arrays are untouched
        // until the commit.
        float[] pOut = read(q, "p" + groupIndex, p, padded);
        float[][] slotOut = new float[3][];
        for (int slot = 0; slot < 3; slot++) {
            if (slotUsed[slot]) {
                slotOut[slot] = read(q, "s" + slot + "#" + groupIndex, slots[slot], padded);
            }
        }
        CL.clFinish(q);
        final float[] trustRatios = trust;
        return () -> {
            for (int j = 0; j < count; j++) {
                ShardStep s = group.get(j);
                int n = s.length();
                System.arraycopy(pOut, offsets[j], s.params(), 0, n);
                OptimizerState st = s.state();
                for (int slot = 0; slot < 3; slot++) {
                    float[] target = slotArrays[slot][j];
                    if (target != null) {
                        System.arraycopy(slotOut[slot], offsets[j], target, 0, n);
                        if (slotCreated[slot][j]) {
                            st.putTensor(spec.slots()[slot], target);
                        }
                    }
                }
                scalarSlots.get(j).forEach(st::putScalar);
                if (trustRatios != null) {
                    st.putScalar("trust_ratio", trustRatios[j]);
                }
                st.setStep(st.step() + 1);
            }
        };
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
        if (ownsContext) {
            ctx.close();
        }
    }
}
