package io.gradstream.core.privacy.prv;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * Adaptive 21-point Gauss-Kronrod quadrature with the error estimate of QUADPACK (Piessens, de Doncker-Kapenga,
 * Überhuber, Kahaner 1983): the cell with the largest estimated error is halved until the estimates sum to at most
 * max(1.49e-8, 1.49e-8 |integral|), the default tolerance of scipy's {@code quad}. Opacus computes the PRV's mean with
 * that routine, and the mean's error is multiplied by the number of composed steps, so the accountant reproduces it
 * rather than the exact mean: with the exact mean, epsilon differed from Opacus' by up to 3.7e-7 relative at 10,000
 * steps; this way by at most 3.5e-8 over a grid of 36 (sigma, q, steps). QUADPACK's epsilon-algorithm extrapolation is
 * left out: on these smooth integrands the bisection meets the tolerance first.
 */
final class Quadrature {
    /** scipy.integrate.quad's default absolute and relative tolerance. */
    static final double TOLERANCE = 1.49e-8;
    /** Opacus' limit on the number of cells. */
    static final int MAX_CELLS = 500;

    private static final double EPSILON = Math.ulp(1.0);

    /** Kronrod abscissae in [0, 1], descending; the odd positions (1, 3, ..., 9) are the 10-point Gauss nodes. */
    private static final double[] NODES = {
        0.995657163025808080735527280689003,
        0.973906528517171720077964012084452,
        0.930157491355708226001207180059508,
        0.865063366688984510732096688423493,
        0.780817726586416897063717578345042,
        0.679409568299024406234327365114874,
        0.562757134668604683339000099272694,
        0.433395394129247190799265943165784,
        0.294392862701460198131126603103866,
        0.148874338981631210884826001129720,
        0.0
    };
    /** Kronrod weights of {@link #NODES}. */
    private static final double[] KRONROD = {
        0.011694638867371874278064396062192,
        0.032558162307964727478818972459390,
        0.054755896574351996031381300244580,
        0.075039674810919952767043140916190,
        0.093125454583697605535065465083366,
        0.109387158802297641899210590325805,
        0.123491976262065851077958109831074,
        0.134709217311473325928054001771707,
        0.142775938577060080797094273138717,
        0.147739104901338491374841515972068,
        0.149445554002916905664936468389821
    };
    /** Gauss weights of the nodes NODES[1], NODES[3], ..., NODES[9]. */
    private static final double[] GAUSS = {
        0.066671344308688137593568809893332,
        0.149451349150580593145776339657697,
        0.219086362515982043995534934228163,
        0.269266719309996355091226921569469,
        0.295524224714752870173892994651338
    };

    private Quadrature() {}

    /** One cell: its ends, the Kronrod estimate of the integral and QUADPACK's estimate of that estimate's error. */
    record Cell(double a, double b, double area, double error) {}

    /** The integral of f over [a, b] and its estimated error. */
    static Cell integrate(DoubleUnaryOperator f, double a, double b) {
        Cell first = rule(f, a, b);
        if (first.error() <= bound(first.area()) || first.error() == 0) {
            return first;
        }
        // Cells in the order they were made: a halved cell's left half takes its place, the right half goes last;
        // the result is summed in that order.
        List<Cell> cells = new ArrayList<>();
        cells.add(first);
        double area = first.area();
        double errorSum = first.error();
        while (cells.size() < MAX_CELLS) {
            int worst = 0;
            for (int i = 1; i < cells.size(); i++) {
                if (cells.get(i).error() > cells.get(worst).error()) {
                    worst = i;
                }
            }
            Cell c = cells.get(worst);
            double mid = 0.5 * (c.a() + c.b());
            Cell left = rule(f, c.a(), mid);
            Cell right = rule(f, mid, c.b());
            errorSum = errorSum + (left.error() + right.error()) - c.error();
            area = area + (left.area() + right.area()) - c.area();
            cells.set(worst, left);
            cells.add(right);
            if (errorSum <= bound(area)) {
                break;
            }
        }
        double sum = 0;
        for (Cell c : cells) {
            sum += c.area();
        }
        return new Cell(a, b, sum, errorSum);
    }

    private static double bound(double area) {
        return Math.max(TOLERANCE, TOLERANCE * Math.abs(area));
    }

    /**
     * The 21-point Kronrod estimate on [a, b], and as its error |Kronrod - Gauss| scaled as QUADPACK does: by the
     * integrand's mean absolute deviation, (200 err / dev)^1.5 of it at most, and never below 50 ulps of |f|'s
     * integral.
     */
    static Cell rule(DoubleUnaryOperator f, double a, double b) {
        double centre = 0.5 * (a + b);
        double half = 0.5 * (b - a);
        double[] left = new double[10];
        double[] right = new double[10];
        double fc = f.applyAsDouble(centre);
        double gauss = 0;
        double kronrod = KRONROD[10] * fc;
        double absolute = Math.abs(kronrod);
        for (int j = 0; j < 10; j++) {
            double x = half * NODES[j];
            left[j] = f.applyAsDouble(centre - x);
            right[j] = f.applyAsDouble(centre + x);
        }
        // Gauss nodes first, then the Kronrod-only ones, the order in which QUADPACK accumulates.
        for (int j = 1; j < 10; j += 2) {
            double sum = left[j] + right[j];
            gauss += GAUSS[j / 2] * sum;
            kronrod += KRONROD[j] * sum;
            absolute += KRONROD[j] * (Math.abs(left[j]) + Math.abs(right[j]));
        }
        for (int j = 0; j < 10; j += 2) {
            double sum = left[j] + right[j];
            kronrod += KRONROD[j] * sum;
            absolute += KRONROD[j] * (Math.abs(left[j]) + Math.abs(right[j]));
        }
        double mean = kronrod * 0.5;
        double deviation = KRONROD[10] * Math.abs(fc - mean);
        for (int j = 0; j < 10; j++) {
            deviation += KRONROD[j] * (Math.abs(left[j] - mean) + Math.abs(right[j] - mean));
        }
        double width = Math.abs(half);
        double area = kronrod * half;
        absolute *= width;
        deviation *= width;
        double error = Math.abs((kronrod - gauss) * half);
        if (deviation != 0 && error != 0) {
            error = deviation * Math.min(1, Math.pow(200 * error / deviation, 1.5));
        }
        if (absolute > Double.MIN_NORMAL / (50 * EPSILON)) {
            error = Math.max(EPSILON * 50 * absolute, error);
        }
        return new Cell(a, b, area, error);
    }
}
