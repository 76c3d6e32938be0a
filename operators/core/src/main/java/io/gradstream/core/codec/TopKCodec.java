package io.gradstream.core.codec;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Top-k sparsification: keeps the {@code k} elements of largest magnitude (ties go to the lower index) and writes
 * them as int32 count {@code c = min(k, length)}, then {@code c} int32 indices in ascending order, then the
 * {@code c} float32 values, all little-endian; decoding zero-fills and scatters. Holds a growing scratch array, so
 * an instance is NOT thread-safe.
 */
public final class TopKCodec implements PayloadCodec {

    private final int k;
    /** Selection keys of the last encode; grown on demand and kept so steady-state encoding allocates nothing. */
    private long[] scratch = new long[0];
    /** Two histograms of {@link #BUCKETS} magnitude buckets each, created on the first encode. */
    private int[] histogram;

    /** Buckets of the magnitude histogram: the top 11 bits of |x|'s bits (bits 30..20). */
    private static final int BUCKET_SHIFT = 20;

    private static final int BUCKETS = 1 << (31 - BUCKET_SHIFT);

    /** @throws IllegalArgumentException if {@code k < 1} */
    public TopKCodec(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("TOPK needs k >= 1, got k = " + k);
        }
        this.k = k;
    }

    /** The number of elements kept (fewer when a vector is shorter than k). */
    public int k() {
        return k;
    }

    @Override
    public Encoding encoding() {
        return Encoding.TOPK;
    }

    /** Exact: {@code 4 + 8 * min(k, elementCount)}. */
    @Override
    public int maxEncodedSize(int elementCount) {
        LittleEndian.requireLength(elementCount);
        return LittleEndian.toIntSize(Encoding.TOPK, 4L + 8L * Math.min(k, elementCount), elementCount);
    }

    /**
     * One long that orders elements by magnitude, then by lower index: the raw bits of |x| (monotonic in |x| for
     * non-NaN floats) in the high half, {@code ~index} in the low half. All keys are distinct, so exactly {@code k}
     * keys are >= the k-th largest, and equal magnitudes (e.g. many zeros) cannot degrade the selection.
     */
    private static long key(float v, int index) {
        return ((long) (Float.floatToRawIntBits(v) & 0x7FFFFFFF) << 32) | (~index & 0xFFFFFFFFL);
    }

    @Override
    public int encode(float[] src, int offset, int length, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int size = maxEncodedSize(length);
        LittleEndian.requireWritable(Encoding.TOPK, dst, size, length);
        int count = Math.min(k, length);
        // Keeping everything needs no selection; otherwise find the count-th largest key in O(length) time.
        long threshold = count < length ? threshold(src, offset, length, count) : Long.MIN_VALUE;
        if (count == length) {
            requireNoNaN(src, offset, length);
        }
        int pos = dst.position();
        LittleEndian.putInt(dst, pos, count);
        int indexPos = pos + 4;
        int valuePos = indexPos + 4 * count;
        // Scanning in index order emits the kept elements already sorted, so no sort is needed.
        for (int i = 0, j = 0; j < count; i++) {
            float v = src[offset + i];
            if (key(v, i) >= threshold) {
                LittleEndian.putInt(dst, indexPos + 4 * j, i);
                LittleEndian.putFloat(dst, valuePos + 4 * j, v);
                j++;
            }
        }
        dst.position(pos + size);
        return size;
    }

    private static void requireNoNaN(float[] src, int offset, int length) {
        for (int i = 0; i < length; i++) {
            if (Float.isNaN(src[offset + i])) {
                throw new IllegalArgumentException("TOPK input must not be NaN, got NaN at index " + (offset + i));
            }
        }
    }

    /**
     * The {@code count}-th largest {@link #key} of {@code src[offset, offset + length)}, {@code count < length}: a
     * histogram of the magnitudes' top 11 bits (exponent and 2 mantissa bits, monotonic in |x|) names the bucket that
     * holds it and how many keys lie above that bucket; only that bucket's keys are then gathered and selected among.
     * The same key as a selection over all of them, so the same output, in two branch-light passes instead of a
     * quickselect's unpredictable branches over every key (about 3x faster on a 64 Ki shard of gradients, see
     * docs/benchmarks.md); a bucket that holds all keys (e.g. all equal) costs one selection over all, as before.
     */
    private long threshold(float[] src, int offset, int length, int count) {
        if (histogram == null) {
            histogram = new int[2 * BUCKETS];
        }
        int[] h = histogram;
        Arrays.fill(h, 0);
        // Two interleaved histograms: neighbouring elements of a gradient often share a bucket, and a single
        // histogram's increments would then wait on each other through memory.
        int nan = 0;
        int i = 0;
        for (; i + 1 < length; i += 2) {
            int a = Float.floatToRawIntBits(src[offset + i]) & 0x7FFFFFFF;
            int b = Float.floatToRawIntBits(src[offset + i + 1]) & 0x7FFFFFFF;
            nan |= (0x7F800000 - a) | (0x7F800000 - b); // negative iff a NaN
            h[a >>> BUCKET_SHIFT]++;
            h[BUCKETS + (b >>> BUCKET_SHIFT)]++;
        }
        if (i < length) {
            int a = Float.floatToRawIntBits(src[offset + i]) & 0x7FFFFFFF;
            nan |= 0x7F800000 - a;
            h[a >>> BUCKET_SHIFT]++;
        }
        if (nan < 0) {
            requireNoNaN(src, offset, length); // throws, naming the first NaN as before
        }
        int above = 0;
        int bucket = BUCKETS - 1;
        while (above + h[bucket] + h[BUCKETS + bucket] < count) {
            above += h[bucket] + h[BUCKETS + bucket];
            bucket--;
        }
        int inBucket = h[bucket] + h[BUCKETS + bucket];
        if (scratch.length < inBucket) {
            scratch = new long[Math.max(inBucket, scratch.length + (scratch.length >> 1))];
        }
        long[] keys = scratch;
        int m = 0;
        for (int j = 0; j < length; j++) {
            float v = src[offset + j];
            if (((Float.floatToRawIntBits(v) & 0x7FFFFFFF) >>> BUCKET_SHIFT) == bucket) {
                keys[m++] = key(v, j);
            }
        }
        // The bucket's (count - above)-th largest key is the count-th largest overall.
        return select(keys, m, m - (count - above));
    }

    /**
     * Accepts any count {@code c <= length} (the receiver need not know the sender's k) and rejects indices that are
     * out of range, unsorted or duplicated.
     */
    @Override
    public void decode(ByteBuffer src, float[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        LittleEndian.requireLength(length);
        LittleEndian.requireReadable(Encoding.TOPK, src, 4, length);
        int pos = src.position();
        int count = LittleEndian.getInt(src, pos);
        if (count < 0 || count > length) {
            throw new IllegalArgumentException("malformed TOPK payload: count " + count + " is outside [0, " + length
                    + "] for " + length + " elements");
        }
        LittleEndian.requireReadable(Encoding.TOPK, src, 4L + 8L * count, length);
        int indexPos = pos + 4;
        int valuePos = indexPos + 4 * count;
        // Validate every index before touching dst so that a corrupt payload leaves it unchanged.
        int previous = -1;
        for (int j = 0; j < count; j++) {
            int index = LittleEndian.getInt(src, indexPos + 4 * j);
            if (index < 0 || index >= length) {
                throw new IllegalArgumentException("malformed TOPK payload: index " + index + " (entry " + j
                        + ") is out of range [0, " + length + ")");
            }
            if (index <= previous) {
                throw new IllegalArgumentException(
                        "malformed TOPK payload: indices must be strictly ascending, but entry " + j + " is " + index
                                + " after " + previous);
            }
            previous = index;
        }
        Arrays.fill(dst, offset, offset + length, 0f);
        for (int j = 0; j < count; j++) {
            dst[offset + LittleEndian.getInt(src, indexPos + 4 * j)] = LittleEndian.getFloat(src, valuePos + 4 * j);
        }
        src.position(valuePos + 4 * count);
    }

    /**
     * Returns the element of ascending rank {@code rank} among {@code a[0, n)}, permuting the array: Hoare-partition
     * quickselect with a median-of-three pivot, falling back to heapsort of the remaining range after
     * 2 * log2(n) rounds so that the worst case stays O(n log n).
     */
    static long select(long[] a, int n, int rank) {
        int lo = 0;
        int hi = n - 1;
        int budget = 2 * (32 - Integer.numberOfLeadingZeros(n));
        while (lo < hi) {
            if (budget-- == 0) {
                heapSort(a, lo, hi + 1);
                return a[rank];
            }
            long pivot = medianOfThree(a[lo], a[(lo + hi) >>> 1], a[hi]);
            int i = lo;
            int j = hi;
            // The pivot value is in the range, so the scans stop at it (or at a swapped element) without bounds checks.
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            // Now a[lo..j] <= pivot <= a[i..hi] and anything strictly between equals the pivot.
            if (rank <= j) {
                hi = j;
            } else if (rank >= i) {
                lo = i;
            } else {
                return a[rank];
            }
        }
        return a[rank];
    }

    private static long medianOfThree(long a, long b, long c) {
        return a < b ? (b < c ? b : Math.max(a, c)) : (a < c ? a : Math.max(b, c));
    }

    /** Sorts {@code a[from, to)} ascending in place (the O(n log n) fallback of {@link #select}). */
    static void heapSort(long[] a, int from, int to) {
        int n = to - from;
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(a, from, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            long t = a[from];
            a[from] = a[from + end];
            a[from + end] = t;
            siftDown(a, from, 0, end);
        }
    }

    private static void siftDown(long[] a, int base, int root, int n) {
        long value = a[base + root];
        int child;
        while ((child = 2 * root + 1) < n) {
            if (child + 1 < n && a[base + child + 1] > a[base + child]) {
                child++;
            }
            if (a[base + child] <= value) {
                break;
            }
            a[base + root] = a[base + child];
            root = child;
        }
        a[base + root] = value;
    }
}
