package io.gradstream.jmh;

import io.gradstream.core.codec.Encoding;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import java.nio.ByteBuffer;
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
 * Encode of one 64 Ki-float shard of gradients (Gaussian, a spread of magnitudes down into the FP16 subnormal range)
 * three ways in the same run: the current encoder, the per-element encoder it replaced ({@link LegacyEncoders}), and
 * {@link #bound()}, a vectorised loop that reads the same floats and writes as many bytes as the encoding (2 per
 * element, or 1 for INT8_BLOCK; TOPK's 1 % output is taken as 2 too, an upper bound of its traffic) with one add per
 * element, i.e. the cache-bandwidth limit of the access pattern.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
public class CodecEncodeBenchmark {

    @Param({"FP16", "BF16", "INT8_BLOCK", "TOPK_1pct"})
    public String codec;

    @Param({"65536"})
    public int size;

    private PayloadCodec c;
    private float[] values;
    private ByteBuffer buffer;
    /** The input split into 2 (FP16, BF16) or 4 (INT8_BLOCK) equal parts, and the bound's output. */
    private float[][] parts;

    private float[] boundOut;

    @Setup(Level.Trial)
    public void setUp() {
        c = codec.equals("TOPK_1pct")
                ? PayloadCodecs.topK(size / 100)
                : PayloadCodecs.forEncoding(Encoding.valueOf(codec));
        values = gradients(size, 7);
        buffer = ByteBuffer.allocate(c.maxEncodedSize(size));
        int k = codec.equals("INT8_BLOCK") ? 4 : 2;
        parts = new float[k][size / k];
        for (int p = 0; p < k; p++) {
            System.arraycopy(values, p * (size / k), parts[p], 0, size / k);
        }
        boundOut = new float[size / k];
    }

    /** Gaussian values whose scale varies per 256 elements from 2^-20 to 2^4, as gradients of different layers do. */
    static float[] gradients(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int start = 0; start < n; start += 256) {
            double scale = Math.scalb(1.0, random.nextInt(25) - 20);
            for (int i = start; i < Math.min(n, start + 256); i++) {
                x[i] = (float) (random.nextGaussian() * scale);
            }
        }
        return x;
    }

    @Benchmark
    public int encode() {
        buffer.clear();
        return c.encode(values, 0, size, buffer);
    }

    @Benchmark
    public int legacyEncode() {
        buffer.clear();
        return LegacyEncoders.encode(codec, values, 0, size, buffer);
    }

    @Benchmark
    public float bound() {
        float[] out = boundOut;
        int n = out.length;
        if (parts.length == 2) {
            float[] a = parts[0];
            float[] b = parts[1];
            for (int i = 0; i < n; i++) {
                out[i] = a[i] + b[i];
            }
        } else {
            float[] a = parts[0];
            float[] b = parts[1];
            float[] d = parts[2];
            float[] e = parts[3];
            for (int i = 0; i < n; i++) {
                out[i] = a[i] + b[i] + d[i] + e[i];
            }
        }
        return out[0];
    }
}
