package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradstream local} as a user runs it, in a separate JVM whose temporary folder is the test's: the demo trains
 * the model to a lower loss and exits 0; a serving instance stops cleanly on SIGTERM (what Ctrl-C's shutdown hook
 * runs too); neither leaves a file behind.
 */
class LocalModeITCase {

    @TempDir
    Path tmp;

    /** Output lines of the process, read by a background thread (stderr goes to target/, not the temp folder). */
    private final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());

    private Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"),
                "io.gradstream.cli.GradstreamCli", "local"));
        cmd.addAll(List.of(args));
        Path log = Files.createDirectories(Path.of("target", "local-mode-logs")).resolve(
                System.nanoTime() + ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).directory(tmp.toFile()).start();
        Thread reader = new Thread(() -> {
            try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    lines.add(line);
                }
            } catch (IOException closed) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        return p;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    @Test
    void demoTrainsTheModelAndExitsCleanly() throws Exception {
        Process p = start("--demo", "--steps", "40", "--kafka-port", "0", "--web-port", String.valueOf(freePort()));
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(200); // let the reader take the last lines
        String output = String.join("\n", lines);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("Flink Web UI:  http://127.0.0.1:").contains("step   40/40");
        String last = lines.stream().filter(l -> l.startsWith("demo: loss")).findFirst().orElse("(none)");
        assertThat(last).matches("demo: loss [0-9.]+ -> [0-9.]+ over 40 steps");
        String[] f = last.split(" ");
        assertThat(Double.parseDouble(f[4])).isLessThan(Double.parseDouble(f[2]) / 3);
        assertThat(leftovers()).as("files left in the temporary folder").isEmpty();
    }

    @Test
    void thePrivateDemoReachesItsEpsilonAndStillLearns() throws Exception {
        Process p = start("--demo", "--dp", "--epsilon", "4", "--steps", "30", "--kafka-port", "0", "--web-port",
                String.valueOf(freePort()));
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(200);
        String output = String.join("\n", lines);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("demo: DP-SGD per example: target epsilon 4.00 at delta 1e-05");
        String eps = lines.stream().filter(l -> l.startsWith("demo: privacy epsilon")).findFirst().orElse("(none)");
        assertThat(eps).matches("demo: privacy epsilon [0-9.]+ at delta 1e-05 \\(target 4.00, noise multiplier "
                + "[0-9.]+\\)");
        // The noise is calibrated so that the last step lands within Opacus' tolerance below the target.
        assertThat(Double.parseDouble(eps.split(" ")[3])).isBetween(3.99, 4.0);
        String loss = lines.stream().filter(l -> l.startsWith("demo: loss")).findFirst().orElse("(none)");
        String[] f = loss.split(" ");
        assertThat(Double.parseDouble(f[4])).as(loss).isLessThan(Double.parseDouble(f[2]));
        assertThat(leftovers()).as("files left in the temporary folder (the generated seed included)").isEmpty();
    }

    @Test
    void servingStopsOnSigtermWithoutLeftovers() throws Exception {
        int web = freePort();
        Process p = start("--kafka-port", "0", "--web-port", String.valueOf(web));
        long deadline = System.currentTimeMillis() + 60_000;
        while (lines.stream().noneMatch(l -> l.startsWith("Serving workers")) && p.isAlive()
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        assertThat(lines).as(String.join("\n", lines)).anyMatch(l -> l.startsWith("Serving workers"));
        // The Flink Web UI lists the running job.
        HttpResponse<String> jobs = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + web + "/jobs/overview")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(jobs.body()).contains("\"name\":\"gradstream\"").contains("RUNNING");

        p.destroy(); // SIGTERM: the JVM runs the same shutdown hook as on Ctrl-C
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(leftovers()).as("files left after SIGTERM:\n" + String.join("\n", lines)).isEmpty();
    }
}
