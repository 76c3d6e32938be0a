package io.gradstream.opencl;

import static org.jocl.CL.CL_TRUE;

import io.gradstream.core.codec.Encoding;
import io.gradstream.core.codec.PayloadCodec;
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
 * The FP16 and BF16 {@link PayloadCodec}s on an OpenCL device, bit-identical to the core's (integer operations
 * only). Worth it where the floats are already on the device; for host arrays the transfers cost more than the CPU
 * loop. Not thread-safe, like the context it borrows.
 */
public final class OpenClHalfPrecisionCodec implements PayloadCodec {
    private static final String PROGRAM = "codecs";

    private final ClContext ctx;
    private final Encoding encoding;
    private final String prefix;
    private short[] halfScratch = new short[0];

    public OpenClHalfPrecisionCodec(ClContext ctx, Encoding encoding) {
        if (encoding != Encoding.FP16 && encoding != Encoding.BF16) {
            throw new IllegalArgumentException("OpenCL codec only for FP16 and BF16, got " + encoding);
        }
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.encoding = encoding;
        this.prefix = encoding == Encoding.FP16 ? "fp16" : "bf16";
    }

    @Override
    public Encoding encoding() {
        return encoding;
    }

    @Override
    public int maxEncodedSize(int elementCount) {
        if (elementCount < 0 || elementCount > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException(encoding + ": element count " + elementCount + " out of range");
        }
        return 2 * elementCount;
    }

    @Override
    public int encode(float[] src, int offset, int length, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int size = maxEncodedSize(length);
        if (dst.remaining() < size) {
            throw new IllegalArgumentException(encoding + ": " + length + " elements need " + size
                    + " bytes but the buffer has " + dst.remaining() + " remaining");
        }
        short[] half = scratch(length);
        if (length > 0) {
            run(
                    prefix + "_encode",
                    Pointer.to(src).withByteOffset(4L * offset),
                    4L * length,
                    Pointer.to(half),
                    2L * length,
                    length);
        }
        int pos = dst.position();
        ByteBuffer le = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < length; i++) {
            le.putShort(pos + 2 * i, half[i]);
        }
        dst.position(pos + size);
        return size;
    }

    @Override
    public void decode(ByteBuffer src, float[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int size = maxEncodedSize(length);
        if (src.remaining() < size) {
            throw new IllegalArgumentException(encoding + ": " + length + " elements need " + size
                    + " bytes but the payload has " + src.remaining());
        }
        short[] half = scratch(length);
        int pos = src.position();
        ByteBuffer le = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < length; i++) {
            half[i] = le.getShort(pos + 2 * i);
        }
        if (length > 0) {
            run(
                    prefix + "_decode",
                    Pointer.to(half),
                    2L * length,
                    Pointer.to(dst).withByteOffset(4L * offset),
                    4L * length,
                    length);
        }
        src.position(pos + size);
    }

    private short[] scratch(int n) {
        if (halfScratch.length < n) {
            halfScratch = new short[n];
        }
        return halfScratch;
    }

    /** Uploads {@code inBytes} from {@code in}, runs {@code kernel} over n elements, reads {@code outBytes}. */
    private void run(String kernel, Pointer in, long inBytes, Pointer out, long outBytes, int n) {
        try {
            cl_command_queue q = ctx.queue();
            cl_mem a = ctx.buffer("codec-in", inBytes);
            cl_mem b = ctx.buffer("codec-out", outBytes);
            CL.clEnqueueWriteBuffer(q, a, CL_TRUE, 0, inBytes, in, 0, null, null);
            cl_kernel k = ctx.kernel(PROGRAM, kernel);
            CL.clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(a));
            CL.clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(b));
            CL.clSetKernelArg(k, 2, Sizeof.cl_int, Pointer.to(new int[] {n}));
            CL.clEnqueueNDRangeKernel(q, k, 1, null, new long[] {n}, null, 0, null, null);
            CL.clEnqueueReadBuffer(q, b, CL_TRUE, 0, outBytes, out, 0, null, null);
        } catch (CLException e) {
            throw OpenClException.wrap(encoding + " " + kernel + " of " + n + " elements failed", e);
        }
    }
}
