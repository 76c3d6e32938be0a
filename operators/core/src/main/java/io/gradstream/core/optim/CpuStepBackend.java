package io.gradstream.core.optim;

import java.util.List;

/** The reference {@link StepBackend}: each shard's own {@link Optimizer#step}, one after the other, on this thread. */
public final class CpuStepBackend implements StepBackend {
    /** Stateless, so one instance serves every caller. */
    public static final CpuStepBackend INSTANCE = new CpuStepBackend();

    private CpuStepBackend() {}

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public void step(List<ShardStep> batch) {
        for (ShardStep s : batch) {
            s.optimizer().step(s.params(), s.grad(), s.state());
        }
    }
}
