package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.conformance.Json;
import io.gradstream.conformance.ReferenceFormatException;
import io.gradstream.conformance.ReferenceReplay;
import io.gradstream.conformance.Verdict;
import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.ShardStep;
import io.gradstream.core.optim.StepBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every {@link StepBackend} passes, run against each implementation by a subclass (the pattern of
 * Hipparchus' RandomGeneratorAbstractTest): batches of shards must end where {@link CpuStepBackend} ends, within
 * {@link #maxUlps()}, and the golden torch trajectories, replayed by the conformance module, must pass its bound and
 * stay within {@link #maxUlps()} of the same replay on the CPU.
 */
abstract class StepBackendAbstractTest {
    /** The conformance bound on the scaled error against the torch reference files (the reference README's). */
    static final double REFERENCE_TOLERANCE = 1e-4;

    /** The backend under test; opened by the subclass. */
    abstract StepBackend backend();

    /**
     * How far an element may be from the CPU's, in units in the last place of the larger magnitude; values within
     * {@code 1e-6} of the array's largest magnitude also pass (a value that cancels to ~0 has a tiny ulp).
     */
    abstract int maxUlps();

    /** Every optimizer with every switch that selects another code path. */
    static Stream<Arguments> configurations() {
        return Stream.of(
                Arguments.of("SGD", Map.of("lr", 0.1)),
                Arguments.of("SGD", Map.of("lr", 0.1, "weight_decay", 0.01, "maximize", true)),
                Arguments.of("SGD", Map.of("lr", 0.05, "momentum", 0.9)),
                Arguments.of("SGD", Map.of("lr", 0.05, "momentum", 0.9, "dampening", 0.5, "weight_decay", 1e-3)),
                Arguments.of("SGD", Map.of("lr", 0.05, "momentum", 0.9, "nesterov", true)),
                Arguments.of("Adam", Map.of("lr", 1e-2)),
                Arguments.of("Adam", Map.of("lr", 1e-2, "weight_decay", 0.1, "amsgrad", true, "maximize", true)),
                Arguments.of("AdamW", Map.of("lr", 1e-2, "weight_decay", 0.1)),
                Arguments.of("AdamW", Map.of("lr", 1e-2, "weight_decay", 0.1, "amsgrad", true)),
                Arguments.of("RMSprop", Map.of("lr", 1e-2)),
                Arguments.of("RMSprop", Map.of("lr", 1e-2, "centered", true)),
                Arguments.of("RMSprop", Map.of("lr", 1e-2, "momentum", 0.9, "maximize", true)),
                Arguments.of("RMSprop", Map.of("lr", 1e-2, "centered", true, "momentum", 0.9, "weight_decay", 0.01)),
                Arguments.of("Adagrad", Map.of("lr", 1e-1, "lr_decay", 0.01, "initial_accumulator_value", 0.1)),
                Arguments.of("Adamax", Map.of("lr", 2e-3, "weight_decay", 0.01)),
                Arguments.of("NAdam", Map.of("lr", 2e-3, "weight_decay", 0.01)),
                Arguments.of("RAdam", Map.of("lr", 1e-3)),
                Arguments.of("RAdam", Map.of("lr", 1e-3, "weight_decay", 0.01, "betas", List.of(0.9, 0.99))),
                Arguments.of("LAMB", Map.of("lr", 1e-2, "weight_decay", 0.01)),
                Arguments.of("Lion", Map.of("lr", 1e-3, "weight_decay", 0.1)));
    }

    /** Shard sizes around the chunk size, plus an empty shard. */
    private static final int[] SIZES = {1, 37, 0, 1024, 1500, 4097};

    private static final int STEPS = 8;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("configurations")
    void batchOfShardsMatchesTheCpuPath(String name, Map<String, Object> hp) {
        Optimizer opt = Optimizers.create(name, hp);
        SplittableRandom rnd = new SplittableRandom(42);
        List<ShardStep> mine = new ArrayList<>();
        List<ShardStep> cpu = new ArrayList<>();
        for (int n : SIZES) {
            float[] p = random(rnd, n, 1.0);
            float[] g = new float[n];
            OptimizerState s = new OptimizerState();
            mine.add(new ShardStep(opt, p, g, s));
            cpu.add(new ShardStep(opt, p.clone(), new float[n], new OptimizerState()));
        }
        for (int t = 0; t < STEPS; t++) {
            for (int j = 0; j < SIZES.length; j++) {
                float[] g = random(rnd, SIZES[j], 0.1);
                System.arraycopy(g, 0, mine.get(j).grad(), 0, g.length);
                System.arraycopy(g, 0, cpu.get(j).grad(), 0, g.length);
            }
            backend().step(mine);
            CpuStepBackend.INSTANCE.step(cpu);
        }
        for (int j = 0; j < SIZES.length; j++) {
            String where = name + " shard " + j + " (n=" + SIZES[j] + ")";
            assertClose(mine.get(j).params(), cpu.get(j).params(), where + " params");
            OptimizerState a = mine.get(j).state();
            OptimizerState b = cpu.get(j).state();
            assertThat(a.step()).as(where + " step").isEqualTo(STEPS);
            assertThat(a.tensors().keySet())
                    .as(where + " slots")
                    .isEqualTo(b.tensors().keySet());
            for (String slot : b.tensors().keySet()) {
                assertClose(a.tensor(slot), b.tensor(slot), where + " " + slot);
            }
            assertThat(a.scalars().keySet())
                    .as(where + " scalar slots")
                    .isEqualTo(b.scalars().keySet());
            for (String scalar : b.scalars().keySet()) {
                assertThat(a.scalar(scalar))
                        .as(where + " " + scalar)
                        .isCloseTo(b.scalar(scalar), org.assertj.core.data.Percentage.withPercentage(1e-4));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("referenceFiles")
    void referenceTrajectoriesPass(Path file) throws ReferenceFormatException {
        JsonNode root = Json.read(file);
        Verdict mine = new ReferenceReplay(backend()).replay(root);
        assertThat(mine.status()).as(mine.detail()).isEqualTo(Verdict.Status.PASS);
        assertThat(mine.tolerance()).isEqualTo(REFERENCE_TOLERANCE);
        assertThat(mine.maxScaledError()).as(mine.detail()).isLessThanOrEqualTo(REFERENCE_TOLERANCE);
        // The same replay on the CPU: every step's parameters and the final slots within maxUlps() of it.
        Verdict cpu = new ReferenceReplay(CpuStepBackend.INSTANCE).replay(root);
        JsonNode steps = mine.computed().get("params_after_step");
        JsonNode cpuSteps = cpu.computed().get("params_after_step");
        assertThat(steps).hasSameSizeAs(cpuSteps).hasSize(root.get("grads").size());
        for (int t = 0; t < steps.size(); t++) {
            assertClose(
                    Json.floats(steps.get(t), "params_after_step"),
                    Json.floats(cpuSteps.get(t), "cpu"),
                    file.getFileName() + " step " + (t + 1) + " vs CPU");
        }
        JsonNode slots = mine.computed().path("final_state");
        JsonNode cpuSlots = cpu.computed().path("final_state");
        assertThat(slots.size()).isEqualTo(cpuSlots.size());
        for (Iterator<String> it = cpuSlots.fieldNames(); it.hasNext(); ) {
            String slot = it.next();
            if (cpuSlots.get(slot).isArray()) {
                assertClose(
                        Json.floats(slots.get(slot), slot),
                        Json.floats(cpuSlots.get(slot), slot),
                        file.getFileName() + " final " + slot + " vs CPU");
            }
        }
    }

    @org.junit.jupiter.api.Test
    void mixedOptimizersInOneBatchEachGetTheirOwnStep() {
        SplittableRandom rnd = new SplittableRandom(7);
        List<ShardStep> mine = new ArrayList<>();
        List<ShardStep> cpu = new ArrayList<>();
        String[] names = {"Adam", "Adam", "SGD", "Lion", "Adam", "LAMB", "AdamW"};
        for (int j = 0; j < names.length; j++) {
            Optimizer opt = Optimizers.create(names[j], Map.of("lr", 0.01 * (j + 1)));
            int n = 100 + 300 * j;
            float[] p = random(rnd, n, 1.0);
            float[] g = random(rnd, n, 0.1);
            mine.add(new ShardStep(opt, p, g, new OptimizerState()));
            cpu.add(new ShardStep(opt, p.clone(), g.clone(), new OptimizerState()));
        }
        for (int t = 0; t < 3; t++) {
            backend().step(mine);
            CpuStepBackend.INSTANCE.step(cpu);
        }
        for (int j = 0; j < names.length; j++) {
            assertClose(mine.get(j).params(), cpu.get(j).params(), names[j] + " shard " + j);
            assertThat(mine.get(j).state().step()).isEqualTo(3);
        }
    }

    static Stream<Path> referenceFiles() throws IOException {
        return ReferenceReplay.files(referenceDir().resolve("optimizers")).stream();
    }

    static Path referenceDir() {
        String configured = System.getProperty("gradstream.reference.dir");
        if (configured == null || !Files.isDirectory(Path.of(configured))) {
            throw new IllegalStateException("set -Dgradstream.reference.dir (the parent pom does for surefire and "
                    + "failsafe); got " + configured);
        }
        return Path.of(configured);
    }

    void assertClose(float[] actual, float[] expected, String what) {
        assertThat(actual).as(what + " length").hasSameSizeAs(expected);
        float largest = 0;
        for (float e : expected) {
            largest = Math.max(largest, Math.abs(e));
        }
        double floor = 1e-6 * largest;
        for (int i = 0; i < expected.length; i++) {
            float a = actual[i];
            float e = expected[i];
            if (Float.compare(a, e) == 0) {
                continue;
            }
            double diff = Math.abs((double) a - e);
            double ulps = diff / Math.ulp(Math.max(Math.abs(a), Math.abs(e)));
            if (diff > floor && !(ulps <= maxUlps())) {
                throw new AssertionError(String.format(
                        "%s[%d]: %s vs CPU %s (%.1f ulp, limit %d ulp or %.3g)",
                        what, i, a, e, ulps, maxUlps(), floor));
            }
        }
    }

    static float[] random(SplittableRandom rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }
}
