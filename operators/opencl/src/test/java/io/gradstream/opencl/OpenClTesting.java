package io.gradstream.opencl;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Skips OpenCL tests with the reason when this machine has no OpenCL platform (CL_PLATFORM_NOT_FOUND_KHR, no
 * libOpenCL.so), unless {@code GRADSTREAM_REQUIRE_TOOLS=1}, where a missing runtime is a failure instead.
 */
final class OpenClTesting {
    static final String REQUIRE_TOOLS = "GRADSTREAM_REQUIRE_TOOLS";

    private OpenClTesting() {
    }

    /** The configuration the tests open: the system property {@code gradstream.opencl.platform} may pick one. */
    static ClConfig config() {
        return ClConfig.fromMap(java.util.Map.of(
                ClConfig.PLATFORM, System.getProperty("gradstream.opencl.platform", "0"),
                ClConfig.DEVICE_TYPE, System.getProperty("gradstream.opencl.device-type", "all"),
                ClConfig.DEVICE, System.getProperty("gradstream.opencl.device", "0")));
    }

    private static Optional<String> unavailable;

    /** Whether a device can be opened; probed once per test JVM. */
    static synchronized boolean available() {
        if (unavailable == null) {
            unavailable = ClContext.unavailableReason(config());
        }
        return unavailable.isEmpty();
    }

    /** Call from {@code @BeforeEach}, so that every test is reported as skipped with the reason. */
    static void assumeOpenCl() {
        if (!available()) {
            Optional<String> reason = unavailable;
            String message = "no OpenCL device (" + reason.get() + "); install pocl-opencl-icd ocl-icd-libopencl1 "
                    + "ocl-icd-opencl-dev for a CPU device";
            if ("1".equals(System.getenv(REQUIRE_TOOLS))) {
                fail(REQUIRE_TOOLS + "=1 but " + message);
            }
            Assumptions.abort("SKIPPED: " + message);
        }
    }
}
