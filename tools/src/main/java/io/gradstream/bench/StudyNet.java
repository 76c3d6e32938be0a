package io.gradstream.bench;

import io.gradstream.demo.Digits;
import io.gradstream.demo.SoftmaxRegression;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.InitSpec;
import io.gradstream.schemas.TensorSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model the compression study trains on the digits: its tensors and initialisation as the service holds them, and
 * the worker-side loss and gradient (Java, no framework). {@link #DIGITS} is the demo's softmax regression;
 * {@link #mlp} a one-hidden-layer ReLU network.
 */
interface StudyNet {

    /** Short name, used in file names and the CSV. */
    String name();

    /** The model's tensors, in the order they are published. */
    List<TensorSpec> tensors();

    InitSpec init(long seed);

    /**
     * The initial values a worker publishes (INIT records) when {@link #init} is EXPLICIT, by tensor; null otherwise.
     * Drawn here rather than by the service's NORMAL rule, whose draws depend on the model id: every run of the study
     * must start from the same parameters.
     */
    default Map<String, float[]> initialValues(long seed) {
        return null;
    }

    int shardSize();

    /**
     * Mean cross-entropy over rows {@code idx}; when {@code grads} is not null, also writes the gradient of that mean
     * into its arrays (by tensor name, already of the right length).
     */
    double lossAndGradient(Map<String, float[]> params, Digits data, int[] idx, Map<String, float[]> grads);

    /** Mean cross-entropy and fraction classified correctly over rows {@code idx}. */
    double[] evaluate(Map<String, float[]> params, Digits data, int[] idx);

    /** The demo model: softmax regression, 650 parameters in 4 shards of 256, initialised to zero. */
    StudyNet DIGITS = new StudyNet() {
        @Override
        public String name() {
            return "digits";
        }

        @Override
        public List<TensorSpec> tensors() {
            return List.of(tensor("W", Digits.CLASSES, Digits.FEATURES), tensor("b", Digits.CLASSES));
        }

        @Override
        public InitSpec init(long seed) {
            return InitSpec.newBuilder().build();
        }

        @Override
        public int shardSize() {
            return 256;
        }

        @Override
        public double lossAndGradient(Map<String, float[]> p, Digits d, int[] idx, Map<String, float[]> g) {
            return SoftmaxRegression.lossAndGradient(
                    p.get("W"),
                    p.get("b"),
                    d.x(),
                    d.y(),
                    idx,
                    g == null ? null : g.get("W"),
                    g == null ? null : g.get("b"));
        }

        @Override
        public double[] evaluate(Map<String, float[]> p, Digits d, int[] idx) {
            return new double[] {
                SoftmaxRegression.lossAndGradient(p.get("W"), p.get("b"), d.x(), d.y(), idx, null, null),
                SoftmaxRegression.accuracy(p.get("W"), p.get("b"), d.x(), d.y(), idx)
            };
        }
    };

    /**
     * A 64-{@code hidden}-10 ReLU network (W1 [hidden, 64], b1, W2 [10, hidden], b2), every tensor drawn from N(0,
     * 0.1²) with the study's seed and sent as INIT records, in shards of 4096.
     */
    static StudyNet mlp(int hidden) {
        return new Mlp(hidden);
    }

    private static TensorSpec tensor(String name, Integer... shape) {
        return TensorSpec.newBuilder().setName(name).setShape(List.of(shape)).build();
    }

    /** See {@link StudyNet#mlp}. */
    final class Mlp implements StudyNet {
        private final int hidden;

        Mlp(int hidden) {
            this.hidden = hidden;
        }

        @Override
        public String name() {
            return "mlp";
        }

        @Override
        public List<TensorSpec> tensors() {
            return List.of(
                    tensor("W1", hidden, Digits.FEATURES),
                    tensor("b1", hidden),
                    tensor("W2", Digits.CLASSES, hidden),
                    tensor("b2", Digits.CLASSES));
        }

        @Override
        public InitSpec init(long seed) {
            return InitSpec.newBuilder().setRule(InitRule.EXPLICIT).build();
        }

        @Override
        public Map<String, float[]> initialValues(long seed) {
            java.util.Random r = new java.util.Random(seed);
            Map<String, float[]> values = new java.util.LinkedHashMap<>();
            for (TensorSpec t : tensors()) {
                float[] v = new float
                        [t.getShape().stream().mapToInt(Integer::intValue).reduce(1, Math::multiplyExact)];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (0.1 * r.nextGaussian());
                }
                values.put(t.getName(), v);
            }
            return values;
        }

        @Override
        public int shardSize() {
            return 4096;
        }

        @Override
        public double lossAndGradient(Map<String, float[]> p, Digits d, int[] idx, Map<String, float[]> g) {
            return pass(p, d, idx, g)[0];
        }

        @Override
        public double[] evaluate(Map<String, float[]> p, Digits d, int[] idx) {
            return pass(p, d, idx, null);
        }

        /** Forward (and backward when {@code g} is not null) over the rows; returns {mean loss, accuracy}. */
        private double[] pass(Map<String, float[]> p, Digits d, int[] idx, Map<String, float[]> g) {
            int f = Digits.FEATURES;
            int c = Digits.CLASSES;
            float[] w1 = p.get("W1");
            float[] b1 = p.get("b1");
            float[] w2 = p.get("W2");
            float[] b2 = p.get("b2");
            if (g != null) {
                g.values().forEach(a -> Arrays.fill(a, 0f));
            }
            double[] h = new double[hidden];
            double[] z = new double[c];
            double[] dh = new double[hidden];
            double loss = 0;
            int right = 0;
            for (int n : idx) {
                float[] x = d.x()[n];
                for (int j = 0; j < hidden; j++) {
                    double s = b1[j];
                    for (int i = 0; i < f; i++) {
                        s += w1[j * f + i] * x[i];
                    }
                    h[j] = Math.max(0, s);
                }
                double max = Double.NEGATIVE_INFINITY;
                int best = 0;
                for (int k = 0; k < c; k++) {
                    double s = b2[k];
                    for (int j = 0; j < hidden; j++) {
                        s += w2[k * hidden + j] * h[j];
                    }
                    z[k] = s;
                    if (s > max) {
                        max = s;
                        best = k;
                    }
                }
                right += best == d.y()[n] ? 1 : 0;
                double sum = 0;
                for (int k = 0; k < c; k++) {
                    z[k] = Math.exp(z[k] - max);
                    sum += z[k];
                }
                loss -= Math.log(z[d.y()[n]] / sum);
                if (g == null) {
                    continue;
                }
                float[] gw1 = g.get("W1");
                float[] gb1 = g.get("b1");
                float[] gw2 = g.get("W2");
                float[] gb2 = g.get("b2");
                Arrays.fill(dh, 0);
                for (int k = 0; k < c; k++) {
                    double dz = (z[k] / sum - (k == d.y()[n] ? 1 : 0)) / idx.length;
                    gb2[k] += (float) dz;
                    for (int j = 0; j < hidden; j++) {
                        gw2[k * hidden + j] += (float) (dz * h[j]);
                        dh[j] += dz * w2[k * hidden + j];
                    }
                }
                for (int j = 0; j < hidden; j++) {
                    if (h[j] <= 0) {
                        continue;
                    }
                    gb1[j] += (float) dh[j];
                    for (int i = 0; i < f; i++) {
                        gw1[j * f + i] += (float) (dh[j] * x[i]);
                    }
                }
            }
            return new double[] {loss / idx.length, (double) right / idx.length};
        }
    }
}
