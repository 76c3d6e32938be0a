package io.gradstream.core.privacy.prv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * The quadrature against scipy.integrate.quad at its defaults (scipy 1.17.1, QUADPACK's QAGS), whose results the
 * PRV mean must reproduce: the same 21-point rule and error estimate, the same bisection.
 */
class QuadratureTest {

    @Test
    void oneCellIsQuadpacksGaussKronrodRuleAndErrorEstimate() {
        // scipy.integrate.quad(f, -0.3, 1.7, limit=1)
        Quadrature.Cell c = Quadrature.rule(t -> Math.exp(-t * t) * Math.cos(3 * t) + t * t * t, -0.3, 1.7);
        assertThat(c.area()).isEqualTo(2.4235867382256004);
        assertThat(c.error()).isCloseTo(2.4498640389051586e-11, within(1e-24));
    }

    @Test
    void theRuleIsExactForPolynomialsUpToDegree31() {
        Quadrature.Cell c = Quadrature.rule(t -> Math.pow(t, 30) + Math.pow(t, 31), -1, 2);
        double exact = (Math.pow(2, 31) + 1) / 31 + (Math.pow(2, 32) - 1) / 32;
        assertThat(c.area()).isCloseTo(exact, within(1e-15 * exact));
        Quadrature.Cell d = Quadrature.rule(t -> Math.pow(t, 32), -1, 1);
        assertThat(Math.abs(d.area() - 2.0 / 33)).isGreaterThan(1e-12);
    }

    @Test
    void adaptiveCellsMatchScipyQuad() {
        // scipy.integrate.quad(f, a, b) with the default epsabs = epsrel = 1.49e-8: 7 and 8 cells.
        Quadrature.Cell peak = Quadrature.integrate(t -> Math.exp(-Math.pow((t - 0.3) / 0.01, 2)), 0, 1);
        assertThat(peak.area()).isEqualTo(0.01772453850905525);
        assertThat(peak.error()).isCloseTo(9.27544533587221e-13, within(1e-25));
        Quadrature.Cell step = Quadrature.integrate(t -> 1 / (1 + Math.exp(-(t - 0.2) / 0.003)), -1, 1);
        assertThat(step.area()).isEqualTo(0.7999999999999998);
        // Within the tolerance of the exact 0.8 (by symmetry), no closer than scipy gets.
        assertThat(step.error()).isLessThan(Quadrature.TOLERANCE);
    }
}
