package io.gradstream.jmh;

import io.gradstream.core.numeric.FloatScan;
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
 * The check after every step that no parameter or optimizer slot became Inf or NaN, for an Adam shard (parameters,
 * exp_avg, exp_avg_sq: three arrays of {@code size} floats), per invocation one shard of {@code shards} taken in turn
 * (16 shards of 64 Ki: 12 MiB, beyond the L2 cache, as a subtask's state is). {@link #scalarLoop} is the early-exit loop
 * that {@link FloatScan} replaced, over the same arrays.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public class FiniteCheckBenchmark {
    @Param({"65536"})
    public int size;

    @Param({"1", "16"})
    public int shards;

    private float[][][] arrays; // [shard][params, exp_avg, exp_avg_sq]
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(3);
        arrays = new float[shards][3][size];
        for (float[][] shard : arrays) {
            for (float[] a : shard) {
                for (int i = 0; i < size; i++) {
                    a[i] = (float) r.nextGaussian();
                }
            }
        }
    }

    private float[][] nextShard() {
        float[][] s = arrays[next];
        next = next + 1 == shards ? 0 : next + 1;
        return s;
    }

    @Benchmark
    public long floatScan() {
        long found = 0;
        for (float[] a : nextShard()) {
            found += FloatScan.firstNonFinite(a);
        }
        return found;
    }

    @Benchmark
    public long scalarLoop() {
        long found = 0;
        for (float[] a : nextShard()) {
            found += scalar(a);
        }
        return found;
    }

    /** The loop before FloatScan (StepUndo and ContributionChecks had one each). */
    private static int scalar(float[] a) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                return i;
            }
        }
        return -1;
    }
}
