package io.gradstream.opencl;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the OpenCL integration tests that need one device context: opened once per class when a device exists,
 * released after it, and every test skipped with the reason (or failed under GRADSTREAM_REQUIRE_TOOLS=1) otherwise.
 */
abstract class WithClContext {
    static ClContext ctx;

    @BeforeAll
    static void openContext() {
        if (OpenClTesting.available()) {
            ctx = ClContext.open(OpenClTesting.config());
        }
    }

    @AfterAll
    static void closeContext() {
        if (ctx != null) {
            ctx.close();
            ctx = null;
        }
    }

    @BeforeEach
    void requireOpenCl() {
        OpenClTesting.assumeOpenCl();
    }
}
