package io.gradstream.core.privacy.prv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.privacy.Erfc;
import org.junit.jupiter.api.Test;

/** The privacy random variable, its truncation, discretisation and mean, and the grid it lives on. */
class SubsampledGaussianPrvTest {

    @Test
    void withoutSubsamplingItIsTheGaussianPrivacyLoss() {
        // q = 1: T ~ N(1/(2 s^2), 1/s^2), the privacy loss of the Gaussian mechanism at sensitivity 1.
        double s = 1.3;
        SubsampledGaussianPrv prv = new SubsampledGaussianPrv(1, s);
        double mu = 1 / (2 * s * s);
        for (double t : new double[] {-2, -0.3, 0, mu, 0.8, 3}) {
            double normal = Erfc.erfc(-(t - mu) * s / Math.sqrt(2)) / 2;
            assertThat(prv.cdf(t)).as("t %s", t).isCloseTo(normal, within(1e-15));
        }
        // The mean is integrated to scipy.quad's tolerance, as Opacus does: close, not exact.
        assertThat(prv.truncate(-20, 20).mean()).isCloseTo(mu, within(1e-9));
    }

    @Test
    void cdfAndSurvivalAreComplementaryAndTheSupportStartsAtLogOneMinusQ() {
        SubsampledGaussianPrv prv = new SubsampledGaussianPrv(0.01, 0.9);
        double floor = Math.log(1 - 0.01);
        assertThat(prv.cdf(floor)).isZero();
        assertThat(prv.cdf(floor - 1)).isZero();
        double previous = 0;
        for (double t = floor + 1e-6; t < 5; t += 0.01) {
            SubsampledGaussianPrv.Tails x = prv.tails(t);
            assertThat(x.cdf() + x.survival()).as("t %s", t).isCloseTo(1, within(2e-16));
            assertThat(x.cdf()).as("t %s", t).isGreaterThanOrEqualTo(previous);
            previous = x.cdf();
        }
        // Far in the right tail the survival function keeps its relative accuracy where 1 - cdf would be 0.
        assertThat(prv.tails(30).survival()).isGreaterThan(0).isLessThan(1e-100);
    }

    @Test
    void discretisationKeepsMassAndTheMeanShiftIsBelowHalfAMesh() {
        SubsampledGaussianPrv prv = new SubsampledGaussianPrv(0.04, 1.5);
        Domain domain = Domain.aligned(-8, 8, 1e-3, 1 << 20);
        DiscretePrv d = DiscretePrv.of(prv, domain);
        double sum = 0;
        double discreteMean = 0;
        double[] ts = domain.points();
        for (int i = 0; i < ts.length; i++) {
            assertThat(d.pmf()[i]).isGreaterThanOrEqualTo(0);
            sum += d.pmf()[i];
            discreteMean += ts[i] * d.pmf()[i];
        }
        assertThat(sum).isCloseTo(1, within(1e-14));
        double mean = prv.truncate(domain.tMin(), domain.tMax()).mean();
        // The grid moves so that its mean is the variable's.
        assertThat(d.domain().shifts()).isCloseTo(mean - discreteMean, within(1e-18));
        assertThat(Math.abs(d.domain().shifts())).isLessThan(domain.dt() / 2);
        // E[T] = KL(P||Q) > 0 and small for a small sample rate.
        assertThat(mean).isGreaterThan(0).isLessThan(1e-3);
    }

    @Test
    void theAlignedDomainIsSymmetricEvenAndLinspaced() {
        double dt = 1.0 / 64;
        Domain d = Domain.aligned(-5.3, 5.3, dt, 1 << 20);
        assertThat(d.tMin()).isEqualTo(-340 * dt);
        // -340..340 is an odd count of 681 points: one more on the right.
        assertThat(d.size()).isEqualTo(682);
        assertThat(d.tMax()).isEqualTo(341 * dt);
        assertThat(d.dt()).isEqualTo(dt);
        double[] ts = d.points();
        assertThat(ts[0]).isEqualTo(d.tMin());
        assertThat(ts[ts.length - 1]).isEqualTo(d.tMax());
        assertThat(ts[17]).isEqualTo(17 * d.dt() + d.tMin());
        assertThat(d.shiftRight(0.25).shiftRight(0.5).shifts()).isEqualTo(0.75);
        assertThatThrownBy(() -> Domain.aligned(-100, 100, 1e-5, 1 << 22))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than the limit");
    }

    @Test
    void refusesParametersWithoutAVariable() {
        assertThatThrownBy(() -> new SubsampledGaussianPrv(0, 1)).hasMessageContaining("sampleRate");
        assertThatThrownBy(() -> new SubsampledGaussianPrv(0.1, 0)).hasMessageContaining("noiseMultiplier");
        assertThatThrownBy(() -> new SubsampledGaussianPrv(0.1, 1).truncate(2, 1))
                .hasMessageContaining("tMin");
    }
}
