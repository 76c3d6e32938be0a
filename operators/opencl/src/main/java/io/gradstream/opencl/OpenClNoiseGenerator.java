package io.gradstream.opencl;

import static org.jocl.CL.CL_TRUE;

import io.gradstream.core.privacy.NoiseKeys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The core's {@code NoiseGenerator} construction on an OpenCL device (DP-SGD's Gaussian mechanism, Abadi et al. 2016,
 * arXiv:1607.00133): the same keys and nonces ({@link NoiseKeys}) and the same ChaCha20 counter-mode keystream, so
 * every element draws from the same 128 keystream bits as on the CPU. The keystream is bit-identical; the normals are
 * not: Box-Muller uses the device's log/sqrt/cos/sin (a few ulp, OpenCL 1.2 section 7.4) instead of fdlibm's
 * StrictMath, so values agree with the CPU's to ~1e-15 relative with fp64 and are statistically equivalent
 * N(0, 1) draws without it (24-bit uniforms). A job that must redraw bit-identical noise after a restore on another
 * machine keeps noise on the CPU; see docs/opencl.md.
 */
public final class OpenClNoiseGenerator {
    private static final int BLOCK_ELEMENTS = 8;
    private static final long MAX_ELEMENTS = 1L << 34;

    private final ClContext ctx;
    private final NoiseKeys keys;
    /** The ChaCha20 key as the kernel's eight little-endian words: the device needs the key itself. */
    private final int[] keyWords = new int[8];

    /** Derives the keys from {@code secretSeed} (at least 16 bytes) as the core does; the seed is not retained. */
    public OpenClNoiseGenerator(ClContext ctx, byte[] secretSeed) {
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.keys = NoiseKeys.derive(secretSeed);
        keys.withCipherKey(k ->
                ByteBuffer.wrap(k).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(keyWords));
    }

    /**
     * Writes {@code std} times the standard normal of elements {@code [firstElement, firstElement + out.length)}:
     * the values of {@code NoiseGenerator.gaussian} up to the device's transcendental functions.
     */
    public void gaussian(
            double[] out, long firstElement, double std, String model, String tensor, int shard, long version) {
        if (!(std >= 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std must be finite and >= 0, got " + std);
        }
        if (firstElement < 0 || firstElement > MAX_ELEMENTS - out.length) {
            throw new IllegalArgumentException("element range must lie within [0, " + MAX_ELEMENTS + ")");
        }
        if (out.length == 0) {
            return;
        }
        long base = firstElement - firstElement % BLOCK_ELEMENTS;
        long end = firstElement + out.length;
        int blocks = (int) ((end - base + BLOCK_ELEMENTS - 1) / BLOCK_ELEMENTS);
        int[] nonce = littleEndianWords(nonce(model, tensor, shard, version));
        boolean fp64 = ctx.device().fp64();
        int realBytes = fp64 ? Sizeof.cl_double : Sizeof.cl_float;
        long outBytes = (long) realBytes * BLOCK_ELEMENTS * blocks;
        try {
            cl_command_queue q = ctx.queue();
            cl_mem keyBuf = ctx.buffer("noise-key", 32);
            cl_mem nonceBuf = ctx.buffer("noise-nonce", 12);
            cl_mem outBuf = ctx.buffer("noise-out", outBytes);
            CL.clEnqueueWriteBuffer(q, keyBuf, CL_TRUE, 0, 32, Pointer.to(keyWords), 0, null, null);
            CL.clEnqueueWriteBuffer(q, nonceBuf, CL_TRUE, 0, 12, Pointer.to(nonce), 0, null, null);
            cl_kernel k = ctx.kernel("noise", "chacha_normals");
            CL.clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(keyBuf));
            CL.clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(nonceBuf));
            CL.clSetKernelArg(k, 2, Sizeof.cl_uint, Pointer.to(new int[] {(int) (base / BLOCK_ELEMENTS)}));
            CL.clSetKernelArg(k, 3, Sizeof.cl_mem, Pointer.to(outBuf));
            CL.clEnqueueNDRangeKernel(q, k, 1, null, new long[] {blocks}, null, 0, null, null);
            int skip = (int) (firstElement - base);
            if (fp64) {
                CL.clEnqueueReadBuffer(q, outBuf, CL_TRUE, 8L * skip, 8L * out.length, Pointer.to(out), 0, null, null);
            } else {
                float[] f = new float[out.length];
                CL.clEnqueueReadBuffer(q, outBuf, CL_TRUE, 4L * skip, 4L * f.length, Pointer.to(f), 0, null, null);
                for (int i = 0; i < f.length; i++) {
                    out[i] = f[i];
                }
            }
        } catch (CLException e) {
            throw OpenClException.wrap("DP noise for " + out.length + " elements failed", e);
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = std * out[i];
        }
    }

    private byte[] nonce(String model, String tensor, int shard, long version) {
        if (shard < 0 || version < 0) {
            throw new IllegalArgumentException("shard and version must be >= 0, got " + shard + ", " + version);
        }
        return keys.nonce(model, tensor, shard, version);
    }

    private static int[] littleEndianWords(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int[] words = new int[bytes.length / 4];
        for (int i = 0; i < words.length; i++) {
            words[i] = b.getInt();
        }
        return words;
    }

    @Override
    public String toString() {
        return "OpenClNoiseGenerator[ChaCha20 counter mode on " + ctx.device().name() + ", seed redacted]";
    }
}
