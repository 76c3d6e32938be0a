package io.gradstream.core.optim;

/**
 * {@code betas}, {@code eps} and {@code weight_decay} as the Adam family (Adam, AdamW, Adamax, NAdam, RAdam, LAMB)
 * reads and range-checks them, once, from already-resolved hyperparameters.
 */
record Moments(double beta1, double beta2, double eps, double weightDecay) {

    static Moments of(Hyperparameters resolved) {
        double[] b = AbstractOptimizer.betas(resolved);
        double eps = resolved.number("eps", 0);
        double weightDecay = resolved.number("weight_decay", 0);
        AbstractOptimizer.atLeast("eps", eps, 0);
        AbstractOptimizer.atLeast("weight_decay", weightDecay, 0);
        return new Moments(b[0], b[1], eps, weightDecay);
    }
}
