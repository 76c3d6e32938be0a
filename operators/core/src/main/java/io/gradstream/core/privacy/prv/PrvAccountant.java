package io.gradstream.core.privacy.prv;

import io.gradstream.core.privacy.NoiseCalibration;
import io.gradstream.core.privacy.RdpAccountant;
import java.util.ArrayList;
import java.util.List;

/**
 * Privacy Random Variable accountant for DP-SGD (Gopi, Lee, Wutschitz 2021, "Numerical Composition of Differential
 * Privacy", arXiv:2106.02848) with the semantics of Opacus' {@code PRVAccountant}: each phase's privacy loss variable
 * is truncated to a domain sized by RDP, discretised on a mesh fine enough for {@code epsError}, composed with itself
 * by FFT and with the other phases by convolution, and epsilon is read off the result; the reported epsilon is the
 * upper bound, within epsError of the true value.
 */
public final class PrvAccountant {
    /** Opacus' default epsilon error of {@code get_epsilon}. */
    public static final double DEFAULT_EPS_ERROR = 0.01;
    /** Opacus' default delta error is delta / 1000. */
    public static final double DEFAULT_DELTA_ERROR_FRACTION = 1e-3;
    /** Opacus' {@code get_noise_multiplier} gives up beyond this noise multiplier. */
    public static final double MAX_NOISE_MULTIPLIER = NoiseCalibration.MAX_NOISE_MULTIPLIER;
    /** Opacus' default {@code epsilon_tolerance} for {@link #noiseMultiplier}. */
    public static final double DEFAULT_EPSILON_TOLERANCE = 0.01;
    /**
     * The largest grid this accountant builds, whatever the heap; Opacus has no such limit, but a request beyond it
     * is better refused than left to exhaust memory. Below it, the heap sets the limit ({@link #domainSizeLimit}).
     */
    public static final int MAX_DOMAIN_SIZE = 1 << 24;

    /**
     * Heap bytes per grid point at the peak of a composition: the grid, its spectrum and the Bluestein and
     * convolution buffers (up to four times the grid's length) in doubles, with room for the collector.
     */
    private static final long BYTES_PER_POINT = 200;

    /** Beyond this half-width e^t overflows in the conversion to delta. */
    private static final double MAX_DOMAIN_HALF_WIDTH = 500;

    /** {@code steps} steps of DP-SGD at one noise multiplier and Poisson sampling rate. */
    public record Phase(double noiseMultiplier, double sampleRate, long steps) {
        public Phase {
            if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
                throw new IllegalArgumentException("noiseMultiplier must be finite and >= 0, got " + noiseMultiplier);
            }
            if (!(sampleRate >= 0 && sampleRate <= 1)) {
                throw new IllegalArgumentException("sampleRate must be in [0, 1], got " + sampleRate);
            }
            if (steps < 0) {
                throw new IllegalArgumentException("steps must be >= 0, got " + steps);
            }
        }

        /** A phase that leaks nothing: no steps, or no example ever sampled. */
        boolean isVoid() {
            return steps == 0 || sampleRate == 0;
        }
    }

    /** Epsilon's lower bound, estimate and upper bound; the upper bound is the guarantee. */
    public record Bounds(double lower, double estimate, double upper) {}

    private final List<Phase> history = new ArrayList<>();

    /** Records {@code steps} more steps; a phase equal in noise and rate to the last one extends it, as in Opacus. */
    public PrvAccountant step(double noiseMultiplier, double sampleRate, long steps) {
        Phase next = new Phase(noiseMultiplier, sampleRate, steps);
        history.add(next);
        List<Phase> merged = merge(history);
        history.clear();
        history.addAll(merged);
        return this;
    }

    public List<Phase> history() {
        return List.copyOf(history);
    }

    /** Epsilon spent so far at {@code delta}, with Opacus' default errors (0 for an empty history). */
    public double epsilon(double delta) {
        return epsilon(history, delta);
    }

    /** {@link #epsilon(List, double, double, double)} with epsError 0.01 and deltaError delta / 1000. */
    public static double epsilon(List<Phase> phases, double delta) {
        return epsilon(phases, delta, DEFAULT_EPS_ERROR, delta * DEFAULT_DELTA_ERROR_FRACTION);
    }

    /** Epsilon after {@code steps} steps at one noise multiplier and sample rate, with Opacus' default errors. */
    public static double epsilon(double noiseMultiplier, double sampleRate, long steps, double delta) {
        return epsilon(List.of(new Phase(noiseMultiplier, sampleRate, steps)), delta);
    }

    /**
     * The guaranteed epsilon at {@code delta} of the phases run one after the other: the upper bound of
     * {@link #bounds}, what Opacus' {@code PRVAccountant.get_epsilon(delta, eps_error, delta_error)} returns.
     */
    public static double epsilon(List<Phase> phases, double delta, double epsError, double deltaError) {
        return bounds(phases, delta, epsError, deltaError).upper();
    }

    /**
     * Bounds on epsilon at {@code delta}. The true epsilon lies within epsError of the estimate; the domain and mesh
     * are chosen so that the truncated and discretised variables are off by at most deltaError in delta (Gopi et al.,
     * Thm 5.5, Remark 5.6). Phases with no steps or sample rate 0 leak nothing and are left out; an empty history
     * spends 0; a sampled phase without noise spends infinity.
     */
    public static Bounds bounds(List<Phase> phases, double delta, double epsError, double deltaError) {
        checkDelta(delta);
        if (!(epsError > 0) || Double.isInfinite(epsError)) {
            throw new IllegalArgumentException("epsError must be finite and > 0, got " + epsError);
        }
        if (!(deltaError > 0 && deltaError < delta)) {
            throw new IllegalArgumentException("deltaError must be in (0, delta), got " + deltaError);
        }
        List<Phase> active = merge(phases);
        if (active.isEmpty()) {
            return new Bounds(0, 0, 0);
        }
        if (active.stream().anyMatch(p -> p.noiseMultiplier() == 0)) {
            double inf = Double.POSITIVE_INFINITY;
            return new Bounds(inf, inf, inf);
        }
        Domain domain = domain(active, epsError, deltaError);
        Fourier fourier = new Fourier(domain.size());
        List<DiscretePrv> composed = new ArrayList<>();
        for (Phase p : active) {
            SubsampledGaussianPrv prv = new SubsampledGaussianPrv(p.sampleRate(), p.noiseMultiplier());
            composed.add(DiscretePrv.of(prv, domain).selfCompose(p.steps(), fourier));
        }
        return DiscretePrv.sum(composed, fourier).epsilon(delta, deltaError, epsError);
    }

    /**
     * The grid: half-width L = 3 + max(epsError, RDP epsilon of the whole history at deltaError/4, RDP epsilon of
     * one step of any phase at deltaError/(8 * total steps)) (Gopi et al., Remark 5.6, in the form Opacus uses), and
     * mesh epsError / sqrt(total steps * log(12/deltaError) / 2).
     */
    static Domain domain(List<Phase> phases, double epsError, double deltaError) {
        long total = 0;
        RdpAccountant all = new RdpAccountant();
        for (Phase p : phases) {
            all.step(p.noiseMultiplier(), p.sampleRate(), p.steps());
            total = Math.addExact(total, p.steps());
        }
        double width = all.privacySpent(deltaError / 4).epsilon();
        for (Phase p : phases) {
            double one = new RdpAccountant()
                    .step(p.noiseMultiplier(), p.sampleRate(), 1)
                    .privacySpent(deltaError / (8.0 * total))
                    .epsilon();
            width = Math.max(width, one);
        }
        width = Math.max(width, epsError) + 3;
        if (!(width <= MAX_DOMAIN_HALF_WIDTH)) {
            throw new IllegalArgumentException("the privacy loss domain would need half-width " + width + " (over "
                    + MAX_DOMAIN_HALF_WIDTH + "): epsilon is far too large to account with PRV");
        }
        double mesh = epsError / Math.sqrt(total * Math.log(12 / deltaError) / 2);
        return Domain.aligned(-width, width, mesh, domainSizeLimit());
    }

    /** The largest grid this JVM can compose: {@link #MAX_DOMAIN_SIZE}, or less where the heap is smaller. */
    public static int domainSizeLimit() {
        return (int) Math.min(MAX_DOMAIN_SIZE, Runtime.getRuntime().maxMemory() / BYTES_PER_POINT);
    }

    /** The phases that leak something, neighbours with equal noise and rate joined into one. */
    private static List<Phase> merge(List<Phase> phases) {
        List<Phase> out = new ArrayList<>();
        for (Phase p : phases) {
            if (p.isVoid()) {
                continue;
            }
            Phase last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last.noiseMultiplier() == p.noiseMultiplier() && last.sampleRate() == p.sampleRate()) {
                out.set(out.size() - 1, new Phase(p.noiseMultiplier(), p.sampleRate(), last.steps() + p.steps()));
            } else {
                out.add(p);
            }
        }
        return out;
    }

    /** {@link #noiseMultiplier(double, double, double, long, double)} with Opacus' tolerance of 0.01. */
    public static double noiseMultiplier(double targetEpsilon, double delta, double sampleRate, long steps) {
        return noiseMultiplier(targetEpsilon, delta, sampleRate, steps, DEFAULT_EPSILON_TOLERANCE);
    }

    /**
     * A noise multiplier whose PRV epsilon (upper bound, default errors) is at most {@code targetEpsilon} and within
     * {@code epsTolerance} of it, found as Opacus' {@code get_noise_multiplier(accountant="prv")} does: double from 10
     * until the target is met, then bisect between 0 and that bound. Throws when even sigma = 1e6 does not reach the
     * target (e.g. a target below the epsilon error of 0.01).
     */
    public static double noiseMultiplier(
            double targetEpsilon, double delta, double sampleRate, long steps, double epsTolerance) {
        checkDelta(delta);
        if (!(sampleRate > 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("sampleRate must be in (0, 1] to need noise, got " + sampleRate);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1 to need noise, got " + steps);
        }
        return NoiseCalibration.search(
                sigma -> epsilon(sigma, sampleRate, steps, delta),
                targetEpsilon,
                epsTolerance,
                "delta " + delta + ", sample rate " + sampleRate + ", " + steps + " steps");
    }

    private static void checkDelta(double delta) {
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
        }
    }
}
