package io.gradstream.core.privacy.prv;

import org.apache.commons.math3.transform.TransformType;

/**
 * Convolutions of real sequences of one even length n: the cyclic self-convolution power the PRV composition needs
 * (of exactly length n, whatever n is, so that mass beyond the grid wraps around as it does in Opacus), and the middle
 * of a linear convolution. A real sequence is transformed as a complex one of half the length (even samples real,
 * odd imaginary), and a length that is no power of two by Bluestein's chirp-z algorithm: jk = (j^2 + k^2 - (k -
 * j)^2)/2 turns the DFT into a convolution of length &gt;= 2h - 1, done with power-of-two FFTs.
 */
final class Fourier {
    private final int n;
    /** Length of the packed complex sequence, n / 2. */
    private final int half;
    /** Power-of-two length of the Bluestein convolution, &gt;= 2 * half - 1. */
    private final int chirpLength;
    /** Power-of-two length of the linear convolution, &gt;= 2n - 1. */
    private final int linearLength;

    private final SplitFft fft;
    /** e^{-i pi j^2 / half}, j &lt; half. */
    private final double[] chirpRe;

    private final double[] chirpIm;
    /** FFT of the conjugate chirp laid out for a cyclic convolution of length {@link #chirpLength}. */
    private final double[] filterRe;

    private final double[] filterIm;
    /** e^{-2 pi i k / n}, k &lt;= half: ties the even and odd halves of a real sequence's spectrum together. */
    private final double[] unpackRe;

    private final double[] unpackIm;

    Fourier(int n) {
        if (n < 2 || n % 2 != 0) {
            throw new IllegalArgumentException("sequence length must be even and >= 2, got " + n);
        }
        this.n = n;
        this.half = n / 2;
        this.chirpLength = nextPowerOfTwo(2 * half - 1);
        this.linearLength = nextPowerOfTwo(2 * n - 1);
        this.fft = new SplitFft(Math.max(chirpLength, linearLength));
        this.chirpRe = new double[half];
        this.chirpIm = new double[half];
        long twoH = 2L * half;
        for (int j = 0; j < half; j++) {
            // j^2 mod 2h in integers keeps the angle exact for large j.
            double angle = Math.PI * (double) ((long) j * j % twoH) / half;
            chirpRe[j] = Math.cos(angle);
            chirpIm[j] = -Math.sin(angle);
        }
        this.filterRe = new double[chirpLength];
        this.filterIm = new double[chirpLength];
        for (int j = 0; j < half; j++) {
            filterRe[j] = chirpRe[j];
            filterIm[j] = -chirpIm[j];
            if (j > 0) {
                filterRe[chirpLength - j] = chirpRe[j];
                filterIm[chirpLength - j] = -chirpIm[j];
            }
        }
        fft.transform(filterRe, filterIm, TransformType.FORWARD);
        this.unpackRe = new double[half + 1];
        this.unpackIm = new double[half + 1];
        for (int k = 0; k <= half; k++) {
            double angle = -2 * Math.PI * k / n;
            unpackRe[k] = Math.cos(angle);
            unpackIm[k] = Math.sin(angle);
        }
    }

    private static int nextPowerOfTwo(int v) {
        return v <= 1 ? 1 : Integer.highestOneBit(v - 1) << 1;
    }

    int length() {
        return n;
    }

    /** Z_k = sum_j z_j e^{-2 pi i jk / half} in place on (re, im) of length half. */
    void dft(double[] re, double[] im) {
        double[] aRe = new double[chirpLength];
        double[] aIm = new double[chirpLength];
        for (int j = 0; j < half; j++) {
            aRe[j] = re[j] * chirpRe[j] - im[j] * chirpIm[j];
            aIm[j] = re[j] * chirpIm[j] + im[j] * chirpRe[j];
        }
        fft.transform(aRe, aIm, TransformType.FORWARD);
        for (int k = 0; k < chirpLength; k++) {
            double xr = aRe[k];
            double xi = aIm[k];
            aRe[k] = xr * filterRe[k] - xi * filterIm[k];
            aIm[k] = xr * filterIm[k] + xi * filterRe[k];
        }
        fft.transform(aRe, aIm, TransformType.INVERSE);
        for (int k = 0; k < half; k++) {
            re[k] = aRe[k] * chirpRe[k] - aIm[k] * chirpIm[k];
            im[k] = aRe[k] * chirpIm[k] + aIm[k] * chirpRe[k];
        }
    }

    /** X_0 .. X_half of a real sequence of length n, as {re, im}. */
    double[][] realSpectrum(double[] x) {
        double[] zRe = new double[half];
        double[] zIm = new double[half];
        for (int j = 0; j < half; j++) {
            zRe[j] = x[2 * j];
            zIm[j] = x[2 * j + 1];
        }
        dft(zRe, zIm);
        double[] re = new double[half + 1];
        double[] im = new double[half + 1];
        for (int k = 0; k <= half; k++) {
            int a = k % half;
            int b = (half - k) % half;
            // Spectra of the even samples (E) and the odd samples (O), then X_k = E_k + e^{-2 pi i k/n} O_k.
            double eRe = (zRe[a] + zRe[b]) / 2;
            double eIm = (zIm[a] - zIm[b]) / 2;
            double oRe = (zIm[a] + zIm[b]) / 2;
            double oIm = -(zRe[a] - zRe[b]) / 2;
            re[k] = eRe + unpackRe[k] * oRe - unpackIm[k] * oIm;
            im[k] = eIm + unpackRe[k] * oIm + unpackIm[k] * oRe;
        }
        return new double[][] {re, im};
    }

    /**
     * The real sequence of length n whose spectrum is Hermitian with X_0 .. X_half as given (the imaginary parts of
     * X_0 and X_half are ignored, as a real inverse FFT does).
     */
    double[] inverseRealSpectrum(double[] re, double[] im) {
        double[] zRe = new double[half];
        double[] zIm = new double[half];
        for (int k = 0; k < half; k++) {
            double yr = re[k];
            double yi = k == 0 ? 0 : im[k];
            double cr = re[half - k];
            double ci = half - k == half || half - k == 0 ? 0 : -im[half - k];
            // E_k = (Y_k + conj(Y_{h-k}))/2 and O_k = (Y_k - conj(Y_{h-k})) e^{+2 pi i k/n} / 2; Z_k = E_k + i O_k.
            double eRe = (yr + cr) / 2;
            double eIm = (yi + ci) / 2;
            double dRe = (yr - cr) / 2;
            double dIm = (yi - ci) / 2;
            double oRe = dRe * unpackRe[k] + dIm * unpackIm[k];
            double oIm = dIm * unpackRe[k] - dRe * unpackIm[k];
            // The inverse of Z by the forward transform: z = conj(DFT(conj(Z))) / half.
            zRe[k] = eRe - oIm;
            zIm[k] = -(eIm + oRe);
        }
        dft(zRe, zIm);
        double[] x = new double[n];
        for (int j = 0; j < half; j++) {
            x[2 * j] = zRe[j] / half;
            x[2 * j + 1] = -zIm[j] / half;
        }
        return x;
    }

    /** The {@code times}-fold cyclic self-convolution: the spectrum raised to that power (in polar form), inverted. */
    double[] cyclicPower(double[] x, long times) {
        if (x.length != n) {
            throw new IllegalArgumentException("sequence must have length " + n + ", got " + x.length);
        }
        double[][] spectrum = realSpectrum(x);
        double[] re = spectrum[0];
        double[] im = spectrum[1];
        for (int k = 0; k <= half; k++) {
            double r = Math.hypot(re[k], im[k]);
            double phase = Math.atan2(im[k], re[k]) * times;
            double mag = Math.pow(r, times);
            re[k] = mag * Math.cos(phase);
            im[k] = mag * Math.sin(phase);
        }
        return inverseRealSpectrum(re, im);
    }

    /**
     * The middle n terms of the linear convolution of two sequences of length n (terms (n-1)/2 to (n-1)/2 + n - 1 of
     * the 2n - 1), as scipy.signal.convolve(mode="same") returns them. Both go through one FFT as x + iy.
     */
    double[] convolveSame(double[] x, double[] y) {
        if (x.length != n || y.length != n) {
            throw new IllegalArgumentException("both sequences must have length " + n);
        }
        int m = linearLength;
        double[] re = new double[m];
        double[] im = new double[m];
        System.arraycopy(x, 0, re, 0, n);
        System.arraycopy(y, 0, im, 0, n);
        fft.transform(re, im, TransformType.FORWARD);
        double[] pRe = new double[m];
        double[] pIm = new double[m];
        for (int k = 0; k < m; k++) {
            int c = (m - k) & (m - 1);
            // X_k = (Z_k + conj Z_{-k}) / 2, Y_k = (Z_k - conj Z_{-k}) / 2i.
            double xRe = (re[k] + re[c]) / 2;
            double xIm = (im[k] - im[c]) / 2;
            double yRe = (im[k] + im[c]) / 2;
            double yIm = -(re[k] - re[c]) / 2;
            pRe[k] = xRe * yRe - xIm * yIm;
            pIm[k] = xRe * yIm + xIm * yRe;
        }
        fft.transform(pRe, pIm, TransformType.INVERSE);
        double[] out = new double[n];
        System.arraycopy(pRe, (n - 1) / 2, out, 0, n);
        return out;
    }
}
