package io.gradstream.demo;

import io.gradstream.core.privacy.Clipping;
import io.gradstream.core.shard.TensorLayout;
import java.util.Map;
import java.util.SplittableRandom;

/** The demo workers' side of per-example DP-SGD: Poisson sampling and per-shard clipping of each example. */
final class ExampleClipping {
    private ExampleClipping() {}

    /** Each row of the slice independently with probability q: the sampling the RDP accountant assumes. */
    static int[] poissonSample(int[] slice, double q, SplittableRandom rnd) {
        return java.util.Arrays.stream(slice).filter(i -> rnd.nextDouble() < q).toArray();
    }

    /**
     * Writes into gW/gB the sum over {@code rows} of each example's gradient with every shard slice clipped to its
     * C_s; returns the mean loss of the rows (NaN for none).
     */
    static double clippedExampleSum(
            float[] w,
            float[] b,
            Digits data,
            int[] rows,
            Map<String, TensorLayout> layouts,
            Map<String, double[]> thresholds,
            float[] gW,
            float[] gB) {
        java.util.Arrays.fill(gW, 0f);
        java.util.Arrays.fill(gB, 0f);
        float[] eW = new float[gW.length];
        float[] eB = new float[gB.length];
        double loss = 0;
        int[] one = new int[1];
        for (int row : rows) {
            one[0] = row;
            loss += SoftmaxRegression.lossAndGradient(w, b, data.x(), data.y(), one, eW, eB);
            addClipped(eW, gW, layouts.get("W"), thresholds.get("W"));
            addClipped(eB, gB, layouts.get("b"), thresholds.get("b"));
        }
        return rows.length == 0 ? Double.NaN : loss / rows.length;
    }

    static void addClipped(float[] example, float[] sum, TensorLayout layout, double[] thresholds) {
        for (int s = 0; s < layout.shardCount(); s++) {
            int from = (int) layout.shardOffset(s);
            float[] slice = java.util.Arrays.copyOfRange(example, from, from + layout.shardLength(s));
            Clipping.clipInPlace(slice, thresholds[s]);
            for (int i = 0; i < slice.length; i++) {
                sum[from + i] += slice[i];
            }
        }
    }
}
