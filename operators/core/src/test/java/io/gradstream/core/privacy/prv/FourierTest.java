package io.gradstream.core.privacy.prv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.apache.commons.math3.transform.TransformType;
import org.junit.jupiter.api.Test;

/** The transforms against direct O(n^2) sums: Bluestein lengths, the real packing and the four-step split. */
class FourierTest {

    private static double[] randomPmf(int n, long seed) {
        Random r = new Random(seed);
        double[] x = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            x[i] = r.nextDouble();
            sum += x[i];
        }
        for (int i = 0; i < n; i++) {
            x[i] /= sum;
        }
        return x;
    }

    private static double[] cyclicConvolution(double[] a, double[] b) {
        int n = a.length;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                out[(i + j) % n] += a[i] * b[j];
            }
        }
        return out;
    }

    @Test
    void realSpectrumIsTheDirectDft() {
        for (int n : new int[] {2, 4, 6, 10, 22, 98, 130}) {
            double[] x = randomPmf(n, n);
            double[][] got = new Fourier(n).realSpectrum(x);
            for (int k = 0; k <= n / 2; k++) {
                double re = 0;
                double im = 0;
                for (int j = 0; j < n; j++) {
                    double angle = -2 * Math.PI * ((long) j * k % n) / n;
                    re += x[j] * Math.cos(angle);
                    im += x[j] * Math.sin(angle);
                }
                assertThat(Math.abs(got[0][k] - re)).as("n %d k %d re", n, k).isLessThan(1e-15);
                assertThat(Math.abs(got[1][k] - im)).as("n %d k %d im", n, k).isLessThan(1e-15);
            }
            double[] back = new Fourier(n).inverseRealSpectrum(got[0], got[1]);
            for (int j = 0; j < n; j++) {
                assertThat(Math.abs(back[j] - x[j]))
                        .as("n %d round trip %d", n, j)
                        .isLessThan(1e-15);
            }
        }
    }

    @Test
    void cyclicPowerIsRepeatedCyclicConvolution() {
        // 1234 points: its Bluestein convolution (2048) goes through the four-step split.
        for (int n : new int[] {2, 10, 66, 1234}) {
            double[] x = randomPmf(n, 7 + n);
            Fourier f = new Fourier(n);
            double[] direct = x.clone();
            for (int times = 1; times <= 3; times++) {
                if (times > 1) {
                    direct = cyclicConvolution(direct, x);
                }
                double[] got = f.cyclicPower(x, times);
                for (int j = 0; j < n; j++) {
                    assertThat(Math.abs(got[j] - direct[j]))
                            .as("n %d times %d index %d", n, times, j)
                            .isLessThan(1e-16 + 1e-13 * direct[j]);
                }
            }
        }
    }

    @Test
    void convolveSameIsTheMiddleOfTheLinearConvolution() {
        for (int n : new int[] {2, 8, 300}) {
            double[] x = randomPmf(n, 11 + n);
            double[] y = randomPmf(n, 13 + n);
            double[] full = new double[2 * n - 1];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    full[i + j] += x[i] * y[j];
                }
            }
            double[] got = new Fourier(n).convolveSame(x, y);
            for (int j = 0; j < n; j++) {
                assertThat(Math.abs(got[j] - full[j + (n - 1) / 2]))
                        .as("n %d index %d", n, j)
                        .isLessThan(1e-16);
            }
        }
    }

    /** Adds v to the compensated sum held in acc[i] (sum) and acc[i + 1] (lost low-order part). */
    private static void kahanAdd(double[] acc, int i, double v) {
        double y = v - acc[i + 1];
        double t = acc[i] + y;
        acc[i + 1] = (t - acc[i]) - y;
        acc[i] = t;
    }

    @Test
    void theSplitFftKeepsLongTransformsAccurate() {
        int n = 1 << 18;
        Random r = new Random(3);
        double[] re = new double[n];
        double[] im = new double[n];
        for (int i = 0; i < n; i++) {
            re[i] = r.nextDouble();
        }
        double[] x = re.clone();
        SplitFft fft = new SplitFft(n);
        fft.transform(re, im, TransformType.FORWARD);
        // Two coefficients by compensated direct summation: within rounding of the sum's size (n/2) both ways.
        for (int k : new int[] {1, 12345}) {
            double[] sum = new double[4];
            for (int j = 0; j < n; j++) {
                double angle = -2 * Math.PI * ((long) j * k % n) / n;
                kahanAdd(sum, 0, x[j] * Math.cos(angle));
                kahanAdd(sum, 2, x[j] * Math.sin(angle));
            }
            assertThat(Math.hypot(re[k] - sum[0], im[k] - sum[2])).as("k %d", k).isLessThan(1e-10);
        }
        fft.transform(re, im, TransformType.INVERSE);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            worst = Math.max(worst, Math.abs(re[i] - x[i]));
        }
        // commons-math alone is off by ~4e-12 at this length; split into pieces of <= 128 points, by ~1e-15.
        assertThat(worst).isLessThan(1e-14);
    }

    @Test
    void refusesLengthsItCannotServe() {
        assertThatThrownBy(() -> new Fourier(7)).hasMessageContaining("even");
        assertThatThrownBy(() -> new SplitFft(12)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new Fourier(4).cyclicPower(new double[6], 2)).hasMessageContaining("length 4");
    }
}
