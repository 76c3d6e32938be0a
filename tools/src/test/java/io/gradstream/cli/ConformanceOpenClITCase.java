package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import io.gradstream.opencl.ClConfig;
import io.gradstream.opencl.ClContext;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code gradstream conformance --backend opencl} over the optimizer reference files; skips without an OpenCL
 * platform unless {@code GRADSTREAM_REQUIRE_TOOLS=1}.
 */
class ConformanceOpenClITCase {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = GradstreamCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new String[] {Integer.toString(exit), out.toString(), err.toString()};
    }

    @Test
    void optimizerFilesPassOnTheOpenClBackend() {
        Optional<String> missing = ClContext.unavailableReason(ClConfig.defaults());
        if (missing.isPresent()) {
            if ("1".equals(System.getenv("GRADSTREAM_REQUIRE_TOOLS"))) {
                fail("GRADSTREAM_REQUIRE_TOOLS=1 but no OpenCL device: " + missing.get());
            }
            Assumptions.abort("SKIPPED: no OpenCL device: " + missing.get());
        }
        String[] r = run(
                "conformance",
                "--backend",
                "opencl",
                ConformanceCommandTest.referenceDir().resolve("optimizers").toString());
        assertThat(r[2]).isEmpty();
        assertThat(r[1]).startsWith("backend opencl:");
        assertThat(r[1].lines().toList()).last().asString().matches("\\d+ passed, 0 failed");
        assertThat(r[0]).isEqualTo("0");
    }

    @Test
    void unknownBackendIsBadInput() {
        String[] r = run(
                "conformance",
                "--backend",
                "tpu",
                ConformanceCommandTest.referenceDir().toString());
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("--backend must be cpu or opencl, got 'tpu'");
    }
}
