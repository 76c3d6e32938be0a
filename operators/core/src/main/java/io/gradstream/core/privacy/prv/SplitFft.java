package io.gradstream.core.privacy.prv;

import org.apache.commons.math3.transform.DftNormalization;
import org.apache.commons.math3.transform.FastFourierTransformer;
import org.apache.commons.math3.transform.TransformType;

/**
 * Power-of-two FFTs of up to {@code maxLength} points, computed by commons-math on short pieces only (Bailey's
 * four-step split, applied recursively). commons-math forms its twiddle factors by repeated multiplication, whose
 * error grows with the length: a forward-inverse round trip is off by 1.7e-11 at 2^20 points but 6e-16 at 2^6, and
 * the PRV composition raises the spectrum to the number of steps, which would carry that error into epsilon at the
 * 1e-6 level. The twiddles between the pieces come from two exact tables instead.
 */
final class SplitFft {
    /** Transforms up to this length go to commons-math in one piece. */
    private static final int DIRECT_LENGTH = 1 << 7;

    private final int maxLength;
    private final int fineBits;
    /** e^{-2 pi i m / maxLength} for m below 2^fineBits. */
    private final double[][] fine;
    /** e^{-2 pi i (m 2^fineBits) / maxLength} for every m. */
    private final double[][] coarse;

    SplitFft(int maxLength) {
        if (maxLength < 1 || Integer.bitCount(maxLength) != 1) {
            throw new IllegalArgumentException("FFT length must be a power of two, got " + maxLength);
        }
        this.maxLength = maxLength;
        this.fineBits = (Integer.numberOfTrailingZeros(maxLength) + 1) / 2;
        this.fine = table(1 << fineBits, 1);
        this.coarse = table(maxLength >> fineBits, 1 << fineBits);
    }

    private double[][] table(int count, int stride) {
        double[][] w = new double[2][count];
        for (int i = 0; i < count; i++) {
            // (i * stride) / maxLength is exact: maxLength is a power of two.
            double angle = -2 * Math.PI * ((double) ((long) i * stride) / maxLength);
            w[0][i] = Math.cos(angle);
            w[1][i] = Math.sin(angle);
        }
        return w;
    }

    /**
     * The DFT (forward: sum x_j e^{-2 pi i jk/L}; inverse: (1/L) sum x_j e^{+2 pi i jk/L}) of the arrays, in place;
     * their length L is a power of two up to {@code maxLength}.
     */
    void transform(double[] re, double[] im, TransformType type) {
        int length = re.length;
        if (im.length != length || length > maxLength || Integer.bitCount(length) != 1) {
            throw new IllegalArgumentException("FFT of length " + length + " on a table for " + maxLength);
        }
        if (length <= DIRECT_LENGTH) {
            FastFourierTransformer.transformInPlace(new double[][] {re, im}, DftNormalization.STANDARD, type);
            return;
        }
        // x[r + rows * c]: a transform over c for every r, the twiddle e^{-+2 pi i rk / L}, then a transform over r
        // for every k, whose results land transposed at k + cols * k'.
        int rows = 1 << (Integer.numberOfTrailingZeros(length) / 2);
        int cols = length / rows;
        long scale = maxLength / length;
        double sign = type == TransformType.FORWARD ? 1 : -1;
        int fineMask = (1 << fineBits) - 1;
        double[] colRe = new double[cols];
        double[] colIm = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                colRe[c] = re[r + rows * c];
                colIm[c] = im[r + rows * c];
            }
            transform(colRe, colIm, type);
            for (int k = 0; k < cols; k++) {
                long m = (long) r * k * scale;
                int hi = (int) (m >>> fineBits);
                int lo = (int) (m & fineMask);
                double wr = coarse[0][hi] * fine[0][lo] - coarse[1][hi] * fine[1][lo];
                double wi = sign * (coarse[0][hi] * fine[1][lo] + coarse[1][hi] * fine[0][lo]);
                re[r + rows * k] = colRe[k] * wr - colIm[k] * wi;
                im[r + rows * k] = colRe[k] * wi + colIm[k] * wr;
            }
        }
        double[] rowRe = new double[rows];
        double[] rowIm = new double[rows];
        double[] outRe = new double[length];
        double[] outIm = new double[length];
        for (int k = 0; k < cols; k++) {
            System.arraycopy(re, rows * k, rowRe, 0, rows);
            System.arraycopy(im, rows * k, rowIm, 0, rows);
            transform(rowRe, rowIm, type);
            for (int k2 = 0; k2 < rows; k2++) {
                outRe[k + cols * k2] = rowRe[k2];
                outIm[k + cols * k2] = rowIm[k2];
            }
        }
        System.arraycopy(outRe, 0, re, 0, length);
        System.arraycopy(outIm, 0, im, 0, length);
    }
}
