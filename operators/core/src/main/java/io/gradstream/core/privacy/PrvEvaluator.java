package io.gradstream.core.privacy;

import java.util.List;

/**
 * The two questions {@link PrivacyPolicy} asks a PRV accountant (Gopi, Lee, Wutschitz 2021, arXiv:2106.02848):
 * epsilon of a ledger's phases and the noise multiplier of a plan. {@code core.privacy.prv} implements it
 * ({@code PrvPolicyEvaluator.INSTANCE}); it is passed in so that this package does not depend on that one.
 */
public interface PrvEvaluator {
    /** The guaranteed (upper bound) epsilon of the phases at {@code delta}. */
    double epsilon(List<RdpAccountant.Phase> phases, double delta);

    /** The noise multiplier whose epsilon after {@code steps} steps is at most (and near) {@code targetEpsilon}. */
    double noiseMultiplier(double targetEpsilon, double delta, double sampleRate, long steps);
}
