package io.gradstream.core.privacy;

import java.util.function.DoubleUnaryOperator;

/**
 * The noise multiplier for a target epsilon, searched as Opacus' {@code get_noise_multiplier} does for any accountant:
 * double sigma from 10 until the target is met, then bisect between 0 and that bound until epsilon is within the
 * tolerance below the target. One search for RDP and PRV, so both calibrate alike.
 */
public final class NoiseCalibration {
    /** Largest noise multiplier the search tries; a target out of reach even there is refused. */
    public static final double MAX_NOISE_MULTIPLIER = 1e6;
    /** Bisections stop here: halving an interval below 20 twice this often reaches any double's resolution. */
    private static final int MAX_BISECTIONS = 200;

    private NoiseCalibration() {}

    /**
     * @param epsilonOf epsilon after the planned steps at a noise multiplier (decreasing in it)
     * @param context what the search is for (delta, sample rate, steps), for the error message
     * @return sigma with {@code targetEpsilon - tolerance <= epsilonOf(sigma) <= targetEpsilon}
     * @throws IllegalArgumentException when even {@link #MAX_NOISE_MULTIPLIER} does not reach the target
     */
    public static double search(DoubleUnaryOperator epsilonOf, double targetEpsilon, double tolerance, String context) {
        if (!(targetEpsilon > 0) || Double.isInfinite(targetEpsilon)) {
            throw new IllegalArgumentException("targetEpsilon must be finite and > 0, got " + targetEpsilon);
        }
        if (!(tolerance > 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("the epsilon tolerance must be finite and > 0, got " + tolerance);
        }
        double sigmaLow = 0;
        double sigmaHigh = 10;
        double epsHigh = Double.POSITIVE_INFINITY;
        while (epsHigh > targetEpsilon) {
            sigmaHigh = 2 * sigmaHigh;
            epsHigh = epsilonOf.applyAsDouble(sigmaHigh);
            if (sigmaHigh > MAX_NOISE_MULTIPLIER) {
                throw new IllegalArgumentException("targetEpsilon " + targetEpsilon + " is out of reach: even noise "
                        + "multiplier " + sigmaHigh + " gives epsilon " + epsHigh + " at " + context);
            }
        }
        for (int i = 0; targetEpsilon - epsHigh > tolerance; i++) {
            if (i == MAX_BISECTIONS) {
                throw new ArithmeticException("noise multiplier bisection did not reach tolerance " + tolerance
                        + " after " + MAX_BISECTIONS + " steps (last sigma " + sigmaHigh + ", epsilon " + epsHigh
                        + ")");
            }
            double sigma = (sigmaLow + sigmaHigh) / 2;
            double eps = epsilonOf.applyAsDouble(sigma);
            if (eps < targetEpsilon) {
                sigmaHigh = sigma;
                epsHigh = eps;
            } else {
                sigmaLow = sigma;
            }
        }
        return sigmaHigh;
    }
}
