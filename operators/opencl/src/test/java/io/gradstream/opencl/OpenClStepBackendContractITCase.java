package io.gradstream.opencl;

import io.gradstream.core.optim.StepBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract suite against the OpenCL backend. Tolerance: 2 ulp of the CPU value (or 1e-6 of the array's largest
 * magnitude). With FP_CONTRACT OFF and correctly rounded division and sqrt, POCL's CPU device matches the CPU path
 * bit for bit; GPUs whose sqrt/div are not correctly rounded (OpenCL allows 3 and 2.5 ulp) may differ by an ulp.
 */
class OpenClStepBackendContractITCase extends StepBackendAbstractTest {
    private static ClContext ctx;
    private static OpenClStepBackend backend;

    @BeforeAll
    static void open() {
        if (OpenClTesting.available()) {
            ctx = ClContext.open(OpenClTesting.config());
            backend = new OpenClStepBackend(ctx);
        }
    }

    @BeforeEach
    void requireOpenCl() {
        OpenClTesting.assumeOpenCl();
    }

    @AfterAll
    static void close() {
        if (ctx != null) {
            ctx.close();
        }
    }

    @Override
    StepBackend backend() {
        return backend;
    }

    @Override
    int maxUlps() {
        return 2;
    }
}
