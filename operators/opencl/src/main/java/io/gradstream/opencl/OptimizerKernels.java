package io.gradstream.opencl;

import io.gradstream.core.optim.StepScalars;

/**
 * The host half of the kernels in {@code optimizers.cl}: which kernel runs a step, and its scalars packed into the
 * kernel's {@code sc} buffer. The scalars themselves come from the core's optimizer ({@link StepScalars}), so the
 * kernels repeat only the float32 element loop, and nothing here computes a value.
 *
 * <p>Packing rule, which the kernels' comments rely on: a record's components in declaration order, flags as 1 or 0.
 */
final class OptimizerKernels {
    /** Scalars per shard in the {@code sc} buffer ({@code NSC} in the kernels). */
    static final int NSC = 16;

    /** LAMB's kernel family: three launches (moments, norms, apply) rather than one elementwise kernel. */
    static final String LAMB = "lamb";

    /**
     * A kernel and its packed scalars.
     *
     * @param kernel the kernel name in {@code optimizers.cl} (for LAMB, the family name {@link #LAMB})
     */
    record Packed(String kernel, float[] scalars) {}

    private OptimizerKernels() {}

    /**
     * The kernel and packed scalars of one step. Switches that decide whether a slot is touched at all (amsgrad,
     * momentum, centered) select a kernel variant rather than a run-time flag (see optimizers.cl for why), so shards
     * with different variants go to different launches.
     */
    static Packed pack(StepScalars scalars) {
        if (scalars instanceof StepScalars.Sgd k) {
            return new Packed(
                    k.hasMomentum() ? "sgd_momentum" : "sgd",
                    floats(
                            k.gradSign(),
                            k.weightDecay(),
                            flag(k.addL2()),
                            k.negLr(),
                            flag(k.hasMomentum()),
                            k.momentum(),
                            flag(k.firstMomentumStep()),
                            flag(k.nesterov()),
                            k.oneMinusDampening()));
        }
        if (scalars instanceof StepScalars.Adam k) {
            return new Packed(
                    k.amsgrad() ? "adam_amsgrad" : "adam",
                    floats(
                            k.gradSign(),
                            k.weightDecay(),
                            flag(k.addL2()),
                            flag(k.decoupledDecay()),
                            k.decayFactor(),
                            k.beta1(),
                            k.oneMinusBeta1(),
                            k.beta2(),
                            k.oneMinusBeta2(),
                            k.negStepSize(),
                            k.biasCorrection2Sqrt(),
                            k.eps(),
                            flag(k.amsgrad())));
        }
        if (scalars instanceof StepScalars.RmsProp k) {
            return new Packed(
                    "rmsprop" + (k.centered() ? "_centered" : "") + (k.hasMomentum() ? "_momentum" : ""),
                    floats(
                            k.gradSign(),
                            k.weightDecay(),
                            flag(k.addL2()),
                            k.alpha(),
                            k.oneMinusAlpha(),
                            k.eps(),
                            k.negLr(),
                            k.momentum(),
                            flag(k.hasMomentum()),
                            flag(k.centered())));
        }
        if (scalars instanceof StepScalars.Adagrad k) {
            return new Packed("adagrad", floats(k.gradSign(), k.weightDecay(), flag(k.addL2()), k.negClr(), k.eps()));
        }
        if (scalars instanceof StepScalars.Adamax k) {
            return new Packed(
                    "adamax",
                    floats(
                            k.gradSign(),
                            k.weightDecay(),
                            flag(k.addL2()),
                            k.beta1(),
                            k.oneMinusBeta1(),
                            k.beta2(),
                            k.eps(),
                            k.negClr()));
        }
        if (scalars instanceof StepScalars.NAdam k) {
            return new Packed(
                    "nadam",
                    floats(
                            k.gradSign(),
                            k.weightDecay(),
                            flag(k.addL2()),
                            k.beta1(),
                            k.oneMinusBeta1(),
                            k.beta2(),
                            k.oneMinusBeta2(),
                            k.eps(),
                            k.biasCorrection2(),
                            k.gradCoef(),
                            k.avgCoef(),
                            k.muProduct()));
        }
        if (scalars instanceof StepScalars.RAdam k) {
            return new Packed(
                    "radam",
                    floats(
                            k.gradSign(),
                            k.weightDecay(),
                            flag(k.addL2()),
                            k.beta1(),
                            k.oneMinusBeta1(),
                            k.beta2(),
                            k.oneMinusBeta2(),
                            k.eps(),
                            k.biasCorrection1(),
                            k.lr(),
                            k.biasCorrection2Sqrt(),
                            k.rectification(),
                            flag(k.rectified())));
        }
        if (scalars instanceof StepScalars.Lamb k) {
            return new Packed(
                    LAMB,
                    floats(
                            k.gradSign(),
                            k.beta1(),
                            k.oneMinusBeta1(),
                            k.beta2(),
                            k.oneMinusBeta2(),
                            k.eps(),
                            k.weightDecay(),
                            k.biasCorrection1(),
                            k.biasCorrection2(),
                            k.lr()));
        }
        if (scalars instanceof StepScalars.Lion k) {
            return new Packed(
                    "lion",
                    floats(
                            k.gradSign(),
                            k.beta1(),
                            k.oneMinusBeta1(),
                            k.beta2(),
                            k.oneMinusBeta2(),
                            k.lr(),
                            k.weightDecay()));
        }
        throw new IllegalArgumentException(
                "no OpenCL kernel for " + scalars.getClass().getSimpleName());
    }

    private static float[] floats(float... values) {
        if (values.length > NSC) {
            throw new IllegalStateException(values.length + " scalars exceed the kernels' NSC = " + NSC);
        }
        return values;
    }

    private static float flag(boolean b) {
        return b ? 1f : 0f;
    }
}
