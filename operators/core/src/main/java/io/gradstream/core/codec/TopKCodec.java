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
        for (int i = 0; i < length; i++) {
            if (Float.isNaN(src[offset + i])) {
                throw new IllegalArgumentException("TOPK input must not be NaN, got NaN at index " + (offset + i));
            }
        }
        int count = Math.min(k, length);
        // Keeping everything needs no selection; otherwise find the count-th largest key in O(length) expected time.
        long threshold = Long.MIN_VALUE;
        if (count < length) {
            if (scratch.length < length) {
                scratch = new long[Math.max(length, scratch.length + (scratch.length >> 1))];
            }
            long[] keys = scratch;
            for (int i = 0; i < length; i++) {
                keys[i] = key(src[offset + i], i);
            }
            threshold = select(keys, length, length - count);
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
