package io.gradstream.core.schedule;

import java.util.Arrays;

/**
 * The torch 1.13 schedulers that decay step by step, each a transcription of its {@code get_lr()} and
 * {@code _get_closed_form_lr()}; OneCycleLR and SequentialLR are in {@link PhasedSchedulers}.
 */
final class Schedulers {
    private Schedulers() {}

    /** No schedule: the optimizer's lr at every step. */
    static final class Constant extends TorchScheduler {
        Constant(ParamGroup g) {
            super(g);
        }

        @Override
        double recursiveLr() {
            return group.lr;
        }

        @Override
        double closedFormLr() {
            return baseLr;
        }
    }

    /** ConstantLR: {@code lr = base·factor} until {@code total_iters}, then {@code base}. */
    static final class ConstantLr extends TorchScheduler {
        private final double factor;
        private final long totalIters;

        ConstantLr(ParamGroup g, double factor, long totalIters) {
            super(g);
            this.factor = factor;
            this.totalIters = totalIters;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch == 0) {
                return group.lr * factor;
            }
            if (lastEpoch != totalIters) {
                return group.lr;
            }
            return group.lr * (1.0 / factor);
        }

        @Override
        double closedFormLr() {
            return baseLr * (factor + (lastEpoch >= totalIters ? 1 : 0) * (1 - factor));
        }
    }

    /** StepLR: {@code lr = base·γ^⌊k/step_size⌋}. */
    static final class StepLr extends TorchScheduler {
        private final long stepSize;
        private final double gamma;

        StepLr(ParamGroup g, long stepSize, double gamma) {
            super(g);
            this.stepSize = stepSize;
            this.gamma = gamma;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch == 0 || lastEpoch % stepSize != 0) {
                return group.lr;
            }
            return group.lr * gamma;
        }

        @Override
        double closedFormLr() {
            return baseLr * Math.pow(gamma, Math.floorDiv(lastEpoch, stepSize));
        }
    }

    /** MultiStepLR: multiply by γ (γ^c for a milestone listed c times) at each milestone. */
    static final class MultiStepLr extends TorchScheduler {
        private final long[] milestones; // sorted, with repeats
        private final double gamma;

        MultiStepLr(ParamGroup g, long[] milestones, double gamma) {
            super(g);
            this.milestones = milestones.clone();
            Arrays.sort(this.milestones);
            this.gamma = gamma;
        }

        @Override
        double recursiveLr() {
            int count = 0;
            for (long m : milestones) {
                if (m == lastEpoch) {
                    count++;
                }
            }
            return count == 0 ? group.lr : group.lr * Math.pow(gamma, count);
        }

        @Override
        double closedFormLr() {
            int passed = 0; // bisect_right(milestones, last_epoch)
            for (long m : milestones) {
                if (m <= lastEpoch) {
                    passed++;
                }
            }
            return baseLr * Math.pow(gamma, passed);
        }
    }

    /** ExponentialLR: {@code lr = base·γ^k}. */
    static final class ExponentialLr extends TorchScheduler {
        private final double gamma;

        ExponentialLr(ParamGroup g, double gamma) {
            super(g);
            this.gamma = gamma;
        }

        @Override
        double recursiveLr() {
            return lastEpoch == 0 ? group.lr : group.lr * gamma;
        }

        @Override
        double closedFormLr() {
            return baseLr * Math.pow(gamma, lastEpoch);
        }
    }

    /** PolynomialLR: {@code lr = base·(1 − min(k, total_iters)/total_iters)^power}. */
    static final class PolynomialLr extends TorchScheduler {
        private final long totalIters;
        private final double power;

        PolynomialLr(ParamGroup g, long totalIters, double power) {
            super(g);
            this.totalIters = totalIters;
            this.power = power;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch == 0 || lastEpoch > totalIters) {
                return group.lr;
            }
            double decayFactor = Math.pow(
                    (1.0 - (double) lastEpoch / totalIters) / (1.0 - (double) (lastEpoch - 1) / totalIters), power);
            return group.lr * decayFactor;
        }

        @Override
        double closedFormLr() {
            return baseLr * Math.pow(1.0 - (double) Math.min(totalIters, lastEpoch) / totalIters, power);
        }
    }

    /**
     * CosineAnnealingLR (Loshchilov &amp; Hutter 2017, SGDR without restarts): closed form
     * {@code η_min + (base − η_min)(1 + cos(πk/T_max))/2}; torch's recursive form continues periodically past T_max.
     */
    static final class CosineAnnealingLr extends TorchScheduler {
        private final long tMax;
        private final double etaMin;

        CosineAnnealingLr(ParamGroup g, long tMax, double etaMin) {
            super(g);
            this.tMax = tMax;
            this.etaMin = etaMin;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch == 0) {
                return group.lr;
            }
            if (stepCount == 1 && lastEpoch > 0) {
                return etaMin + (baseLr - etaMin) * (1 + Math.cos(lastEpoch * Math.PI / tMax)) / 2;
            }
            if (Math.floorMod(lastEpoch - 1 - tMax, 2 * tMax) == 0) {
                return group.lr + (baseLr - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2;
            }
            return (1 + Math.cos(Math.PI * lastEpoch / tMax))
                            / (1 + Math.cos(Math.PI * (lastEpoch - 1) / tMax))
                            * (group.lr - etaMin)
                    + etaMin;
        }

        @Override
        double closedFormLr() {
            return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * lastEpoch / tMax)) / 2;
        }
    }

    /** CosineAnnealingWarmRestarts (SGDR, Loshchilov &amp; Hutter 2017, arXiv:1608.03983). */
    static final class CosineAnnealingWarmRestarts extends TorchScheduler {
        private final long t0;
        private final long tMult;
        private final double etaMin;
        private double tI;
        private double tCur;

        CosineAnnealingWarmRestarts(ParamGroup g, long t0, long tMult, double etaMin) {
            super(g);
            this.t0 = t0;
            this.tMult = tMult;
            this.etaMin = etaMin;
            this.tI = t0;
            this.tCur = -1;
        }

        @Override
        double recursiveLr() {
            return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * tCur / tI)) / 2;
        }

        @Override
        public void step() {
            if (lastEpoch < 0) {
                stepTo(0);
                return;
            }
            stepCount++;
            tCur = tCur + 1;
            if (tCur >= tI) {
                tCur = tCur - tI;
                tI = tI * tMult;
            }
            lastEpoch = lastEpoch + 1;
            group.lr = recursiveLr();
        }

        @Override
        void stepTo(long epoch) {
            stepCount++;
            if (epoch >= t0) {
                if (tMult == 1) {
                    tCur = epoch % t0;
                } else {
                    long n = (long) (Math.log((double) epoch / t0 * (tMult - 1) + 1) / Math.log(tMult));
                    double tMultPowN = Math.pow(tMult, n);
                    tCur = epoch - t0 * (tMultPowN - 1) / (tMult - 1);
                    tI = t0 * tMultPowN;
                }
            } else {
                tI = t0;
                tCur = epoch;
            }
            lastEpoch = epoch;
            group.lr = recursiveLr();
        }
    }

    /** LinearLR: the factor moves linearly from {@code start_factor} to {@code end_factor} over total_iters. */
    static final class LinearLr extends TorchScheduler {
        private final double startFactor;
        private final double endFactor;
        private final long totalIters;

        LinearLr(ParamGroup g, double startFactor, double endFactor, long totalIters) {
            super(g);
            this.startFactor = startFactor;
            this.endFactor = endFactor;
            this.totalIters = totalIters;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch == 0) {
                return group.lr * startFactor;
            }
            if (lastEpoch > totalIters) {
                return group.lr;
            }
            return group.lr
                    * (1.
                            + (endFactor - startFactor)
                                    / (totalIters * startFactor + (lastEpoch - 1) * (endFactor - startFactor)));
        }

        @Override
        double closedFormLr() {
            return baseLr * (startFactor + (endFactor - startFactor) * Math.min(totalIters, lastEpoch) / totalIters);
        }
    }
}
