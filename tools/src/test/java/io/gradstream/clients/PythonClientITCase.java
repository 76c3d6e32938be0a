package io.gradstream.clients;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.local.LocalGradstream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the Python client's own test suite (clients/python/tests, with Debian's python3-pytest) against gradstream
 * started here: an embedded broker and the job on a MiniCluster, plaintext for the training, signing and validation
 * tests, then secured (SASL_SSL, SCRAM, ACLs) for the tests marked {@code secure}. A failing Python test fails this
 * test with pytest's output; without Python and the packages it is skipped, unless {@code GRADSTREAM_REQUIRE_TOOLS}.
 */
class PythonClientITCase {
    private static final Pattern COUNT = Pattern.compile("(\\d+) (passed|failed|skipped|error|errors|deselected)");

    @TempDir
    Path tmp;

    private record Pytest(int exitCode, String output) {
        int count(String outcome) {
            Matcher m = COUNT.matcher(output);
            int n = 0;
            while (m.find()) {
                if (m.group(2).equals(outcome)) {
                    n = Integer.parseInt(m.group(1));
                }
            }
            return n;
        }
    }

    @Test
    void theClientTrainsThroughTheServiceAsItsTestsExpect() throws Exception {
        String python = PythonClient.python();
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, 1, 4, tmp.resolve("work"), new Configuration()))) {
            Pytest run = pytest(
                    python, Map.of("GRADSTREAM_TEST_BOOTSTRAP", local.settings().bootstrapServers()), "not secure");
            assertThat(run.exitCode()).as(run.output()).isZero();
            // The two-worker run against torch, every encoding, signing, validation, the example: all of them ran.
            assertThat(run.count("passed")).as(run.output()).isGreaterThanOrEqualTo(50);
            assertThat(run.count("failed") + run.count("error") + run.count("errors"))
                    .as(run.output())
                    .isZero();
            assertThat(run.output()).doesNotContain("SKIPPED");
        }
    }

    /**
     * The secured broker, with the Java client files it writes. Debian 12's librdkafka (2.0.2) cannot pass SCRAM
     * against Kafka 4 (fixed in 2.6.1), so there the test checks that TLS with the CA succeeds and that the client
     * names the reason, and skips the training run; with a newer librdkafka it trains.
     */
    @Test
    void theClientUsesTheSecuredBrokersCredentialFiles() throws Exception {
        String python = PythonClient.python();
        Path work = tmp.resolve("secure");
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, 1, 4, work, new Configuration(), 0, true))) {
            Pytest run = pytest(
                    python,
                    Map.of(
                            "GRADSTREAM_TEST_SECURE_BOOTSTRAP",
                            local.settings().bootstrapServers(),
                            "GRADSTREAM_TEST_SECURE_WORKDIR",
                            work.toString()),
                    "secure");
            assertThat(run.exitCode()).as(run.output()).isZero();
            assertThat(run.count("passed") + run.count("skipped"))
                    .as(run.output())
                    .isEqualTo(1);
            if (run.count("skipped") == 1) {
                assertThat(run.output()).contains("needs librdkafka >= 2.6.1");
            }
        }
    }

    /** Runs pytest on clients/python/tests with the tests of {@code marker}; its output is kept for the assertion. */
    private static Pytest pytest(String python, Map<String, String> env, String marker) throws Exception {
        Path root = PythonClient.root();
        List<String> command = new ArrayList<>(List.of(
                python,
                "-m",
                "pytest",
                "-q",
                "-rs",
                "-p",
                "no:cacheprovider",
                "-m",
                marker,
                root.resolve("clients/python/tests").toString()));
        ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("GRADSTREAM_TEST_"));
        pb.environment().putAll(env);
        // No __pycache__ folders in the source tree.
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try {
                p.getInputStream().transferTo(out);
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        });
        reader.start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
        }
        reader.join(10_000);
        String output = PythonClient.text(out.toByteArray());
        String tail = output.length() > 20_000 ? output.substring(output.length() - 20_000) : output;
        return new Pytest(p.isAlive() ? -1 : p.exitValue(), String.join(" ", command) + "\n" + tail);
    }
}
