package io.gradstream.demo;

/**
 * Multinomial logistic regression {@code p = softmax(W·x + b)} with mean cross-entropy loss: the demo's real model.
 * W is [classes, features] row-major, b is [classes].
 */
public final class SoftmaxRegression {
    private SoftmaxRegression() {}

    /**
     * Mean cross-entropy over rows {@code idx} of the data; when {@code gW}/{@code gB} are not null, also writes
     * the gradient of that mean ({@code ∂L/∂z = p − onehot(y)}).
     */
    public static double lossAndGradient(
            float[] w, float[] b, float[][] x, int[] y, int[] idx, float[] gW, float[] gB) {
        int c = b.length;
        int f = x[0].length;
        if (gW != null) {
            java.util.Arrays.fill(gW, 0f);
            java.util.Arrays.fill(gB, 0f);
        }
        double loss = 0;
        double[] z = new double[c];
        for (int n : idx) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < c; k++) {
                double s = b[k];
                for (int j = 0; j < f; j++) {
                    s += w[k * f + j] * x[n][j];
                }
                z[k] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int k = 0; k < c; k++) {
                z[k] = Math.exp(z[k] - max);
                sum += z[k];
            }
            loss -= Math.log(z[y[n]] / sum);
            if (gW != null) {
                for (int k = 0; k < c; k++) {
                    double d = z[k] / sum - (k == y[n] ? 1 : 0);
                    gB[k] += (float) (d / idx.length);
                    for (int j = 0; j < f; j++) {
                        gW[k * f + j] += (float) (d * x[n][j] / idx.length);
                    }
                }
            }
        }
        return loss / idx.length;
    }

    /** Fraction of rows {@code idx} classified correctly. */
    public static double accuracy(float[] w, float[] b, float[][] x, int[] y, int[] idx) {
        int c = b.length;
        int f = x[0].length;
        int right = 0;
        for (int n : idx) {
            int best = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < c; k++) {
                double s = b[k];
                for (int j = 0; j < f; j++) {
                    s += w[k * f + j] * x[n][j];
                }
                if (s > bestScore) {
                    bestScore = s;
                    best = k;
                }
            }
            right += best == y[n] ? 1 : 0;
        }
        return (double) right / idx.length;
    }
}
