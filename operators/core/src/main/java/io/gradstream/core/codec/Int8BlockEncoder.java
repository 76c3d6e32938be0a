package io.gradstream.core.codec;

import static io.gradstream.core.codec.Int8BlockCodec.BLOCK_SIZE;

/**
 * Bulk INT8_BLOCK encoder with exactly the bytes of the per-element rule ({@link Int8BlockCodec#quantize(float[],
 * int, int, float[], byte[])}), written as loops that Java 17's C2 vectorises. Holds scratch arrays, so one instance
 * per thread (the codec's).
 *
 * <p>Per block: a max-reduction for {@code amax}, then {@code fl32(x / scale) + 1.5 * 2^23}, whose float addition
 * rounds to an integer with ties to even (as {@code Math.rint} does) and leaves it in the low bits: the low byte of
 * the sum's bits is {@code q}. With a normal scale {@code |x / scale| <= 127.00002}, so the clamp cannot bite and is
 * not needed; blocks with a zero or subnormal scale take the per-element path. Then a SWAR pass gathers two low
 * bytes per 64-bit word ({@link FloatBits}) and a scalar pass stores them.
 */
final class Int8BlockEncoder {

    /** Floats per pass (8 blocks): each pass touches at most 24 KiB of scratch, which stays in the L1 cache. */
    static final int CHUNK = 8 * BLOCK_SIZE;

    /** 1.5 * 2^23: for |t| < 2^22, {@code t + ROUNDER} is an integer whose low bits are {@code rint(t)}. */
    private static final float ROUNDER = 0x1.8p23f;

    private static final long LOW_BYTES = 0x0000_00FF_0000_00FFL;

    /** The chunk, then padding that {@link #divideAndRoundThenPairs} may read (stale values, never used). */
    private final float[] copy = new float[CHUNK + 2 * BLOCK_SIZE];
    /** {@code pairs[i] = max(|x[i]|, |x[i + 128]|)}, then halved in place ({@link #amaxOfPairs}). */
    private final float[] pairs = new float[CHUNK + 2 * BLOCK_SIZE];

    private final float[] shifted = new float[CHUNK];
    private final FloatBits shiftedBits = new FloatBits(CHUNK);
    private final long[] words = new long[CHUNK / 2];

    /**
     * Writes the encoding of {@code src[offset, offset + length)} (scale, then one byte per element, per block) to
     * {@code out} from {@code outPos}. The caller has checked both ranges.
     *
     * @throws IllegalArgumentException if an element is NaN or infinite (the message names its index in {@code src})
     */
    void encode(float[] src, int offset, int length, byte[] out, int outPos) {
        // Whole chunks in loops of constant trip count, the rest block by block: a trip count that varies between
        // calls of an inlined loop (min(CHUNK, length - done)) made C2 (17) compile all of them 2-3 times slower.
        // C2 (17) also does not vectorise a loop whose arrays start at different loop-invariant offsets, so every
        // pass indexes copy and shifted alike and the input is copied first (one memory copy).
        int done = 0;
        int pos = outPos;
        for (; done + CHUNK <= length; done += CHUNK) {
            System.arraycopy(src, offset + done, copy, 0, CHUNK);
            pos = encodeChunk(offset + done, out, pos);
        }
        if (done < length) {
            int n = length - done;
            System.arraycopy(src, offset + done, copy, 0, n);
            for (int start = 0; start < n; start += BLOCK_SIZE) {
                pos = encodeBlock(offset + done, start, Math.min(BLOCK_SIZE, n - start), out, pos);
            }
        }
    }

    /**
     * Encodes the 8 blocks in {@code copy}. The first level of the next block's max tree runs in the loop that
     * divides the current one (the division is throughput-bound, so it costs little there). A scalar max-reduction
     * in that loop (the previous design) took 71 us per 64 Ki floats on an AVX-512 Xeon, against 16 us for the
     * division loop alone and 46 us for the reduction alone: the fused loop ran at about the scalar division rate.
     */
    private int encodeChunk(int srcBase, byte[] out, int pos) {
        float amax = amaxTree(copy, pairs, 0);
        for (int start = 0; start < CHUNK; start += BLOCK_SIZE) {
            if (!(amax <= Float.MAX_VALUE)) {
                throw nonFinite(srcBase, start);
            }
            float scale = amax / 127f;
            LittleEndian.putFloat(out, pos, scale);
            pos += 4;
            boolean last = start + BLOCK_SIZE == CHUNK;
            if (scale >= Float.MIN_NORMAL) {
                if (last) {
                    divideAndRound(copy, shifted, start, BLOCK_SIZE, scale);
                } else {
                    divideAndRoundThenPairs(copy, shifted, pairs, start, scale);
                    amax = amaxOfPairs(pairs, start + BLOCK_SIZE);
                }
                shiftedBits.load(shifted, start, BLOCK_SIZE);
                gatherLowBytes(shiftedBits.bytes, words, BLOCK_SIZE / 2);
                storeBytes(words, BLOCK_SIZE / 2, out, pos);
            } else {
                perElement(start, BLOCK_SIZE, scale, out, pos);
                if (!last) {
                    amax = amaxTree(copy, pairs, start + BLOCK_SIZE);
                }
            }
            pos += BLOCK_SIZE;
        }
        return pos;
    }

    /** Encodes {@code copy[start, start + count)} at {@code out[pos]}; returns the position after the block. */
    private int encodeBlock(int srcBase, int start, int count, byte[] out, int pos) {
        float amax = amax(copy, start, count);
        if (!(amax <= Float.MAX_VALUE)) {
            throw nonFinite(srcBase, start);
        }
        float scale = amax / 127f;
        LittleEndian.putFloat(out, pos, scale);
        pos += 4;
        if (scale >= Float.MIN_NORMAL) {
            divideAndRound(copy, shifted, start, count, scale);
            shiftedBits.load(shifted, start, count);
            gatherLowBytes(shiftedBits.bytes, words, count >>> 1);
            storeBytes(words, count >>> 1, out, pos);
            if ((count & 1) != 0) {
                out[pos + count - 1] = (byte) Float.floatToRawIntBits(shifted[start + count - 1]);
            }
        } else {
            perElement(start, count, scale, out, pos);
        }
        return pos + count;
    }

    /** Zero or subnormal scale: the per-element rule (its clamp can bite there). */
    private void perElement(int start, int count, float scale, byte[] out, int pos) {
        for (int i = 0; i < count; i++) {
            out[pos + i] = Int8BlockCodec.quantize(copy[start + i], scale);
        }
    }

    private IllegalArgumentException nonFinite(int srcBase, int start) {
        int i = start;
        while (Float.isFinite(copy[i])) {
            i++;
        }
        return new IllegalArgumentException(
                "INT8_BLOCK input must be finite, got " + copy[i] + " at index " + (srcBase + i));
    }

    // The loops: each a small static method that C2 (17) inlines and vectorises (storeBytes excepted: it narrows).

    /** Largest |x|; Math.max propagates NaN and keeps infinity, so one check afterwards finds non-finite input. */
    private static float amax(float[] x, int from, int count) {
        float amax = 0f;
        for (int i = from; i < from + count; i++) {
            amax = Math.max(amax, Math.abs(x[i]));
        }
        return amax;
    }

    private static void divideAndRound(float[] x, float[] y, int from, int count, float scale) {
        for (int i = from; i < from + count; i++) {
            y[i] = x[i] / scale + ROUNDER;
        }
    }

    /**
     * {@link #amax} of the block at {@code from} as a tree of vectorised halvings (no loop-carried dependence, unlike
     * a scalar reduction, which C2 (17) does not vectorise for floats); {@code t} is scratch. Math.max is exact and
     * propagates NaN, so the result equals {@link #amax}'s.
     */
    private static float amaxTree(float[] x, float[] t, int from) {
        for (int i = from; i < from + BLOCK_SIZE / 2; i++) {
            t[i] = Math.max(Math.abs(x[i]), Math.abs(x[i + BLOCK_SIZE / 2]));
        }
        return amaxOfPairs(t, from);
    }

    /** Finishes {@link #amaxTree} from {@code t[from, from + 128)}, overwriting it. */
    private static float amaxOfPairs(float[] t, int from) {
        for (int i = from; i < from + 64; i++) {
            t[i] = Math.max(t[i], t[i + 64]);
        }
        for (int i = from; i < from + 32; i++) {
            t[i] = Math.max(t[i], t[i + 32]);
        }
        for (int i = from; i < from + 16; i++) {
            t[i] = Math.max(t[i], t[i + 16]);
        }
        float a = Math.max(
                Math.max(Math.max(t[from], t[from + 8]), Math.max(t[from + 1], t[from + 9])),
                Math.max(Math.max(t[from + 2], t[from + 10]), Math.max(t[from + 3], t[from + 11])));
        float b = Math.max(
                Math.max(Math.max(t[from + 4], t[from + 12]), Math.max(t[from + 5], t[from + 13])),
                Math.max(Math.max(t[from + 6], t[from + 14]), Math.max(t[from + 7], t[from + 15])));
        return Math.max(a, b);
    }

    /**
     * {@link #divideAndRound} of the block at {@code from}, plus the first level of the next block's max tree:
     * {@code t[i + 256] = max(|x[i + 256]|, |x[i + 384]|)}. Only {@code t[from + 256, from + 384)} is used; the rest
     * reads the next-but-one block or the padding, harmlessly.
     */
    private static void divideAndRoundThenPairs(float[] x, float[] y, float[] t, int from, float scale) {
        for (int i = from; i < from + BLOCK_SIZE; i++) {
            y[i] = x[i] / scale + ROUNDER;
            t[i + BLOCK_SIZE] = Math.max(Math.abs(x[i + BLOCK_SIZE]), Math.abs(x[i + BLOCK_SIZE + BLOCK_SIZE / 2]));
        }
    }

    /** Two elements per word: keeps each half's low byte and moves the high one next to the low one. */
    private static void gatherLowBytes(byte[] yb, long[] w, int pairs) {
        for (int j = 0; j < pairs; j++) {
            long low = FloatBits.word(yb, j) & LOW_BYTES;
            w[j] = low | (low >>> 24);
        }
    }

    /** Stores the 2 bytes in the low 16 bits of each word. */
    private static void storeBytes(long[] w, int pairs, byte[] out, int pos) {
        for (int j = 0; j < pairs; j++) {
            LittleEndian.putShort(out, pos + 2 * j, (short) w[j]);
        }
    }
}
