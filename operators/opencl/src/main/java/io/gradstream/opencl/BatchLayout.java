package io.gradstream.opencl;

import java.util.Arrays;
import org.jocl.CL;

/**
 * Where each shard of one kernel launch lies in the concatenated device buffers: every shard starts on a
 * {@value ClContext#CHUNK}-element boundary and is padded to whole chunks, so that each work-group of one chunk
 * belongs to exactly one shard (see optimizers.cl). Plain arithmetic on the shards' lengths, no device.
 */
final class BatchLayout {
    private final int[] offsets;
    private final int[] ends;
    private final int padded;
    private final int[] chunkShard;

    private BatchLayout(int[] offsets, int[] ends, int padded, int[] chunkShard) {
        this.offsets = offsets;
        this.ends = ends;
        this.padded = padded;
        this.chunkShard = chunkShard;
    }

    /**
     * The layout of shards of {@code lengths} elements, in this order.
     *
     * @throws OpenClException with CL_INVALID_BUFFER_SIZE when the padded total exceeds one launch (2^31 - 1
     *     elements): the caller must split the batch
     */
    static BatchLayout of(int... lengths) {
        long total = 0;
        for (int n : lengths) {
            if (n < 0) {
                throw new IllegalArgumentException("a shard cannot have a negative length, got " + n);
            }
            total += paddedLength(n);
        }
        if (total > Integer.MAX_VALUE) {
            throw new OpenClException(
                    CL.CL_INVALID_BUFFER_SIZE, "a batch of " + total + " elements exceeds one launch; split it");
        }
        int count = lengths.length;
        int[] offsets = new int[count];
        int[] ends = new int[count];
        int next = 0;
        for (int j = 0; j < count; j++) {
            offsets[j] = next;
            ends[j] = next + lengths[j];
            next += (int) paddedLength(lengths[j]);
        }
        BatchLayout layout = new BatchLayout(offsets, ends, next, new int[Math.max(next / ClContext.CHUNK, 1)]);
        for (int j = 0; j < count; j++) {
            Arrays.fill(layout.chunkShard, layout.firstChunk(j), layout.endChunk(j), j);
        }
        return layout;
    }

    /** {@code n} rounded up to whole chunks. */
    static long paddedLength(int n) {
        return ((long) n + ClContext.CHUNK - 1) / ClContext.CHUNK * ClContext.CHUNK;
    }

    int count() {
        return offsets.length;
    }

    /** The first element of shard {@code j}. */
    int offset(int j) {
        return offsets[j];
    }

    int length(int j) {
        return ends[j] - offsets[j];
    }

    /** Elements of the launch, padding included: its global work size. */
    int padded() {
        return padded;
    }

    /** Work-groups (chunks) of the launch. */
    int chunks() {
        return padded / ClContext.CHUNK;
    }

    /** The first chunk of shard {@code j}. */
    int firstChunk(int j) {
        return offsets[j] / ClContext.CHUNK;
    }

    /** One past the last chunk of shard {@code j} (equal to {@link #firstChunk} for an empty shard). */
    int endChunk(int j) {
        return (int) ((offsets[j] + paddedLength(length(j))) / ClContext.CHUNK);
    }

    /**
     * The kernels' {@code chunk_shard} argument: the shard of each chunk. At least one entry, so that its buffer is
     * never empty; an empty launch never reads it.
     */
    int[] chunkShard() {
        return chunkShard.clone();
    }

    /** The kernels' {@code shard_end} argument: one past the last element of each shard. */
    int[] ends() {
        return ends.clone();
    }
}
