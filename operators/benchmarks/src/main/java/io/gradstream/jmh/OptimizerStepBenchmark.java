package io.gradstream.jmh;

import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One in-place optimizer step over a shard of {@code size} floats, single thread. The arrays are allocated and
 * touched once in setup, and one step has already created the optimizer's slots, so only the step is measured.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms3g", "-Xmx3g", "-XX:+AlwaysPreTouch"})
public class OptimizerStepBenchmark {

    @Param({"SGD-momentum", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "LAMB", "Lion"})
    public String optimizer;

    @Param({"65536", "1048576", "16777216"})
    public int size;

    private Optimizer opt;
    private OptimizerState state;
    private float[] params;
    private float[] grad;

    @Setup(Level.Trial)
    public void setUp() {
        opt = create(optimizer);
        SplittableRandom rnd = new SplittableRandom(42);
        params = new float[size];
        grad = new float[size];
        for (int i = 0; i < size; i++) {
            params[i] = (float) rnd.nextGaussian();
            // Gradients bounded away from 0 keep every state value normal: subnormals would measure the FPU's
            // slow path, not the kernel.
            grad[i] = (float) (0.5 + rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
        }
        state = new OptimizerState();
        opt.step(params, grad, state);
    }

    static Optimizer create(String name) {
        return switch (name) {
            case "SGD-momentum" -> Optimizers.create("SGD", Map.of("lr", 1e-3, "momentum", 0.9));
            case "AdamW" -> Optimizers.create("AdamW", Map.of("lr", 1e-3, "weight_decay", 0.01));
            default -> Optimizers.create(name, Map.of("lr", 1e-3));
        };
    }

    @Benchmark
    public float step() {
        opt.step(params, grad, state);
        return params[0];
    }
}
