package io.gradstream.core.shard;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.numeric.FloatScan;
import java.nio.ByteBuffer;

/**
 * The delta stream of a shard's parameters: each step sends {@code params - published} through a lossy codec and both
 * sides add the decoded delta to their copy, so what the codec leaves out stays in {@code params - published} and goes
 * out with a later step (error feedback on the server's side). Server and subscribers add with {@link #apply}, the
 * same float32 additions in the same order, so their copies are bit-identical. Keeps scratch arrays: NOT thread-safe.
 */
public final class ParameterDeltas {
    private float[] difference = new float[0];
    private float[] decoded = new float[0];

    /**
     * Encodes {@code params - published} with {@code codec} into {@code dst} (at its position, which advances) and
     * applies the decoded delta to {@code published}. On an exception {@code published} and {@code dst}'s position are
     * unchanged.
     *
     * @return the bytes written
     * @throws IllegalArgumentException when the arrays' lengths differ, {@code dst} is too small, or a difference or
     *     a new published value would not be finite (the caller then publishes a full snapshot instead)
     */
    public int encode(float[] params, float[] published, PayloadCodec codec, ByteBuffer dst) {
        int n = params.length;
        if (published.length != n) {
            throw new IllegalArgumentException(
                    "params and published lengths differ: " + n + " and " + published.length);
        }
        if (difference.length < n) {
            difference = new float[n];
            decoded = new float[n];
        }
        float[] d = difference;
        // Compute, then check (two loops that C2 vectorises, where one with an early exit would not be).
        for (int i = 0; i < n; i++) {
            d[i] = params[i] - published[i];
        }
        int bad = FloatScan.firstNonFinite(d, 0, n);
        if (bad >= 0) {
            throw new IllegalArgumentException(
                    "the change of element " + bad + " (" + params[bad] + " - " + published[bad] + ") is not finite");
        }
        int start = dst.position();
        int written = codec.encode(d, 0, n, dst);
        // Decode what was written, as a subscriber will, rather than assume the codec's rounding.
        dst.position(start);
        codec.decode(dst, decoded, 0, n);
        dst.position(start + written);
        float[] dec = decoded;
        // The new published values, computed apart (the difference is no longer needed) so that an overflow leaves
        // published as it was; the same float32 additions as apply(published, 0, dec, n).
        float[] next = difference;
        for (int i = 0; i < n; i++) {
            next[i] = published[i] + dec[i];
        }
        bad = FloatScan.firstNonFinite(next, 0, n);
        if (bad >= 0) {
            dst.position(start);
            throw new IllegalArgumentException("element " + bad + " would not be finite after the delta");
        }
        System.arraycopy(next, 0, published, 0, n);
        return written;
    }

    /**
     * Adds a decoded delta to a copy of the parameters: {@code values[offset + i] = values[offset + i] + delta[i]} in
     * float32 for {@code i < length}, what the job does to its own copy.
     */
    public static void apply(float[] values, int offset, float[] delta, int length) {
        for (int i = 0; i < length; i++) {
            values[offset + i] = values[offset + i] + delta[i];
        }
    }
}
