package io.gradstream.core.privacy.prv;

import io.gradstream.core.privacy.PrvEvaluator;
import io.gradstream.core.privacy.RdpAccountant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link PrvAccountant} (Gopi, Lee, Wutschitz 2021, arXiv:2106.02848) with Opacus' default errors, as a model's
 * {@code PrivacyPolicy} asks it: epsilon of a ledger's phases, and sigma for a planned number of steps.
 */
public final class PrvPolicyEvaluator implements PrvEvaluator {
    public static final PrvPolicyEvaluator INSTANCE = new PrvPolicyEvaluator();

    private PrvPolicyEvaluator() {}

    @Override
    public double epsilon(List<RdpAccountant.Phase> phases, double delta) {
        List<PrvAccountant.Phase> prv = new ArrayList<>(phases.size());
        for (RdpAccountant.Phase p : phases) {
            prv.add(new PrvAccountant.Phase(p.noiseMultiplier(), p.sampleRate(), p.steps()));
        }
        return PrvAccountant.epsilon(prv, delta);
    }

    @Override
    public double noiseMultiplier(double targetEpsilon, double delta, double sampleRate, long steps) {
        return PrvAccountant.noiseMultiplier(targetEpsilon, delta, sampleRate, steps);
    }
}
