package io.gradstream.opencl;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import io.gradstream.core.optim.StepScalars;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.jocl.CL;
import org.jocl.CLException;

/**
 * The OpenCL {@link StepBackend}: each run of consecutive shards with the same kernel family is concatenated into one
 * buffer per array (shards on {@value ClContext#CHUNK}-element boundaries), stepped by one kernel launch with the
 * per-shard scalars in a small buffer, and read back into host staging arrays. Shards are written back only after the
 * whole batch succeeded, so a failure leaves the batch untouched (the {@link StepBackend} contract). With a resident
 * budget, keyed shards' optimizer slots stay on the device between steps ({@link ResidentState}; docs/opencl.md).
 * The parts: {@link StagedGroup} (a launch's host inputs and {@link BatchLayout}), {@link GroupLauncher} (the device
 * work and the commit) and {@link ResidentSlots}.
 */
public final class OpenClStepBackend implements StepBackend, ResidentState {
    private final ClContext ctx;
    private final boolean ownsContext;
    private final GroupLauncher launcher;
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
        this.launcher = new GroupLauncher(ctx);
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
            OptimizerKernels.pack(optimizer.scalars(new OptimizerState()));
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public void step(List<ShardStep> batch) {
        Set<String> keys = new HashSet<>();
        for (ShardStep s : batch) {
            if (s.key() != null) {
                keys.add(s.key());
            }
        }
        List<GroupLauncher.Launched> launched = new ArrayList<>();
        try {
            List<StepScalars> scalars = new ArrayList<>(batch.size());
            List<OptimizerKernels.Packed> packed = new ArrayList<>(batch.size());
            for (ShardStep s : batch) {
                StepScalars k = s.optimizer().scalars(s.state());
                scalars.add(k);
                packed.add(OptimizerKernels.pack(k));
            }
            // One launch per run of consecutive shards with the same kernel.
            int from = 0;
            while (from < batch.size()) {
                int to = from + 1;
                while (to < batch.size()
                        && packed.get(to).kernel().equals(packed.get(from).kernel())) {
                    to++;
                }
                StagedGroup group =
                        StagedGroup.of(batch.subList(from, to), scalars.subList(from, to), packed.subList(from, to));
                ResidentSlots.Entry[] entries = resident == null ? null : resident.entriesFor(group, keys);
                launched.add(launcher.launch(group, launched.size(), entries));
                from = to;
            }
        } catch (RuntimeException e) {
            throw forgetResident(batch, wrap(e, batch), false);
        }
        // Only now, every kernel having run, do resident shards' new slots overwrite their device copies: until here
        // a failure leaves every resident copy as it was.
        try {
            if (resident != null) {
                launched.forEach(g -> g.keepResident().run());
                CL.clFinish(ctx.queue());
            }
        } catch (RuntimeException e) {
            throw forgetResident(batch, wrap(e, batch), true);
        }
        // Past this point nothing touches the device: the batch is committed whole.
        launched.forEach(g -> g.commit().run());
    }

    private RuntimeException wrap(RuntimeException e, List<ShardStep> batch) {
        return e instanceof CLException cl
                ? OpenClException.wrap(
                        "OpenCL step of " + batch.size() + " shard(s) on "
                                + ctx.device().name() + " failed",
                        cl)
                : e;
    }

    /** A failed batch's resident copies are dropped, dirty ones saved to the host where they still can be. */
    private RuntimeException forgetResident(List<ShardStep> batch, RuntimeException failure, boolean copiesBegan) {
        return resident == null ? failure : resident.forget(batch, failure, copiesBegan);
    }

    @Override
    public List<String> dirtyKeys() {
        return resident == null ? List.of() : resident.dirtyKeys();
    }

    @Override
    public void writeBack(String key, OptimizerState state) {
        if (resident != null) {
            resident.writeBack(key, state);
        }
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

    @Override
    public void close() {
        launcher.clear();
        if (resident != null) {
            resident.discard(key -> true);
        }
        if (ownsContext) {
            ctx.close();
        }
    }
}
