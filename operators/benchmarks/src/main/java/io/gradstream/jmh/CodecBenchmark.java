package io.gradstream.jmh;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

/** Encode and decode throughput of the payload codecs on one 64 Ki-float shard (the pipeline's default shard). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class CodecBenchmark {

    @Param({"FP32", "FP16", "BF16", "INT8_BLOCK", "TOPK_1pct"})
    public String codec;

    @Param({"65536"})
    public int size;

    private PayloadCodec c;
    private float[] values;
    private float[] decoded;
    private ByteBuffer buffer;

    @Setup(Level.Trial)
    public void setUp() {
        c = codec.equals("TOPK_1pct")
                ? PayloadCodecs.topK(size / 100)
                : PayloadCodecs.forEncoding(io.gradstream.core.codec.Encoding.valueOf(codec));
        SplittableRandom rnd = new SplittableRandom(7);
        values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) rnd.nextGaussian();
        }
        decoded = new float[size];
        buffer = ByteBuffer.allocate(c.maxEncodedSize(size)).order(ByteOrder.LITTLE_ENDIAN);
        c.encode(values, 0, size, buffer);
    }

    @Benchmark
    public int encode() {
        buffer.clear();
        return c.encode(values, 0, size, buffer);
    }

    @Benchmark
    public float decode() {
        buffer.rewind();
        c.decode(buffer, decoded, 0, size);
        return decoded[0];
    }
}
