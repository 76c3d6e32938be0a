package io.gradstream.core.codec;

/**
 * Bulk float32 to binary16/bfloat16 encoder with the per-element results of {@link Fp16#fromFloat(float)} and
 * {@link Bf16#fromFloat(float)}, bit for bit, written as loops that Java 17's C2 vectorises. Holds scratch arrays,
 * so one instance per thread (the codec's).
 *
 * <p>Each chunk of up to {@link #CHUNK} floats takes three passes: (1) for FP16 only, a float pass computing
 * {@code |x| + 0.5f}, whose low 16 bits are the subnormal binary16 result (the FPU rounds to the nearest multiple of
 * 2^-24, ties to even, exactly as the scalar code's shift does); (2) a SWAR pass over 64-bit words, each holding two
 * elements' raw bits ({@link FloatBits}), that rounds both halves without a carry or borrow between them and packs
 * the two 16-bit results into the word's low 32 bits; (3) a scalar pass storing those 32 bits little-endian. Inputs
 * that pass (2) does not handle (FP16: magnitude &gt;= 65520, infinity, NaN; BF16: NaN) set a flag, and the chunk is
 * then re-encoded by the scalar functions, so they cost speed only, never exactness. Derivations and timings are in
 * {@code docs/benchmarks.md}.
 */
final class HalfPrecisionEncoder {

    /**
     * Floats per pass: each pass touches at most 12 KiB of scratch, which stays in the L1 cache. 1024 measured
     * 10-15% faster than 2048 on an AVX-512 Xeon (and 512 or 4096 slower); see {@code docs/benchmarks.md}.
     */
    static final int CHUNK = 1024;

    // Constants repeat a 32-bit value in both halves of a word; no per-half sum below can reach 2^32, so the halves
    // never leak into each other (each bound is noted where the sum is taken).
    private static final long ONE = 0x0000_0001_0000_0001L;
    private static final long ABS = 0x7FFF_FFFF_7FFF_FFFFL;
    private static final long LOW16 = 0x0000_FFFF_0000_FFFFL;
    private static final long SIGN16 = 0x0000_8000_0000_8000L;
    private static final long HALF_TOPS = 0x8000_0000_8000_0000L;
    /**
     * FP16 normal path: {@code ((a - (112 << 23)) + 0xFFF + lsb) >>> 13} equals {@code ((a + 0xFFF + lsb) >>> 13) -
     * 0x1C000}; adding {@code 0x4000 << 13} instead of subtracting gives the same value mod 2^16 without a borrow.
     */
    private static final long FP16_ROUND = 0x0800_0FFF_0800_0FFFL;
    /** {@code a + 0x47800000} has bit 31 set iff {@code a >= 0x38800000} (2^-14, the smallest normal binary16). */
    private static final long FP16_NORMAL_TEST = 0x4780_0000_4780_0000L;
    /** {@code a + 0x38801000} has bit 31 set iff {@code a >= 0x477FF000} (65520: overflow, infinity, NaN). */
    private static final long FP16_SPECIAL_TEST = 0x3880_1000_3880_1000L;

    private static final long BF16_ROUND = 0x0000_7FFF_0000_7FFFL;
    /** {@code a + 0x007FFFFF} has bit 31 set iff {@code a > 0x7F800000} (NaN). */
    private static final long BF16_SPECIAL_TEST = 0x007F_FFFF_007F_FFFFL;

    private final boolean bf16;
    private final float[] copy;
    private final float[] rounded;
    private final FloatBits inputBits = new FloatBits(CHUNK);
    private final FloatBits roundedBits;
    private final long[] words = new long[CHUNK / 2];

    HalfPrecisionEncoder(boolean bf16) {
        this.bf16 = bf16;
        this.copy = bf16 ? null : new float[CHUNK];
        this.rounded = bf16 ? null : new float[CHUNK];
        this.roundedBits = bf16 ? null : new FloatBits(CHUNK);
    }

    /**
     * Writes the 2-byte little-endian encoding of {@code src[offset, offset + length)} to {@code out} from
     * {@code outPos}. The caller has checked both ranges.
     */
    void encode(float[] src, int offset, int length, byte[] out, int outPos) {
        // Whole chunks first, the rest in one more call: with the inner trip count a constant in the loop, C2 (17)
        // compiles all inner loops well; a trip count of min(CHUNK, length - done) made it 2-3 times slower.
        int done = 0;
        for (; done + CHUNK <= length; done += CHUNK) {
            encodeChunk(src, offset + done, CHUNK, out, outPos + 2 * done);
        }
        if (done < length) {
            encodeChunk(src, offset + done, length - done, out, outPos + 2 * done);
        }
    }

    private void encodeChunk(float[] src, int from, int n, byte[] out, int at) {
        int pairs = n >>> 1;
        inputBits.load(src, from, n);
        long special;
        if (bf16) {
            special = bf16Words(inputBits.bytes, words, pairs);
        } else {
            // The float pass indexes both arrays from 0: C2 (17) does not vectorise a loop whose arrays start at
            // different loop-invariant offsets, so src is copied first (one memory copy).
            System.arraycopy(src, from, copy, 0, n);
            plusHalf(copy, rounded, n);
            roundedBits.load(rounded, 0, n);
            special = fp16Words(inputBits.bytes, roundedBits.bytes, words, pairs);
        }
        storeLowHalves(words, pairs, out, at);
        if ((special & HALF_TOPS) != 0) {
            scalar(src, from, 2 * pairs, out, at);
        }
        if ((n & 1) != 0) {
            scalar(src, from + n - 1, 1, out, at + 2 * (n - 1));
        }
    }

    /** The per-element path: the reference functions themselves. */
    private void scalar(float[] src, int from, int count, byte[] out, int at) {
        for (int i = 0; i < count; i++) {
            float x = src[from + i];
            LittleEndian.putShort(out, at + 2 * i, bf16 ? Bf16.fromFloat(x) : Fp16.fromFloat(x));
        }
    }

    // The loops: each a small static method over arrays that all start at index 0, which C2 (17) inlines and
    // vectorises (storeLowHalves excepted: it narrows).

    /** {@code t = |x| + 0.5f}: the low 16 bits of its bits are the subnormal binary16 result for |x| < 2^-14. */
    private static void plusHalf(float[] x, float[] t, int n) {
        for (int i = 0; i < n; i++) {
            t[i] = Math.abs(x[i]) + 0.5f;
        }
    }

    /** Stores the low 32 bits of {@code w[0, pairs)} little-endian: the narrowing C2 (17) cannot vectorise. */
    private static void storeLowHalves(long[] w, int pairs, byte[] out, int at) {
        for (int j = 0; j < pairs; j++) {
            LittleEndian.putInt(out, at + 4 * j, (int) w[j]);
        }
    }

    /** Fills {@code w[0, pairs)}; bit 31 or 63 of the result is set if some element needs the scalar path. */
    private static long fp16Words(byte[] xb, byte[] tb, long[] w, int pairs) {
        long special = 0;
        for (int j = 0; j < pairs; j++) {
            long bits = FloatBits.word(xb, j);
            long abs = bits & ABS;
            // Normal result (mod 2^16) of each half; per half a + 0x08000FFF + 1 <= 0x88001000.
            long normal = (abs + FP16_ROUND + ((abs >>> 13) & ONE)) >>> 13;
            // Subnormal result: bits(|x| + 0.5f) - 0x3F000000 is at most 0x400, i.e. its low 16 bits.
            long sub = FloatBits.word(tb, j) & LOW16;
            // 1 per half where a >= 2^-14 (<= 0xC77FFFFF per half), widened to a 16-bit mask.
            long isNormal = ((abs + FP16_NORMAL_TEST) >>> 31) & ONE;
            long r = sub ^ ((sub ^ normal) & ((isNormal << 16) - isNormal));
            r |= (bits >>> 16) & SIGN16;
            w[j] = r | (r >>> 16);
            special |= abs + FP16_SPECIAL_TEST; // <= 0xB8800FFF per half
        }
        return special;
    }

    /** Fills {@code w[0, pairs)}; bit 31 or 63 of the result is set if some element needs the scalar path. */
    private static long bf16Words(byte[] xb, long[] w, int pairs) {
        long special = 0;
        for (int j = 0; j < pairs; j++) {
            long bits = FloatBits.word(xb, j);
            // (b + 0x7FFF + lsb) >>> 16 per half, the sign included. Only b >= 0xFFFF8000 (a negative NaN) carries
            // out of the low half, and NaNs send the chunk to the scalar path anyway.
            long r = ((bits + BF16_ROUND + ((bits >>> 16) & ONE)) >>> 16) & LOW16;
            w[j] = r | (r >>> 16);
            special |= (bits & ABS) + BF16_SPECIAL_TEST; // <= 0x807FFFFE per half
        }
        return special;
    }
}
