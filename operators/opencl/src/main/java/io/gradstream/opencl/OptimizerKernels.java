package io.gradstream.opencl;

import io.gradstream.core.optim.Hyperparameters;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import java.util.Map;

/**
 * The host half of each kernel in {@code optimizers.cl}: which slots it uses, how absent slots start, and the
 * per-shard scalars, computed in double from the step count and hyperparameters exactly as the core's optimizers
 * compute them (then rounded to float once, where they do), so the kernels only repeat the float32 element loop.
 */
final class OptimizerKernels {
    /** Scalars per shard in the {@code sc} buffer ({@code NSC} in the kernels). */
    static final int NSC = 16;

    /**
     * One kernel family.
     *
     * @param kernel the kernel name in {@code optimizers.cl}
     * @param slots torch slot names bound to s0, s1, s2 (null: unused)
     */
    record Spec(String kernel, String[] slots) {
    }

    private OptimizerKernels() {
    }

    /**
     * The kernel for {@code optimizer}: switches that decide whether a slot is touched at all (amsgrad, momentum,
     * centered) select a kernel variant rather than a run-time flag (see optimizers.cl for why); shards with
     * different variants go to different launches.
     */
    static Spec spec(Optimizer optimizer) {
        Hyperparameters hp = optimizer.hyperparameters();
        Spec base = spec(optimizer.name());
        String variant = switch (optimizer.name()) {
            case "SGD" -> hp.number("momentum", 0) != 0 ? "sgd_momentum" : "sgd";
            case "Adam", "AdamW" -> hp.flag("amsgrad", false) ? "adam_amsgrad" : "adam";
            case "RMSprop" -> "rmsprop" + (hp.flag("centered", false) ? "_centered" : "")
                    + (hp.number("momentum", 0) > 0 ? "_momentum" : "");
            default -> base.kernel();
        };
        return new Spec(variant, base.slots());
    }

    static Spec spec(String optimizer) {
        return switch (optimizer) {
            case "SGD" -> new Spec("sgd", new String[] {"momentum_buffer", null, null});
            case "Adam", "AdamW" -> new Spec("adam", new String[] {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
            case "RMSprop" -> new Spec("rmsprop", new String[] {"square_avg", "momentum_buffer", "grad_avg"});
            case "Adagrad" -> new Spec("adagrad", new String[] {"sum", null, null});
            case "Adamax" -> new Spec("adamax", new String[] {"exp_avg", "exp_inf", null});
            case "NAdam" -> new Spec("nadam", new String[] {"exp_avg", "exp_avg_sq", null});
            case "RAdam" -> new Spec("radam", new String[] {"exp_avg", "exp_avg_sq", null});
            case "LAMB" -> new Spec("lamb", new String[] {"exp_avg", "exp_avg_sq", null});
            case "Lion" -> new Spec("lion", new String[] {"exp_avg", null, null});
            default -> throw new IllegalArgumentException("no OpenCL kernel for optimizer " + optimizer);
        };
    }

    /** Whether {@code optimizer} keeps slot {@code j} of its spec (torch creates some only for some settings). */
    static boolean usesSlot(Optimizer optimizer, int j) {
        Hyperparameters hp = optimizer.hyperparameters();
        return switch (optimizer.name()) {
            case "SGD" -> j == 0 && hp.number("momentum", 0) != 0;
            case "Adam", "AdamW" -> j < 2 || hp.flag("amsgrad", false);
            case "RMSprop" -> j == 0 || (j == 1 && hp.number("momentum", 0) > 0) || (j == 2 && hp.flag("centered",
                    false));
            default -> spec(optimizer.name()).slots()[j] != null;
        };
    }

    /** The value a slot starts with when torch creates it (Adagrad's {@code initial_accumulator_value}). */
    static float initialValue(Optimizer optimizer, int j) {
        return optimizer.name().equals("Adagrad")
                ? (float) optimizer.hyperparameters().number("initial_accumulator_value", 0) : 0f;
    }

    /**
     * Writes the shard's scalars for step {@code t = state.step() + 1} to {@code k[off, off + NSC)} and puts the
     * scalar slots the step sets (NAdam's {@code mu_product}) into {@code scalarsOut}; state is only read.
     */
    static void scalars(Optimizer o, OptimizerState state, float[] k, int off, Map<String, Double> scalarsOut) {
        Hyperparameters hp = o.hyperparameters();
        final long t = state.step() + 1;
        final double lr = o.learningRate();
        final boolean maximize = hp.flag("maximize", false);
        final float sign = maximize ? -1f : 1f;
        final double wd = hp.number("weight_decay", 0);
        final double[] betas = hp.has("betas") ? hp.pair("betas", 0.9, 0.999) : null;
        final double eps = hp.number("eps", 0);
        k[off] = sign;
        switch (o.name()) {
            case "SGD" -> {
                double momentum = hp.number("momentum", 0);
                k[off + 1] = (float) wd;
                k[off + 2] = flag(wd != 0);
                k[off + 3] = (float) -lr;
                k[off + 4] = flag(momentum != 0);
                k[off + 5] = (float) momentum;
                k[off + 6] = flag(state.tensor("momentum_buffer") == null);
                k[off + 7] = flag(hp.flag("nesterov", false));
                k[off + 8] = (float) (1 - hp.number("dampening", 0));
            }
            case "Adam", "AdamW" -> {
                boolean decoupled = o.name().equals("AdamW");
                double bc1 = 1 - Math.pow(betas[0], t);
                double bc2 = 1 - Math.pow(betas[1], t);
                k[off + 1] = decoupled ? 0f : (float) wd;
                k[off + 2] = flag(!decoupled && wd != 0);
                k[off + 3] = flag(decoupled && wd != 0);
                // 1 exactly when there is no decoupled decay: the kernel always multiplies (p * 1 == p).
                k[off + 4] = decoupled && wd != 0 ? (float) (1 - lr * wd) : 1f;
                moments(k, off + 5, betas);
                k[off + 9] = (float) -(lr / bc1);
                k[off + 10] = (float) Math.sqrt(bc2);
                k[off + 11] = (float) eps;
                k[off + 12] = flag(hp.flag("amsgrad", false));
            }
            case "RMSprop" -> {
                double alpha = hp.number("alpha", 0.99);
                double momentum = hp.number("momentum", 0);
                l2(k, off, wd);
                k[off + 3] = (float) alpha;
                k[off + 4] = (float) (1 - alpha);
                k[off + 5] = (float) eps;
                k[off + 6] = (float) -lr;
                k[off + 7] = (float) momentum;
                k[off + 8] = flag(momentum > 0);
                k[off + 9] = flag(hp.flag("centered", false));
            }
            case "Adagrad" -> {
                double clr = lr / (1 + (t - 1) * hp.number("lr_decay", 0));
                l2(k, off, wd);
                k[off + 3] = (float) -clr;
                k[off + 4] = (float) eps;
            }
            case "Adamax" -> {
                l2(k, off, wd);
                k[off + 3] = (float) betas[0];
                k[off + 4] = (float) (1 - betas[0]);
                k[off + 5] = (float) betas[1];
                k[off + 6] = (float) eps;
                k[off + 7] = (float) -(lr / (1 - Math.pow(betas[0], t)));
            }
            case "NAdam" -> {
                double momentumDecay = hp.number("momentum_decay", 4e-3);
                Double stored = state.scalar("mu_product");
                float muProductBefore = stored == null ? 1f : stored.floatValue();
                double bc2 = 1 - Math.pow(betas[1], t);
                double mu = betas[0] * (1. - 0.5 * Math.pow(0.96, t * momentumDecay));
                double muNext = betas[0] * (1. - 0.5 * Math.pow(0.96, (t + 1) * momentumDecay));
                // torch 1.13: mu_product is a float32 tensor, and mu_product_next applies mu a second time.
                float muProduct = muProductBefore * (float) mu;
                double muProductNext = (muProduct * (float) mu) * (float) muNext;
                scalarsOut.put("mu_product", (double) muProduct);
                l2(k, off, wd);
                moments(k, off + 3, betas);
                k[off + 7] = (float) eps;
                k[off + 8] = (float) bc2;
                k[off + 9] = (float) (-lr * (1. - mu) / (1. - muProduct));
                k[off + 10] = (float) ((-lr * muNext) / (1. - muProductNext));
            }
            case "RAdam" -> {
                double bc1 = 1 - Math.pow(betas[0], t);
                double bc2 = 1 - Math.pow(betas[1], t);
                double rhoInf = 2 / (1 - betas[1]) - 1;
                double rhoT = rhoInf - 2 * t * Math.pow(betas[1], t) / bc2;
                boolean rectified = rhoT > 5.;
                l2(k, off, wd);
                moments(k, off + 3, betas);
                k[off + 7] = (float) eps;
                k[off + 8] = (float) bc1;
                k[off + 9] = (float) lr;
                k[off + 10] = (float) Math.sqrt(bc2);
                k[off + 11] = rectified
                        ? (float) Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT))
                        : 1f;
                k[off + 12] = flag(rectified);
            }
            case "LAMB" -> {
                moments(k, off + 1, betas);
                k[off + 5] = (float) eps;
                k[off + 6] = (float) wd;
                k[off + 7] = (float) (1 - Math.pow(betas[0], t));
                k[off + 8] = (float) (1 - Math.pow(betas[1], t));
            }
            case "Lion" -> {
                moments(k, off + 1, betas);
                k[off + 5] = (float) lr;
                k[off + 6] = (float) wd;
            }
            default -> throw new IllegalArgumentException("no OpenCL kernel for optimizer " + o.name());
        }
    }

    /** LAMB's trust ratio from the shard's float64 sums of squares, as the CPU rounds it. */
    static float trustRatio(double pSq, double uSq) {
        float pNorm = (float) Math.sqrt(pSq);
        float uNorm = (float) Math.sqrt(uSq);
        return pNorm > 0 && uNorm > 0 ? pNorm / uNorm : 1f;
    }

    private static void l2(float[] k, int off, double wd) {
        k[off + 1] = (float) wd;
        k[off + 2] = flag(wd != 0);
    }

    /** b1, 1-b1, b2, 1-b2 as floats from k[at]. */
    private static void moments(float[] k, int at, double[] betas) {
        k[at] = (float) betas[0];
        k[at + 1] = (float) (1 - betas[0]);
        k[at + 2] = (float) betas[1];
        k[at + 3] = (float) (1 - betas[1]);
    }

    private static float flag(boolean b) {
        return b ? 1f : 0f;
    }
}
