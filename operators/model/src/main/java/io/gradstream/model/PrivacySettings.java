package io.gradstream.model;

import io.gradstream.core.optim.Hyperparameters;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.ftrl.FtrlConfig;
import io.gradstream.core.privacy.ftrl.TreeAggregationAccountant;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import io.gradstream.core.privacy.ftrl.TreeNodes;
import io.gradstream.core.privacy.ftrl.TreeVariant;
import io.gradstream.core.privacy.prv.PrvPolicyEvaluator;
import io.gradstream.schemas.ChildSchedule;
import io.gradstream.schemas.PrivacyAccountant;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.PrivacyMechanism;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.PrivacyUnit;
import io.gradstream.schemas.ScheduleSpec;

/**
 * A private model's settings in the core's terms: the accountant and mechanism of its CREATE's privacy accounting, the
 * {@link PrivacyPolicy} of DP-SGD or DP-FTRL (Kairouz et al. 2021, arXiv:2103.00039), and DP-FTRL's tree settings,
 * each refused with the field and the reason when it does not fit.
 */
final class PrivacySettings {
    private PrivacySettings() {}

    /**
     * The accountant of a private model's settings: RDP without settings (models created before 0.4.0 keep their
     * epsilon), PRV when the settings name none.
     *
     * @throws IllegalArgumentException for a mechanism or accountant this build does not run for DP-SGD
     */
    static Accountant accountant(PrivacyAccountingSpec s) {
        if (s == null) {
            return Accountant.RDP;
        }
        if (s.getMechanism() != PrivacyMechanism.DP_SGD) {
            throw new IllegalArgumentException("privacyAccounting.mechanism " + s.getMechanism() + " is not "
                    + "available in this release; use DP_SGD");
        }
        if (s.getStepsPerRestart() != null) {
            throw new IllegalArgumentException("privacyAccounting.stepsPerRestart applies to DP_FTRL only, got "
                    + s.getStepsPerRestart() + " for DP_SGD");
        }
        PrivacyAccountant a = s.getAccountant() == null ? PrivacyAccountant.PRV : s.getAccountant();
        return switch (a) {
            case RDP -> Accountant.RDP;
            case PRV -> Accountant.PRV;
            case TREE ->
                throw new IllegalArgumentException("privacyAccounting.accountant TREE accounts DP_FTRL's "
                        + "tree aggregation; DP_SGD takes RDP or PRV");
        };
    }

    /**
     * DP-FTRL's settings (Kairouz et al. 2021, arXiv:2103.00039): accountant TREE (or none), a restart period
     * {@code stepsPerRestart} >= 1, the Honaker estimator when {@code efficientTree}; the optimizer must be SGD
     * without weight decay or dampening, whose momentum (and Nesterov form) become DP-FTRLM's and whose (scheduled)
     * learning rate is FTRL's.
     */
    static FtrlConfig ftrlConfig(PrivacyAccountingSpec s, PrivacySpec p, Optimizer optimizer) {
        if (s.getAccountant() != null && s.getAccountant() != PrivacyAccountant.TREE) {
            throw new IllegalArgumentException("privacyAccounting.accountant " + s.getAccountant() + " accounts "
                    + "DP_SGD's sampled steps; DP_FTRL is accounted with TREE (or no accountant)");
        }
        Long steps = s.getStepsPerRestart();
        if (steps == null || steps < 1 || steps > TreeNodes.MAX_STEPS_PER_TREE) {
            throw new IllegalArgumentException("privacyAccounting.stepsPerRestart must be in [1, "
                    + TreeNodes.MAX_STEPS_PER_TREE + "] for DP_FTRL (the steps of one tree, an epoch in which "
                    + "each participant contributes at most once), got " + steps);
        }
        if (!"SGD".equalsIgnoreCase(optimizer.name())) {
            throw new IllegalArgumentException("DP_FTRL replaces the optimizer's update by the FTRL step; use "
                    + "optimizer SGD (its lr and momentum are FTRL's), got " + optimizer.name());
        }
        Hyperparameters hp = optimizer.hyperparameters();
        if (hp.number("weight_decay", 0) != 0 || hp.number("dampening", 0) != 0) {
            throw new IllegalArgumentException(
                    "DP_FTRL takes SGD's lr, momentum and nesterov only; weight_decay " + "and dampening must be 0");
        }
        if (p.getSampleRate() != null) {
            throw new IllegalArgumentException("privacy.sampleRate does not apply to DP_FTRL, which assumes no "
                    + "sampling; give expectedPerStep (the divisor) and populationSize");
        }
        double momentum = hp.number("momentum", 0);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("DP_FTRL's momentum must be in [0, 1), got " + momentum);
        }
        boolean nesterov = hp.flag("nesterov", false);
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("DP_FTRL's nesterov needs a momentum > 0");
        }
        return new FtrlConfig(
                s.getEfficientTree() ? TreeVariant.HONAKER : TreeVariant.PLAIN, momentum, nesterov, steps);
    }

    /**
     * A DP-FTRL model's policy: clip norm, delta, divisor and population as for DP-SGD, the noise multiplier given or
     * derived from the target with the tree accountant ({@link TreeAggregationAccountant#noiseMultiplierFor}).
     */
    static PrivacyPolicy ftrlPolicy(PrivacySpec p, long stepsPerTree) {
        if (p.getExpectedPerStep() == null || p.getPopulationSize() == null) {
            throw new IllegalArgumentException("DP_FTRL needs expectedPerStep (the divisor of the noisy sum) and "
                    + "populationSize (delta must be < 1/populationSize)");
        }
        Double sigma = p.getNoiseMultiplier();
        if (sigma != null && p.getPlannedSteps() != null && p.getPlannedSteps() != 0) {
            throw new IllegalArgumentException("plannedSteps only derives noiseMultiplier from targetEpsilon; give "
                    + "noiseMultiplier or plannedSteps, not both");
        }
        if (sigma == null && p.getTargetEpsilon() != null && p.getPlannedSteps() != null && p.getPlannedSteps() > 0) {
            double t = p.getTargetEpsilon();
            if (!(t > 0) || Double.isInfinite(t) || !(p.getDelta() > 0 && p.getDelta() < 1)) {
                throw new IllegalArgumentException(
                        "targetEpsilon must be finite and > 0 and delta in (0, 1), got " + t + " and " + p.getDelta());
            }
            sigma = TreeAggregationAccountant.noiseMultiplierFor(t, p.getDelta(), p.getPlannedSteps(), stepsPerTree);
        }
        PrivacyPolicy policy = PrivacyPolicy.builder()
                .accountant(Accountant.RDP)
                .unit(p.getUnit() == PrivacyUnit.EXAMPLE ? PrivacyPolicy.Unit.EXAMPLE : PrivacyPolicy.Unit.CONTRIBUTION)
                .clipNorm(p.getClipNorm())
                .noiseMultiplier(orNaN(sigma))
                .targetEpsilon(orNaN(p.getTargetEpsilon()))
                .delta(p.getDelta())
                .expectedPerStep(p.getExpectedPerStep())
                .populationSize(p.getPopulationSize())
                .build();
        if (policy.hasBudget()) {
            double first = TreeLedger.EMPTY.plusStep(policy.noiseMultiplier()).epsilon(policy.delta());
            if (first > policy.targetEpsilon()) {
                throw new IllegalArgumentException("targetEpsilon " + policy.targetEpsilon() + " is exceeded by the "
                        + "first step (TREE epsilon " + first + " with noiseMultiplier " + policy.noiseMultiplier()
                        + ", delta " + policy.delta() + "); raise noiseMultiplier");
            }
        }
        return policy;
    }

    static PrivacyPolicy privacyPolicy(PrivacySpec p, Accountant accountant) {
        return PrivacyPolicy.builder()
                .accountant(accountant)
                .prvEvaluator(PrvPolicyEvaluator.INSTANCE)
                .unit(p.getUnit() == PrivacyUnit.EXAMPLE ? PrivacyPolicy.Unit.EXAMPLE : PrivacyPolicy.Unit.CONTRIBUTION)
                .clipNorm(p.getClipNorm())
                .noiseMultiplier(orNaN(p.getNoiseMultiplier()))
                .targetEpsilon(orNaN(p.getTargetEpsilon()))
                .plannedSteps(p.getPlannedSteps() == null ? 0 : p.getPlannedSteps())
                .delta(p.getDelta())
                .sampleRate(orNaN(p.getSampleRate()))
                .expectedPerStep(orNaN(p.getExpectedPerStep()))
                .populationSize(p.getPopulationSize() == null ? Double.NaN : p.getPopulationSize())
                .build();
    }

    private static double orNaN(Double d) {
        return d == null ? Double.NaN : d;
    }

    /** Whether {@code s} (or one of its children) is a OneCycleLR that cycles momentum (torch's default). */
    static boolean cyclesMomentum(ScheduleSpec s) {
        if (s == null) {
            return false;
        }
        if (s.getName().toString().equals("OneCycleLR")
                && !Boolean.FALSE.equals(
                        ModelConfig.javaValues(s.getHyperparameters()).get("cycle_momentum"))) {
            return true;
        }
        for (ChildSchedule c : s.getChildren()) {
            if (c.getName().toString().equals("OneCycleLR")
                    && !Boolean.FALSE.equals(
                            ModelConfig.javaValues(c.getHyperparameters()).get("cycle_momentum"))) {
                return true;
            }
        }
        return false;
    }
}
