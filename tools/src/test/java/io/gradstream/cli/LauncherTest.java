package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./gradstream} preloads the JDK's signal chaining (libjsig.so of the {@code java} it runs), without which
 * OpenCL is refused: run against a copy of the script with a prebuilt-looking tree and a {@code java} that prints
 * its environment.
 */
class LauncherTest {
    @TempDir
    Path dir;

    private Path jdk;
    private Path jsig;

    @BeforeEach
    void fakeInstallation() throws IOException {
        Path root = Path.of(System.getProperty("gradstream.project.dir"));
        Files.copy(root.resolve("gradstream"), dir.resolve("gradstream"));
        Files.createDirectories(dir.resolve("tools/target/lib"));
        Files.createFile(dir.resolve("tools/target/gradstream.jar"));
        jdk = dir.resolve("jdk");
        Files.createDirectories(jdk.resolve("bin"));
        Files.createDirectories(jdk.resolve("lib"));
        Path java = Files.writeString(jdk.resolve("bin/java"), "#!/bin/sh\necho \"LD_PRELOAD=$LD_PRELOAD\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        jsig = jdk.resolve("lib/libjsig.so");
        // The real library, so that preloading it into the stub's shell works as it does into a JVM.
        Files.copy(Path.of(System.getProperty("java.home"), "lib", "libjsig.so"), jsig);
    }

    @Test
    void preloadsTheJdksLibjsig() throws Exception {
        assertThat(launch(null)).contains("LD_PRELOAD=" + jsig);
    }

    @Test
    void keepsWhatWasPreloadedAlreadyAndDoesNotAddItTwice() throws Exception {
        assertThat(launch("/opt/other.so")).contains("LD_PRELOAD=" + jsig + ":/opt/other.so");
        assertThat(launch(jsig.toString())).contains("LD_PRELOAD=" + jsig + "\n");
    }

    @Test
    void aJdkWithoutLibjsigIsLeftAlone() throws Exception {
        Files.delete(jsig);
        assertThat(launch(null)).contains("LD_PRELOAD=\n");
    }

    private String launch(String preload) throws IOException, InterruptedException {
        ProcessBuilder pb =
                new ProcessBuilder("bash", dir.resolve("gradstream").toString(), "--help").redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("PATH", jdk.resolve("bin") + ":" + env.get("PATH"));
        if (preload == null) {
            env.remove("LD_PRELOAD");
        } else {
            env.put("LD_PRELOAD", preload);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
