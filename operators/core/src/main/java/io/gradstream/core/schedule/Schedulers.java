package io.gradstream.core.schedule;

import java.util.Arrays;
import java.util.List;

/** The torch 1.13 schedulers, each a transcription of its {@code get_lr()} and {@code _get_closed_form_lr()}. */
final class Schedulers {
    private Schedulers() {
    }

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
            double decayFactor = Math.pow((1.0 - (double) lastEpoch / totalIters)
                    / (1.0 - (double) (lastEpoch - 1) / totalIters), power);
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
            return (1 + Math.cos(Math.PI * lastEpoch / tMax)) / (1 + Math.cos(Math.PI * (lastEpoch - 1) / tMax))
                    * (group.lr - etaMin) + etaMin;
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
            return group.lr * (1. + (endFactor - startFactor)
                    / (totalIters * startFactor + (lastEpoch - 1) * (endFactor - startFactor)));
        }

        @Override
        double closedFormLr() {
            return baseLr * (startFactor + (endFactor - startFactor) * Math.min(totalIters, lastEpoch) / totalIters);
        }
    }

    /**
     * OneCycleLR (Smith &amp; Topin 2017, "Super-Convergence", arXiv:1708.07120): lr rises from max_lr/div_factor to
     * max_lr over pct_start of the steps and anneals to initial_lr/final_div_factor, cycling momentum inversely.
     */
    static final class OneCycleLr extends TorchScheduler {
        private final long totalSteps;
        private final boolean cos;
        private final boolean cycleMomentum;
        private final double[] endSteps;
        private final double[] startLrs;
        private final double[] endLrs;
        private final double[] startMomenta;
        private final double[] endMomenta;

        OneCycleLr(ParamGroup g, long totalSteps, double maxLr, double pctStart, boolean cos, boolean cycleMomentum,
                double baseMomentum, double maxMomentum, double divFactor, double finalDivFactor, boolean threePhase) {
            super(initialize(g, maxLr / divFactor, cycleMomentum, maxMomentum));
            this.totalSteps = totalSteps;
            this.cos = cos;
            this.cycleMomentum = cycleMomentum;
            double initialLr = maxLr / divFactor;
            double minLr = initialLr / finalDivFactor;
            if (threePhase) {
                endSteps = new double[] {pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1};
                startLrs = new double[] {initialLr, maxLr, initialLr};
                endLrs = new double[] {maxLr, initialLr, minLr};
                startMomenta = new double[] {maxMomentum, baseMomentum, maxMomentum};
                endMomenta = new double[] {baseMomentum, maxMomentum, maxMomentum};
            } else {
                endSteps = new double[] {pctStart * totalSteps - 1, totalSteps - 1};
                startLrs = new double[] {initialLr, maxLr};
                endLrs = new double[] {maxLr, minLr};
                startMomenta = new double[] {maxMomentum, baseMomentum};
                endMomenta = new double[] {baseMomentum, maxMomentum};
            }
        }

        private static ParamGroup initialize(ParamGroup g, double initialLr, boolean cycleMomentum,
                double maxMomentum) {
            g.initialLr = initialLr;
            if (cycleMomentum) {
                g.momentum = maxMomentum;
            }
            return g;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch > totalSteps) {
                throw new IllegalStateException("OneCycleLR stepped " + (lastEpoch + 1)
                        + " times but total_steps is " + totalSteps);
            }
            double startStep = 0;
            for (int i = 0; i < endSteps.length; i++) {
                double endStep = endSteps[i];
                if (lastEpoch <= endStep || i == endSteps.length - 1) {
                    double pct = (lastEpoch - startStep) / (endStep - startStep);
                    if (cycleMomentum) {
                        group.momentum = anneal(startMomenta[i], endMomenta[i], pct);
                    }
                    return anneal(startLrs[i], endLrs[i], pct);
                }
                startStep = endStep;
            }
            throw new IllegalStateException("unreachable");
        }

        private double anneal(double start, double end, double pct) {
            if (cos) {
                double cosOut = Math.cos(Math.PI * pct) + 1;
                return end + (start - end) / 2.0 * cosOut;
            }
            return (end - start) * pct + start;
        }
    }

    /** SequentialLR: hands over from one scheduler to the next at each milestone (warmup, then decay). */
    static final class SequentialLr extends TorchScheduler {
        private final List<TorchScheduler> schedulers;
        private final long[] milestones;

        /** {@code schedulers} were constructed (and initial-stepped) on {@code g}, as torch requires. */
        SequentialLr(ParamGroup g, List<TorchScheduler> schedulers, long[] milestones) {
            super(g);
            this.schedulers = schedulers;
            this.milestones = milestones.clone();
            lastEpoch = 0;
            group.lr = group.initialLr;
            for (TorchScheduler s : schedulers) {
                s.lastEpoch -= 1;
            }
            schedulers.get(0).initialStep();
        }

        @Override
        double recursiveLr() {
            return group.lr;
        }

        @Override
        public void step() {
            lastEpoch++;
            int idx = 0; // bisect_right(milestones, last_epoch)
            while (idx < milestones.length && milestones[idx] <= lastEpoch) {
                idx++;
            }
            TorchScheduler s = schedulers.get(idx);
            if (idx > 0 && milestones[idx - 1] == lastEpoch) {
                s.stepTo(0);
            } else {
                s.step();
            }
        }

        @Override
        void stepTo(long epoch) {
            throw new IllegalStateException("SequentialLR cannot be nested inside SequentialLR");
        }
    }
}
