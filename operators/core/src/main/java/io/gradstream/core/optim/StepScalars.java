package io.gradstream.core.optim;

import java.util.Map;

/**
 * The scalars of one optimizer step: every value its float32 element loop consumes, computed once from the
 * hyperparameters and the step number in double (as torch computes them from Python floats) and rounded to float once
 * where torch passes them to a float32 tensor op. The CPU loops and the OpenCL kernels read the same record, so the
 * two cannot compute a bias correction or a schedule differently.
 *
 * <p>{@code gradSign} is -1 for {@code maximize}, else 1 (multiplying by it is exact); {@code weightDecay} with
 * {@code addL2} is the L2 term torch adds to the gradient; flags select code paths, never values.
 */
public sealed interface StepScalars {

    /** Scalar slots that the step sets in the state besides its tensors (NAdam's {@code mu_product}); mostly none. */
    default Map<String, Double> scalarSlots() {
        return Map.of();
    }

    /**
     * torch.optim.SGD.
     *
     * @param firstMomentumStep whether {@code momentum_buffer} does not exist yet: torch then sets it to the gradient,
     *     without dampening
     */
    record Sgd(
            float gradSign,
            float weightDecay,
            boolean addL2,
            float negLr,
            boolean hasMomentum,
            float momentum,
            boolean firstMomentumStep,
            boolean nesterov,
            float oneMinusDampening)
            implements StepScalars {}

    /**
     * torch.optim.Adam and AdamW.
     *
     * @param weightDecay Adam's L2 term (0 for AdamW)
     * @param decayFactor AdamW's {@code 1 − lr·wd}, exactly 1 without decoupled decay (so {@code p·decayFactor == p})
     * @param negStepSize {@code −lr / (1 − β1^t)}
     * @param biasCorrection2Sqrt {@code sqrt(1 − β2^t)}
     */
    record Adam(
            float gradSign,
            float weightDecay,
            boolean addL2,
            boolean decoupledDecay,
            float decayFactor,
            float beta1,
            float oneMinusBeta1,
            float beta2,
            float oneMinusBeta2,
            float negStepSize,
            float biasCorrection2Sqrt,
            float eps,
            boolean amsgrad)
            implements StepScalars {}

    /** torch.optim.RMSprop. */
    record RmsProp(
            float gradSign,
            float weightDecay,
            boolean addL2,
            float alpha,
            float oneMinusAlpha,
            float eps,
            float negLr,
            float momentum,
            boolean hasMomentum,
            boolean centered)
            implements StepScalars {}

    /**
     * torch.optim.Adagrad.
     *
     * @param negClr {@code −lr / (1 + (t − 1)·lr_decay)}
     */
    record Adagrad(float gradSign, float weightDecay, boolean addL2, float negClr, float eps) implements StepScalars {}

    /**
     * torch.optim.Adamax.
     *
     * @param negClr {@code −lr / (1 − β1^t)}
     */
    record Adamax(
            float gradSign,
            float weightDecay,
            boolean addL2,
            float beta1,
            float oneMinusBeta1,
            float beta2,
            float eps,
            float negClr)
            implements StepScalars {}

    /**
     * torch.optim.NAdam (1.13).
     *
     * @param biasCorrection2 {@code 1 − β2^t}
     * @param gradCoef {@code −lr·(1 − μ_t) / (1 − mu_product)}
     * @param avgCoef {@code −lr·μ_{t+1} / (1 − mu_product_next)}
     * @param muProduct the new {@code mu_product}, a float32 product as torch keeps it
     */
    record NAdam(
            float gradSign,
            float weightDecay,
            boolean addL2,
            float beta1,
            float oneMinusBeta1,
            float beta2,
            float oneMinusBeta2,
            float eps,
            float biasCorrection2,
            float gradCoef,
            float avgCoef,
            float muProduct)
            implements StepScalars {
        public static final String MU_PRODUCT = "mu_product";

        @Override
        public Map<String, Double> scalarSlots() {
            return Map.of(MU_PRODUCT, (double) muProduct);
        }
    }

    /**
     * torch.optim.RAdam.
     *
     * @param biasCorrection1 {@code 1 − β1^t}
     * @param biasCorrection2Sqrt {@code sqrt(1 − β2^t)}
     * @param rectification {@code r_t}, 1 while the variance is intractable
     * @param rectified whether {@code ρ_t > 5}
     */
    record RAdam(
            float gradSign,
            float weightDecay,
            boolean addL2,
            float beta1,
            float oneMinusBeta1,
            float beta2,
            float oneMinusBeta2,
            float eps,
            float biasCorrection1,
            float lr,
            float biasCorrection2Sqrt,
            float rectification,
            boolean rectified)
            implements StepScalars {}

    /**
     * LAMB. The trust ratio depends on the whole shard's norms, so it is computed after the moments, by
     * {@link #trustRatio} and {@link #scaledLr}.
     *
     * @param biasCorrection1 {@code 1 − β1^t}
     * @param biasCorrection2 {@code 1 − β2^t}
     */
    record Lamb(
            float gradSign,
            float beta1,
            float oneMinusBeta1,
            float beta2,
            float oneMinusBeta2,
            float eps,
            float weightDecay,
            float biasCorrection1,
            float biasCorrection2,
            float lr)
            implements StepScalars {
        /** The scalar slot in which the step records its trust ratio. */
        public static final String TRUST_RATIO = "trust_ratio";

        /** {@code ‖p‖ / ‖u‖} from float64 sums of squares, each norm rounded once to float32; 1 if either is 0. */
        public static float trustRatio(double pSquares, double uSquares) {
            float pNorm = (float) Math.sqrt(pSquares);
            float uNorm = (float) Math.sqrt(uSquares);
            return pNorm > 0 && uNorm > 0 ? pNorm / uNorm : 1f;
        }

        /** The step's learning rate scaled by the shard's trust ratio. */
        public float scaledLr(float trustRatio) {
            return lr * trustRatio;
        }
    }

    /** Lion. */
    record Lion(
            float gradSign,
            float beta1,
            float oneMinusBeta1,
            float beta2,
            float oneMinusBeta2,
            float lr,
            float weightDecay)
            implements StepScalars {}
}
