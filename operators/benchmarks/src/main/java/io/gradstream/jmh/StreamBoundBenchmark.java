package io.gradstream.jmh;

import java.util.Arrays;
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
 * The memory-bandwidth bound of an optimizer step: a trivial streaming loop that reads and writes the same number of
 * float arrays as the step does (pattern {@code R}r{@code W}w), measured in the same run so ratios survive noisy
 * machines. {@code lamb} is LAMB's two passes (read p,g,m,v, write m,v; then read p,m,v, write p).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms3g", "-Xmx3g", "-XX:+AlwaysPreTouch"})
public class StreamBoundBenchmark {

    @Param({"3r2w", "4r3w", "lamb"})
    public String pattern;

    @Param({"65536", "1048576", "16777216"})
    public int size;

    private float[] p;
    private float[] g;
    private float[] m;
    private float[] v;

    @Setup(Level.Trial)
    public void setUp() {
        p = new float[size];
        g = new float[size];
        m = new float[size];
        v = new float[size];
        Arrays.fill(p, 1f);
        Arrays.fill(g, 1e-3f);
        Arrays.fill(m, 1f);
        Arrays.fill(v, 1f);
    }

    @Benchmark
    public float stream() {
        final int n = size;
        final float[] p = this.p;
        final float[] g = this.g;
        final float[] m = this.m;
        final float[] v = this.v;
        switch (pattern) {
            case "3r2w" -> {
                for (int i = 0; i < n; i++) {
                    float gi = g[i];
                    m[i] = m[i] + gi;
                    p[i] = p[i] - gi;
                }
            }
            case "4r3w" -> {
                for (int i = 0; i < n; i++) {
                    float gi = g[i];
                    m[i] = m[i] + gi;
                    v[i] = v[i] + gi;
                    p[i] = p[i] - gi;
                }
            }
            default -> {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    float gi = g[i];
                    float pi = p[i];
                    m[i] = m[i] + gi;
                    v[i] = v[i] + gi;
                    s += pi;
                }
                float d = (float) s * 1e-30f;
                for (int i = 0; i < n; i++) {
                    p[i] = p[i] + (m[i] - v[i]) * d;
                }
            }
        }
        return p[0];
    }

    /** Bytes the step moves per element: 4 per array read plus 4 per array written. */
    static int bytesPerElement(String pattern) {
        return switch (pattern) {
            case "3r2w" -> 20;
            case "4r3w" -> 28;
            case "lamb" -> 40;
            default -> throw new IllegalArgumentException(pattern);
        };
    }
}
