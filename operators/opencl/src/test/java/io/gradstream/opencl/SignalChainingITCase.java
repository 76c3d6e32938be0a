package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * POCL replaces the JVM's SIGSEGV handler with LLVM's (SA_RESETHAND) whenever it initialises or builds a program, and
 * a JVM without signal chaining is then killed by its own safepoint polls (reproduced in a few rounds of
 * {@link SafepointStorm}, docs/opencl.md). With libjsig preloaded the JVM survives every round; without it, OpenCL
 * is refused with the remedy instead of being touched.
 */
class SignalChainingITCase {
    private static final int ROUNDS = 60;

    @BeforeEach
    void requireOpenCl() {
        OpenClTesting.assumeOpenCl();
    }

    @Test
    void withLibjsigTheJvmSurvivesProgramBuildsDuringSafepoints() throws Exception {
        Path jsig = Path.of(System.getProperty("java.home"), "lib", SignalChaining.LIBRARY);
        Child c = run(jsig.toString());
        assertThat(c.exit).as(c.output).isZero();
        assertThat(c.output).contains("survived " + ROUNDS + " rounds");
    }

    @Test
    void withoutLibjsigOpenClIsRefusedWithTheRemedy() throws Exception {
        Child c = run(null);
        assertThat(c.exit).as(c.output).isEqualTo(3);
        assertThat(c.output).contains("signal chaining", "LD_PRELOAD=", "/lib/libjsig.so");
    }

    private record Child(int exit, String output) {}

    private static Child run(String preload) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder pb = new ProcessBuilder(
                        List.of(java, "-Xmx256m", "-cp", cp, SafepointStorm.class.getName(), String.valueOf(ROUNDS)))
                .redirectErrorStream(true);
        if (preload == null) {
            pb.environment().remove("LD_PRELOAD");
        } else {
            pb.environment().put("LD_PRELOAD", preload);
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("SafepointStorm still running after 120 s");
        }
        return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
