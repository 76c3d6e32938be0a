package io.gradstream.core.privacy.prv;

/**
 * The regular grid a privacy random variable is discretised on: {@code size} points from {@code tMin} to {@code tMax}
 * inclusive (size even, as the self-composition's alignment needs), and the total {@code shifts} applied to it since it
 * was laid out (Gopi, Lee, Wutschitz 2021, arXiv:2106.02848, Sec. 5).
 */
record Domain(double tMin, double tMax, int size, double shifts) {

    Domain {
        if (size < 2 || size % 2 != 0) {
            throw new IllegalArgumentException("domain size must be even and >= 2, got " + size);
        }
        if (!(tMax > tMin) || Double.isInfinite(tMin) || Double.isInfinite(tMax)) {
            throw new IllegalArgumentException(
                    "domain bounds must be finite with tMin < tMax, got " + tMin + ", " + tMax);
        }
    }

    /**
     * The grid of mesh {@code dt} whose ends are the multiples of dt just outside [lo, hi], with one more point on the
     * right when the count would be odd.
     */
    static Domain aligned(double lo, double hi, double dt, int maxSize) {
        double tMin = Math.floor(lo / dt) * dt;
        double tMax = Math.ceil(hi / dt) * dt;
        double points = Math.rint((tMax - tMin) / dt) + 1;
        if (!(points <= maxSize)) {
            throw new IllegalArgumentException(String.format(
                    "the PRV domain [%s, %s] at mesh %s needs %.0f points, more than the limit of %d (2^24, "
                            + "or less by the heap): allow a larger epsilon error, account fewer steps or give "
                            + "the JVM more heap",
                    lo, hi, dt, points, maxSize));
        }
        int size = (int) points;
        if (size % 2 == 1) {
            size++;
            tMax += dt;
        }
        Domain d = new Domain(tMin, tMax, size, 0);
        // The mesh is recomputed from the rounded ends; it must still be the mesh that was asked for.
        if (Math.abs(d.dt() - dt) / dt >= 1e-8) {
            throw new ArithmeticException("domain mesh " + d.dt() + " drifted from the requested " + dt);
        }
        return d;
    }

    /** Distance between neighbouring points. */
    double dt() {
        return (tMax - tMin) / (size - 1);
    }

    /** The i-th point, evaluated as i * dt + tMin (the last point is tMax itself) like numpy's linspace. */
    double t(int i) {
        return i == size - 1 ? tMax : i * dt() + tMin;
    }

    /** Every point of the grid. */
    double[] points() {
        double[] ts = new double[size];
        double dt = dt();
        for (int i = 0; i < size - 1; i++) {
            ts[i] = i * dt + tMin;
        }
        ts[size - 1] = tMax;
        return ts;
    }

    /** The same grid moved right by {@code by}; the move is remembered in {@link #shifts}. */
    Domain shiftRight(double by) {
        return new Domain(tMin + by, tMax + by, size, shifts + by);
    }
}
