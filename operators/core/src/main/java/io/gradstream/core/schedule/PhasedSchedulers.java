package io.gradstream.core.schedule;

import java.util.List;

/**
 * The torch 1.13 schedulers that span a whole run or hand over between phases (OneCycleLR, SequentialLR), each a
 * transcription of its {@code get_lr()}; the per-step decays are in {@link Schedulers}.
 */
final class PhasedSchedulers {
    private PhasedSchedulers() {}

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

        OneCycleLr(
                ParamGroup g,
                long totalSteps,
                double maxLr,
                double pctStart,
                boolean cos,
                boolean cycleMomentum,
                double baseMomentum,
                double maxMomentum,
                double divFactor,
                double finalDivFactor,
                boolean threePhase) {
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

        private static ParamGroup initialize(
                ParamGroup g, double initialLr, boolean cycleMomentum, double maxMomentum) {
            g.initialLr = initialLr;
            if (cycleMomentum) {
                g.momentum = maxMomentum;
            }
            return g;
        }

        @Override
        double recursiveLr() {
            if (lastEpoch > totalSteps) {
                throw new IllegalStateException(
                        "OneCycleLR stepped " + (lastEpoch + 1) + " times but total_steps is " + totalSteps);
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
