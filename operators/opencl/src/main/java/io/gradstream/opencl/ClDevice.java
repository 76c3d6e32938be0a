package io.gradstream.opencl;

/**
 * What the backend needs to know about the opened device.
 *
 * @param maxAllocBytes {@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}: the largest single buffer
 * @param fp64 whether the device has double precision ({@code CL_DEVICE_DOUBLE_FP_CONFIG != 0})
 * @param correctlyRoundedDivideSqrt whether float division and sqrt can be built correctly rounded, as Java's are
 */
public record ClDevice(
        String platform,
        String name,
        String version,
        long globalMemBytes,
        long maxAllocBytes,
        boolean fp64,
        boolean correctlyRoundedDivideSqrt) {

    @Override
    public String toString() {
        return name + " (" + platform + ", " + version + ", " + (globalMemBytes >> 20) + " MiB, max buffer "
                + (maxAllocBytes >> 20) + " MiB" + (fp64 ? ", fp64" : "") + ")";
    }
}
