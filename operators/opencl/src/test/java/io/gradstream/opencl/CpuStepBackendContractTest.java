package io.gradstream.opencl;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.StepBackend;

/** The contract suite against the CPU reference itself: keeps the suite honest (it must pass with 0 ulp). */
class CpuStepBackendContractTest extends StepBackendAbstractTest {

    @Override
    StepBackend backend() {
        return CpuStepBackend.INSTANCE;
    }

    @Override
    int maxUlps() {
        return 0;
    }
}
