package io.gradstream.core.privacy.prv;

import java.util.ArrayList;
import java.util.List;

/**
 * A privacy random variable discretised on a grid: the probability of each grid point (Gopi, Lee, Wutschitz 2021,
 * arXiv:2106.02848, Sec. 5). Composition adds the variables, i.e. convolves the probabilities; epsilon for a delta is
 * read from the convolved distribution by delta(eps) = E[(1 - e^{eps - T})^+].
 */
record DiscretePrv(double[] pmf, Domain domain) {
    /**
     * Machine epsilon of the 80-bit long double numpy accumulates in on x86-64; Opacus refuses a delta whose rounding
     * error over the grid could reach it, and so does this class.
     */
    static final double LONG_DOUBLE_EPSILON = 0x1p-63;

    DiscretePrv {
        if (pmf.length != domain.size()) {
            throw new IllegalArgumentException(
                    "pmf has " + pmf.length + " entries for a domain of " + domain.size() + " points");
        }
    }

    /**
     * The variable discretised on {@code domain}: each point gets the mass of its cell, and the grid moves by the
     * difference between the variable's mean and the discrete mean so that composition keeps the mean exact.
     */
    static DiscretePrv of(SubsampledGaussianPrv prv, Domain domain) {
        SubsampledGaussianPrv.Truncated truncated = prv.truncate(domain.tMin(), domain.tMax());
        double[] pmf = truncated.discretise(domain);
        double[] ts = domain.points();
        double discreteMean = 0;
        for (int i = 0; i < pmf.length; i++) {
            discreteMean += ts[i] * pmf[i];
        }
        double shift = truncated.mean() - discreteMean;
        if (!(Math.abs(shift) < domain.dt() / 2)) {
            throw new ArithmeticException("the discrete mean " + discreteMean + " is more than half a mesh ("
                    + domain.dt() / 2 + ") from the mean " + (discreteMean + shift) + " of the variable");
        }
        return new DiscretePrv(pmf, domain.shiftRight(shift));
    }

    /**
     * The sum of {@code times} independent copies. The cyclic convolution of the grid's length lands the sum's grid
     * point sum_i j_i at index sum_i j_i - (times - 1) * (index of zero); as the grid is symmetric about the point
     * between its middle two cells, that is a rotation by times - 1, plus half the grid for an even count.
     */
    DiscretePrv selfCompose(long times, Fourier fourier) {
        if (times < 1) {
            throw new IllegalArgumentException("times must be >= 1, got " + times);
        }
        int n = pmf.length;
        double[] cyclic = times == 1 ? pmf.clone() : fourier.cyclicPower(pmf, times);
        long rotation = ((times - 1) % n + (times % 2 == 0 ? n / 2 : 0)) % n;
        double[] rolled = new double[n];
        for (int i = 0; i < n; i++) {
            rolled[(int) ((i + rotation) % n)] = cyclic[i];
        }
        return new DiscretePrv(rolled, domain.shiftRight(domain.shifts() * (times - 1)));
    }

    /** The sum of this variable and an independent other on the same grid (the middle of the linear convolution). */
    DiscretePrv plus(DiscretePrv other, Fourier fourier) {
        return new DiscretePrv(fourier.convolveSame(pmf, other.pmf), domain.shiftRight(other.domain.shifts()));
    }

    /** Sums the variables pairwise, level by level (an odd one out goes first into the next level). */
    static DiscretePrv sum(List<DiscretePrv> parts, Fourier fourier) {
        List<DiscretePrv> level = new ArrayList<>(parts);
        if (level.isEmpty()) {
            throw new IllegalArgumentException("nothing to compose");
        }
        while (level.size() > 1) {
            List<DiscretePrv> next = new ArrayList<>();
            if (level.size() % 2 == 1) {
                next.add(level.remove(level.size() - 1));
            }
            for (int i = 0; i + 1 < level.size(); i += 2) {
                next.add(level.get(i).plus(level.get(i + 1), fourier));
            }
            level = next;
        }
        return level.get(0);
    }

    /**
     * Lower bound, estimate and upper bound of epsilon at {@code delta}: the estimate is where the discrete
     * delta(eps) crosses delta, the bounds are read at delta +- deltaError and widened by epsError, the discretisation
     * and truncation error the grid was sized for (Gopi et al., Thm 5.5).
     */
    PrvAccountant.Bounds epsilon(double delta, double deltaError, double epsError) {
        int n = pmf.length;
        if (LONG_DOUBLE_EPSILON * n > delta - deltaError) {
            throw new IllegalArgumentException("delta " + delta + " minus deltaError " + deltaError
                    + " is within the rounding error of a " + n + "-point grid: use a larger delta or epsError");
        }
        double[] ts = domain.points();
        // Tail sums from the right: mass beyond t_i, and that mass weighted by e^{-t}.
        double[] tail = new double[n];
        double[] weighted = new double[n];
        double s1 = 0;
        double s2 = 0;
        for (int i = n - 1; i >= 0; i--) {
            s1 += pmf[i];
            s2 += pmf[i] * Math.exp(-ts[i]);
            tail[i] = s1;
            weighted[i] = s2;
        }
        // -delta(t_i) = e^{t_i} * weighted_i - tail_i rises with i; find where it passes -target.
        double[] negDelta = new double[n];
        for (int i = 0; i < n; i++) {
            negDelta[i] = Math.exp(ts[i]) * weighted[i] - tail[i];
        }
        double upper = crossing(negDelta, tail, weighted, delta - deltaError) + epsError;
        double lower = crossing(negDelta, tail, weighted, delta + deltaError) - epsError;
        double estimate = crossing(negDelta, tail, weighted, delta);
        return new PrvAccountant.Bounds(lower, estimate, upper);
    }

    /**
     * The first grid index whose -delta is at least -target (binary search, as numpy's searchsorted does on the
     * almost-sorted array), and the epsilon at which the mass beyond it gives exactly delta = target.
     */
    private double crossing(double[] negDelta, double[] tail, double[] weighted, double target) {
        int lo = 0;
        int hi = negDelta.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (negDelta[mid] < -target) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo <= 0 || lo >= negDelta.length) {
            throw new ArithmeticException("delta " + target + " is not reached inside the PRV domain [" + domain.tMin()
                    + ", " + domain.tMax() + "]: cannot compute epsilon");
        }
        return Math.log((tail[lo] - target) / weighted[lo]);
    }
}
