package io.gradstream.core.codec;

import io.gradstream.core.numeric.FloatScan;
import java.nio.ByteBuffer;

/**
 * Error-feedback compression for any {@link PayloadCodec}: what the codec loses in one step is carried in a residual
 * and added to the next gradient, so compression error does not accumulate (Seide et al. 2014, "1-Bit Stochastic
 * Gradient Descent and its Application to Data-Parallel Distributed Training of Speech DNNs"; Karimireddy et al.
 * 2019, "Error Feedback Fixes SignSGD and other Gradient Compression Schemes", arXiv:1901.09847). Keeps scratch
 * arrays, so an instance is NOT thread-safe.
 */
public final class ErrorFeedback {

    private float[] accumulated = new float[0];
    private float[] decoded = new float[0];

    /**
     * Encodes {@code acc = grad + residual} with {@code codec} into {@code dst} (at its position, which advances) and
     * sets {@code residual = acc - decode(encoded)}. {@code grad} is not modified. For TOPK the new residual is
     * therefore 0 at the sent indices and {@code acc} elsewhere. Input the codec cannot carry with a finite residual
     * (FP16 turns magnitudes of 65520 and above into infinity) is refused with the residual left unchanged.
     *
     * @return the number of bytes written
     * @throws IllegalArgumentException if the lengths of {@code grad} and {@code residual} differ, the codec
     *     rejects the input or the space in {@code dst}, or a residual would not be finite
     */
    public int compress(float[] grad, float[] residual, PayloadCodec codec, ByteBuffer dst) {
        if (grad.length != residual.length) {
            throw new IllegalArgumentException("grad and residual lengths differ: grad.length = " + grad.length
                    + ", residual.length = " + residual.length);
        }
        int n = grad.length;
        if (accumulated.length < n) {
            accumulated = new float[n];
            decoded = new float[n];
        }
        float[] acc = accumulated;
        for (int i = 0; i < n; i++) {
            acc[i] = grad[i] + residual[i];
        }
        int start = dst.position();
        int written = codec.encode(acc, 0, n, dst);
        // Read back exactly what the receiver will decode, rather than re-deriving the codec's rounding here.
        dst.position(start);
        codec.decode(dst, decoded, 0, n);
        dst.position(start + written);
        float[] dec = decoded;
        for (int i = 0; i < n; i++) {
            dec[i] = acc[i] - dec[i];
        }
        int bad = FloatScan.firstNonFinite(dec, 0, n);
        if (bad >= 0) {
            // An overflowing codec (FP16 above 65504) would poison every later step through the residual: refuse
            // the input and leave the residual as it was.
            dst.position(start);
            throw new IllegalArgumentException(codec.encoding() + " cannot carry " + acc[bad] + " at index " + bad
                    + " with error feedback (the residual would be " + dec[bad] + "); use BF16 or FP32");
        }
        System.arraycopy(dec, 0, residual, 0, n);
        return written;
    }
}
