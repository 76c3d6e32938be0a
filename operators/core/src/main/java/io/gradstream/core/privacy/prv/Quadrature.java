package io.gradstream.core.privacy.prv;

import java.util.function.DoubleUnaryOperator;
import org.apache.commons.math3.analysis.integration.gauss.GaussIntegrator;
import org.apache.commons.math3.analysis.integration.gauss.GaussIntegratorFactory;

/**
 * Adaptive Gauss-Legendre quadrature: a cell's 15-point rule is compared with the rule on its two halves, and a cell is
 * halved again until the two agree to about 1e-14 of the result, which the PRV mean needs (its error is multiplied by
 * the number of composed steps).
 */
final class Quadrature {
    private static final GaussIntegrator RULE = new GaussIntegratorFactory().legendre(15);
    private static final double RELATIVE_TOLERANCE = 1e-14;
    /** Below this an absolute difference is rounding noise of the integrand (values are at most 1). */
    private static final double ABSOLUTE_TOLERANCE = 1e-19;

    private static final int MAX_DEPTH = 50;

    private Quadrature() {}

    /** The integral of f over [points[0], points[last]], cell by cell between consecutive points. */
    static double integrate(DoubleUnaryOperator f, double[] points) {
        double sum = 0;
        for (int i = 0; i + 1 < points.length; i++) {
            double a = points[i];
            double b = points[i + 1];
            if (b > a) {
                sum += adaptive(f, a, b, rule(f, a, b), 0);
            }
        }
        return sum;
    }

    private static double adaptive(DoubleUnaryOperator f, double a, double b, double whole, int depth) {
        double m = 0.5 * (a + b);
        double left = rule(f, a, m);
        double right = rule(f, m, b);
        double halves = left + right;
        double diff = Math.abs(halves - whole);
        if (diff <= Math.max(RELATIVE_TOLERANCE * Math.abs(halves), ABSOLUTE_TOLERANCE) || m <= a || m >= b) {
            return halves;
        }
        if (depth >= MAX_DEPTH) {
            throw new ArithmeticException("quadrature did not converge on [" + a + ", " + b + "]");
        }
        return adaptive(f, a, m, left, depth + 1) + adaptive(f, m, b, right, depth + 1);
    }

    private static double rule(DoubleUnaryOperator f, double a, double b) {
        double mid = 0.5 * (a + b);
        double half = 0.5 * (b - a);
        double sum = 0;
        for (int i = 0; i < RULE.getNumberOfPoints(); i++) {
            sum += RULE.getWeight(i) * f.applyAsDouble(mid + half * RULE.getPoint(i));
        }
        return half * sum;
    }
}
