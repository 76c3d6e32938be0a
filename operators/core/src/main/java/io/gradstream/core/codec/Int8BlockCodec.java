package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Symmetric per-block int8 quantization: each block of {@link #BLOCK_SIZE} elements is written as its float32 scale
 * (little-endian) followed by one signed byte per element, following the reference rule (float32 division by the
 * scale, round half to even) bit for bit; {@link #encode} runs the vectorised {@link Int8BlockEncoder}, byte-identical
 * to the per-element {@link #quantize(float[], int, int, float[], byte[])}.
 */
public final class Int8BlockCodec implements PayloadCodec {

    /** Created on the first encode (32 KiB of scratch that a decode-only instance never needs). */
    private Int8BlockEncoder encoder;
    /** Staging for destinations without an accessible array (direct buffers), allocated on first use. */
    private byte[] staging;

    /** Elements per block; the last block holds the remaining {@code length % BLOCK_SIZE} elements. */
    public static final int BLOCK_SIZE = 256;

    /** Number of blocks (and therefore scales) for {@code length} elements. */
    public static int numBlocks(int length) {
        LittleEndian.requireLength(length);
        return (int) ((length + (long) BLOCK_SIZE - 1) / BLOCK_SIZE);
    }

    /**
     * Quantizes {@code x[off, off + len)}: writes the scale of block b to {@code scalesOut[b]} and the int8 value of
     * element i to {@code qOut[i]} (both from index 0). All in float32: {@code scale = fl32(amax / 127f)} with
     * {@code amax} the block's largest |x|, {@code q = clamp(rint(fl32(x / scale)), -127, 127)}, and {@code q = 0}
     * when {@code amax == 0}.
     *
     * @throws IllegalArgumentException if an element is NaN or infinite (the message names its index in {@code x}),
     *     or an output array is too small
     */
    public static void quantize(float[] x, int off, int len, float[] scalesOut, byte[] qOut) {
        Objects.checkFromIndexSize(off, len, x.length);
        int blocks = numBlocks(len);
        if (scalesOut.length < blocks || qOut.length < len) {
            throw new IllegalArgumentException("quantizing " + len + " elements needs scalesOut.length >= " + blocks
                    + " and qOut.length >= " + len + ", got " + scalesOut.length + " and " + qOut.length);
        }
        for (int b = 0; b < blocks; b++) {
            int start = b * BLOCK_SIZE;
            int end = Math.min(start + BLOCK_SIZE, len);
            float scale = blockScale(x, off + start, off + end);
            scalesOut[b] = scale;
            for (int i = start; i < end; i++) {
                qOut[i] = quantize(x[off + i], scale);
            }
        }
    }

    /**
     * Dequantizes {@code q.length} values: {@code out[i] = fl32(float(q[i]) * scales[i / BLOCK_SIZE])}.
     *
     * @throws IllegalArgumentException if {@code scales} has fewer than {@code numBlocks(q.length)} entries or
     *     {@code out} is shorter than {@code q}
     */
    public static void dequantize(float[] scales, byte[] q, float[] out) {
        int blocks = numBlocks(q.length);
        if (scales.length < blocks || out.length < q.length) {
            throw new IllegalArgumentException("dequantizing " + q.length + " values needs scales.length >= " + blocks
                    + " and out.length >= " + q.length + ", got " + scales.length + " and " + out.length);
        }
        for (int i = 0; i < q.length; i++) {
            out[i] = q[i] * scales[i / BLOCK_SIZE];
        }
    }

    /** scale = fl32(amax / 127); rejects non-finite inputs because they would poison the whole block's scale. */
    private static float blockScale(float[] x, int from, int to) {
        float amax = 0f;
        for (int i = from; i < to; i++) {
            float v = x[i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("INT8_BLOCK input must be finite, got " + v + " at index " + i);
            }
            amax = Math.max(amax, Math.abs(v));
        }
        return amax / 127f;
    }

    static byte quantize(float v, float scale) {
        // One float32 division, then round half to even; (int) maps -0.0 to 0 as the rule requires. No special case
        // for scale == 0 is needed: all-zero blocks give 0/0 = NaN, and (int) NaN is 0, the rule's q = 0. A nonzero
        // element over a scale that underflowed to 0 (amax < 127 * 2^-150) gives +-Infinity and clamps to +-127,
        // exactly
        // what the literal rule yields; the clamp otherwise only bites when a subnormal scale lost precision.
        double r = Math.rint(v / scale);
        return (byte) (r > 127 ? 127 : r < -127 ? -127 : (int) r);
    }

    @Override
    public Encoding encoding() {
        return Encoding.INT8_BLOCK;
    }

    @Override
    public int maxEncodedSize(int elementCount) {
        return LittleEndian.toIntSize(Encoding.INT8_BLOCK, 4L * numBlocks(elementCount) + elementCount, elementCount);
    }

    @Override
    public int encode(float[] src, int offset, int length, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireWritable(Encoding.INT8_BLOCK, dst, size, length);
        int pos = dst.position();
        if (encoder == null) {
            encoder = new Int8BlockEncoder();
        }
        if (dst.hasArray()) {
            encoder.encode(src, offset, length, dst.array(), dst.arrayOffset() + pos);
        } else {
            encodeStaged(src, offset, length, dst, pos);
        }
        dst.position(dst.position() + size);
        return size;
    }

    /** Direct destinations: encode whole chunks (8 blocks, so block boundaries stay put) into an array, then copy. */
    private void encodeStaged(float[] src, int offset, int length, ByteBuffer dst, int pos) {
        int chunk = Int8BlockEncoder.CHUNK;
        if (staging == null) {
            staging = new byte[maxEncodedSize(chunk)];
        }
        for (int done = 0; done < length; done += chunk) {
            int n = Math.min(chunk, length - done);
            int bytes = maxEncodedSize(n);
            encoder.encode(src, offset + done, n, staging, 0);
            dst.put(pos, staging, 0, bytes);
            pos += bytes;
        }
    }

    @Override
    public void decode(ByteBuffer src, float[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireReadable(Encoding.INT8_BLOCK, src, size, length);
        int pos = src.position();
        for (int start = 0; start < length; start += BLOCK_SIZE) {
            int end = Math.min(start + BLOCK_SIZE, length);
            float scale = LittleEndian.getFloat(src, pos);
            // An encoder never writes these; accepting them would silently turn a corrupt payload into NaN/Inf updates.
            if (!(scale >= 0f) || scale == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("malformed INT8_BLOCK payload: scale of block " + start / BLOCK_SIZE
                        + " is " + scale + ", expected a finite value >= 0");
            }
            pos += 4;
            for (int i = start; i < end; i++) {
                byte q = src.get(pos++);
                if (q == Byte.MIN_VALUE) {
                    throw new IllegalArgumentException("malformed INT8_BLOCK payload: element " + i
                            + " is -128, outside the symmetric range [-127, 127]");
                }
                dst[offset + i] = q * scale;
            }
        }
        src.position(pos);
    }
}
