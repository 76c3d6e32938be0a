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

    private OpenClTesting() {}

    /**
     * The device the tests open: environment variables {@code GRADSTREAM_OPENCL_PLATFORM} (index or name part),
     * {@code GRADSTREAM_OPENCL_DEVICE_TYPE} (cpu, gpu, all) and {@code GRADSTREAM_OPENCL_DEVICE} (index), which
     * reach failsafe's forked JVM where Maven properties would not; default the first device of the first platform.
     */
    static ClConfig config() {
        java.util.Map<String, String> m = new java.util.HashMap<>();
        putIfSet(m, ClConfig.PLATFORM, "GRADSTREAM_OPENCL_PLATFORM");
        putIfSet(m, ClConfig.DEVICE_TYPE, "GRADSTREAM_OPENCL_DEVICE_TYPE");
        putIfSet(m, ClConfig.DEVICE, "GRADSTREAM_OPENCL_DEVICE");
        return ClConfig.fromMap(m);
    }

    private static void putIfSet(java.util.Map<String, String> m, String key, String env) {
        String v = System.getenv(env);
        if (v != null && !v.isBlank()) {
            m.put(key, v);
        }
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
