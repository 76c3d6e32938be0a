package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.ResidentState;
import io.gradstream.core.optim.ShardStep;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Device-resident optimizer slots on a real device. The reference is the same device without residency: the kernels
 * are the same and resident slots are only moved by device copies, so every result must be bit-identical on any
 * device (the CPU comparison is the contract suite's). Also: the host's slots are stale until written back, a state
 * stepped elsewhere is reloaded, a small budget keeps the rest on the host path, and losing dirty slots is fatal.
 */
class OpenClResidentStateITCase {
    private static final Optimizer ADAM = Optimizers.create("Adam", Map.of("lr", 0.01, "amsgrad", true));
    private static final Optimizer SGD = Optimizers.create("SGD", Map.of("lr", 0.1, "momentum", 0.9));
    private static final Optimizer LAMB = Optimizers.create("LAMB", Map.of("lr", 0.01, "weight_decay", 0.01));
    private static final int[] SIZES = {37, 0, 2000, 4097};

    private ClContext ctx;

    @BeforeEach
    void open() {
        OpenClTesting.assumeOpenCl();
        ctx = ClContext.open(OpenClTesting.config());
    }

    @AfterEach
    void close() {
        if (ctx != null) {
            ctx.close();
        }
    }

    @Test
    void residentStepsGiveTheSameBitsAndTheSlotsComeBackOnWriteBack() {
        OpenClStepBackend resident = new OpenClStepBackend(ctx, 64L << 20);
        OpenClStepBackend plain = new OpenClStepBackend(ctx);
        List<ShardStep> mine = batch(11);
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine); // unkeyed: never resident
        for (int t = 0; t < 4; t++) {
            resident.step(mine);
            plain.step(reference);
            assertSameParams(mine, reference, "step " + (t + 1));
        }
        assertThat(resident.dirtyKeys()).containsExactlyInAnyOrderElementsOf(keys(mine));
        assertThat(resident.residentBytes()).isPositive();
        // The host's slots were not moved after the first upload: stale, so the write-back below is what restores them.
        assertThat(mine.get(2).state().tensor("exp_avg"))
                .isNotEqualTo(reference.get(2).state().tensor("exp_avg"));

        resident.writeBack(mine);
        assertThat(resident.dirtyKeys()).isEmpty();
        assertSameStates(mine, reference, "after write-back");

        // Clean and still resident: the next steps use the device copy, not the host's arrays (scribbled over here
        // to tell the two apart), and stay identical.
        for (ShardStep s : mine) {
            s.state().tensors().values().forEach(slot -> java.util.Arrays.fill(slot, 1e30f));
        }
        for (int t = 0; t < 2; t++) {
            resident.step(mine);
            plain.step(reference);
        }
        resident.writeBack(mine);
        assertSameStates(mine, reference, "steps after a write-back");
    }

    @Test
    void aStateSteppedElsewhereIsReloadedFromTheHost() {
        OpenClStepBackend resident = new OpenClStepBackend(ctx, 64L << 20);
        OpenClStepBackend plain = new OpenClStepBackend(ctx);
        List<ShardStep> mine = batch(12);
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine); // unkeyed: never resident
        resident.step(mine);
        plain.step(reference);
        resident.writeBack(mine);
        CpuStepBackend.INSTANCE.step(mine);
        CpuStepBackend.INSTANCE.step(reference);
        resident.step(mine);
        plain.step(reference);
        resident.writeBack(mine);
        assertSameStates(mine, reference, "device, CPU, device");

        // A dirty shard whose state moved on without the device's slots cannot be stepped: it would be wrong.
        resident.step(mine);
        CpuStepBackend.INSTANCE.step(mine);
        assertThatThrownBy(() -> resident.step(mine))
                .isInstanceOf(ResidentState.StateLostException.class)
                .hasMessageContaining("without them");
    }

    @Test
    void aSmallBudgetKeepsSomeShardsAndStepsTheRestWithTheirSlots() {
        // Room for the slots of the 2000-element Adam shard (3 slots, 24 kB) but not for all shards.
        OpenClStepBackend resident = new OpenClStepBackend(ctx, 30_000);
        OpenClStepBackend plain = new OpenClStepBackend(ctx);
        List<ShardStep> mine = batch(13);
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine); // unkeyed: never resident
        for (int t = 0; t < 3; t++) {
            resident.step(mine);
            plain.step(reference);
        }
        assertThat(resident.residentBytes()).isPositive().isLessThanOrEqualTo(30_000);
        assertThat(resident.dirtyKeys()).isNotEmpty().hasSizeLessThan(mine.size());
        resident.writeBack(mine);
        assertSameStates(mine, reference, "mixed resident and host shards");
    }

    @Test
    void aFailureThatLosesDirtySlotsIsFatalButCleanOnesFallBackToTheCpu() {
        long[] now = {0};
        OpenClStepBackend device = new OpenClStepBackend(ctx, 64L << 20);
        ResilientBackend backend = new ResilientBackend(
                device, new CircuitBreaker(3, 60_000, 10_000, () -> now[0]), new RecordingListener());
        List<ShardStep> mine = batch(14);
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine); // unkeyed: never resident
        OpenClStepBackend plain = new OpenClStepBackend(ctx);

        // Clean resident slots and a failed step: the CPU recomputes it from the host's (current) slots.
        backend.step(mine);
        plain.step(reference);
        backend.writeBack(mine);
        ctx.padAllocationsForTest(ctx.device().maxAllocBytes());
        backend.step(mine);
        CpuStepBackend.INSTANCE.step(reference);
        assertThat(backend.fallbacks()).isEqualTo(1);
        assertSameStates(mine, reference, "fallback from clean slots");
        assertThat(device.dirtyKeys()).isEmpty();

        // Dirty slots and a lost device: nobody can recompute the step.
        ctx.padAllocationsForTest(0);
        backend.step(mine);
        ctx.close();
        assertThatThrownBy(() -> backend.step(mine))
                .isInstanceOf(ResidentState.StateLostException.class)
                .hasMessageContaining("only on the device");
        assertThat(backend.fallbacks()).as("not recomputed").isEqualTo(1);
    }

    @Test
    void anOpenBreakerWritesTheSlotsBackBeforeTheCpuSteps() {
        long[] now = {0};
        CircuitBreaker breaker = new CircuitBreaker(1, 60_000, 10_000, () -> now[0]);
        OpenClStepBackend device = new OpenClStepBackend(ctx, 64L << 20);
        ResilientBackend backend = new ResilientBackend(device, breaker, new RecordingListener());
        OpenClStepBackend plain = new OpenClStepBackend(ctx);
        List<ShardStep> mine = batch(15);
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine); // unkeyed: never resident
        backend.step(mine);
        plain.step(reference);
        breaker.recordFailure();
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);

        backend.step(mine);
        CpuStepBackend.INSTANCE.step(reference);
        assertThat(backend.bypassed()).isEqualTo(1);
        assertThat(device.dirtyKeys()).isEmpty();
        assertSameStates(mine, reference, "CPU step of written-back slots");

        now[0] += 10_000;
        backend.step(mine);
        plain.step(reference);
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
        backend.writeBack(mine);
        assertSameStates(mine, reference, "device again, reloaded from the host");
    }

    @Test
    void aRecoverableFailureSavesDirtySlotsAndTheCpuRecomputesTheBatch() {
        OpenClStepBackend device = new OpenClStepBackend(ctx, 64L << 20);
        ResilientBackend backend =
                new ResilientBackend(device, new CircuitBreaker(3, 60_000, 10_000, () -> 0L), new RecordingListener());
        OpenClStepBackend plain = new OpenClStepBackend(ctx);
        List<ShardStep> mine = batch(17);
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine); // unkeyed: never resident
        backend.step(mine);
        plain.step(reference);
        assertThat(device.dirtyKeys()).hasSize(mine.size());
        // The next batch cannot get its buffers: the device is fine, only this batch failed before touching it.
        ctx.padAllocationsForTest(ctx.device().maxAllocBytes());
        backend.step(mine);
        CpuStepBackend.INSTANCE.step(reference);
        assertThat(backend.fallbacks()).isEqualTo(1);
        assertThat(device.dirtyKeys()).isEmpty();
        assertSameStates(mine, reference, "CPU step of the slots saved from the device");
    }

    @Test
    void evictedShardsReturnTheirBudgetAndComeBack() {
        // Room for two of the 2000-element Adam shards' slots (3 x 8 kB each), not three.
        OpenClStepBackend resident = new OpenClStepBackend(ctx, 50_000);
        OpenClStepBackend plain = new OpenClStepBackend(ctx);
        List<ShardStep> all = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(18);
        for (int j = 0; j < 4; j++) {
            all.add(new ShardStep(
                    ADAM,
                    StepBackendAbstractTest.random(rnd, 2000, 1),
                    StepBackendAbstractTest.random(rnd, 2000, 0.1),
                    new OptimizerState(),
                    "m/a/" + j));
        }
        List<ShardStep> reference = OpenClFaultsITCase.copy(all);
        List<ShardStep> first = all.subList(0, 2);
        List<ShardStep> second = all.subList(2, 4);
        for (int round = 0; round < 3; round++) {
            for (List<ShardStep> part : List.of(first, second)) {
                resident.step(part);
                assertThat(resident.dirtyKeys())
                        .as("round %d: the batch's shards are resident", round)
                        .containsExactlyInAnyOrderElementsOf(keys(part));
                resident.writeBack(part); // a checkpoint: clean, so the next batch may evict them
                assertThat(resident.residentBytes()).isLessThanOrEqualTo(50_000).isPositive();
            }
            plain.step(reference.subList(0, 2));
            plain.step(reference.subList(2, 4));
        }
        assertSameStates(all, reference, "shards evicted and reloaded");
    }

    @Test
    void shardsWithoutSlotsAreNeverKept() {
        Optimizer plainSgd = Optimizers.create("SGD", Map.of("lr", 0.1));
        OpenClStepBackend device = new OpenClStepBackend(ctx, 64L << 20);
        ResilientBackend backend =
                new ResilientBackend(device, new CircuitBreaker(3, 60_000, 10_000, () -> 0L), new RecordingListener());
        SplittableRandom rnd = new SplittableRandom(19);
        List<ShardStep> mine = List.of(new ShardStep(
                plainSgd,
                StepBackendAbstractTest.random(rnd, 300, 1),
                StepBackendAbstractTest.random(rnd, 300, 0.1),
                new OptimizerState(),
                "m/s/0"));
        List<ShardStep> reference = OpenClFaultsITCase.copy(mine);
        backend.step(mine);
        assertThat(device.dirtyKeys()).isEmpty();
        assertThat(device.residentBytes()).isZero();
        ctx.padAllocationsForTest(ctx.device().maxAllocBytes());
        backend.step(mine); // falls back: there is nothing only the device holds
        ctx.padAllocationsForTest(0);
        new OpenClStepBackend(ctx).step(reference);
        CpuStepBackend.INSTANCE.step(reference);
        assertSameStates(mine, reference, "SGD without momentum");
    }

    @Test
    void discardedShardsAreForgotten() {
        OpenClStepBackend resident = new OpenClStepBackend(ctx, 64L << 20);
        List<ShardStep> mine = batch(16);
        resident.step(mine);
        resident.discard(k -> k.startsWith("m/a/"));
        assertThat(resident.dirtyKeys()).allMatch(k -> k.startsWith("m/b/")).isNotEmpty();
        resident.discard(k -> true);
        assertThat(resident.dirtyKeys()).isEmpty();
        assertThat(resident.residentBytes()).isZero();
    }

    /** Keyed shards of three kernel families (Adam with amsgrad: three slots; LAMB: norms on the device). */
    private static List<ShardStep> batch(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<ShardStep> batch = new ArrayList<>();
        Optimizer[] optimizers = {ADAM, ADAM, ADAM, SGD, LAMB};
        for (int j = 0; j < optimizers.length; j++) {
            int n = SIZES[j % SIZES.length];
            String tensor = j < 3 ? "a" : "b";
            batch.add(new ShardStep(
                    optimizers[j],
                    StepBackendAbstractTest.random(rnd, n, 1),
                    StepBackendAbstractTest.random(rnd, n, 0.1),
                    new OptimizerState(),
                    "m/" + tensor + "/" + j));
        }
        return batch;
    }

    private static List<String> keys(List<ShardStep> batch) {
        return batch.stream().map(ShardStep::key).toList();
    }

    private static void assertSameParams(List<ShardStep> mine, List<ShardStep> reference, String where) {
        for (int j = 0; j < mine.size(); j++) {
            assertThat(mine.get(j).params())
                    .as(where + " params of " + mine.get(j).key())
                    .containsExactly(reference.get(j).params());
            assertThat(mine.get(j).state().step())
                    .isEqualTo(reference.get(j).state().step());
        }
    }

    private static void assertSameStates(List<ShardStep> mine, List<ShardStep> reference, String where) {
        assertSameParams(mine, reference, where);
        for (int j = 0; j < mine.size(); j++) {
            OptimizerState a = mine.get(j).state();
            OptimizerState b = reference.get(j).state();
            assertThat(a.tensors().keySet()).as(where).isEqualTo(b.tensors().keySet());
            for (String slot : b.tensors().keySet()) {
                assertThat(a.tensor(slot))
                        .as(where + " " + slot + " of " + mine.get(j).key())
                        .containsExactly(b.tensor(slot));
            }
            assertThat(a.scalars()).as(where + " scalars").isEqualTo(b.scalars());
        }
    }
}
