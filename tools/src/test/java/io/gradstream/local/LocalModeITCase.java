package io.gradstream.local;

import static io.gradstream.ops.Sockets.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.ops.LocalProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code gradstream local} as a user runs it, in a separate JVM whose temporary folder is the test's: the demo trains
 * the model to a lower loss and exits 0; a serving instance stops cleanly on SIGTERM (what Ctrl-C's shutdown hook
 * runs too); neither leaves a file behind.
 */
class LocalModeITCase {

    @TempDir
    Path tmp;

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    /** Runs {@code gradstream local} with {@code args} until it exits, which it must do with status 0 in 2 min. */
    private LocalProcess runToExit(String... args) throws Exception {
        LocalProcess local = LocalProcess.start(tmp, args);
        Process p = local.process();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(200); // let the reader take the last lines
        assertThat(p.exitValue()).as(local.output()).isZero();
        return local;
    }

    @Test
    void demoTrainsTheModelAndExitsCleanly() throws Exception {
        LocalProcess local = runToExit(
                "--demo",
                "--steps",
                "40",
                "--kafka-port",
                "0",
                "--web-port",
                String.valueOf(freePort()),
                "--prometheus-port",
                String.valueOf(freePort()));
        List<String> lines = local.lines();
        String output = local.output();
        assertThat(output)
                .contains("Flink Web UI:  http://127.0.0.1:")
                .contains("Prometheus:    http://127.0.0.1:")
                .contains("step   40/40");
        String last = lines.stream()
                .filter(l -> l.startsWith("demo: loss"))
                .findFirst()
                .orElse("(none)");
        assertThat(last).matches("demo: loss [0-9.]+ -> [0-9.]+ over 40 steps");
        String[] f = last.split(" ");
        assertThat(Double.parseDouble(f[4])).isLessThan(Double.parseDouble(f[2]) / 3);
        assertThat(leftovers()).as("files left in the temporary folder").isEmpty();
    }

    /**
     * {@code --encoding}: the demo's gradients in BF16 (parameters in BF16), INT8 and TOPK with the workers' error
     * feedback (parameters as an INT8 delta stream, the server's residual in keyed state); the subscribers rebuild the
     * parameters and the model still learns.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bf16", "int8", "topk:0.1"})
    void theDemoTrainsWithCompressedGradientsAndParameters(String encoding) throws Exception {
        LocalProcess local = runToExit(
                "--demo",
                "--encoding",
                encoding,
                "--steps",
                "40",
                "--kafka-port",
                "0",
                "--web-port",
                String.valueOf(freePort()),
                "--prometheus-port",
                "none");
        String output = local.output();
        assertThat(output)
                .contains("gradients " + encoding + ", parameters ")
                .contains(encoding.equals("bf16") ? "parameters BF16" : "parameters INT8_BLOCK deltas (full every 50)")
                .contains("step   40/40");
        String loss = local.lines().stream()
                .filter(l -> l.startsWith("demo: loss"))
                .findFirst()
                .orElse("(none)");
        String[] f = loss.split(" ");
        assertThat(Double.parseDouble(f[4])).as(loss).isLessThan(Double.parseDouble(f[2]) / 2);
        assertThat(leftovers()).as("files left in the temporary folder").isEmpty();
    }

    /**
     * {@code --dp} (DP-SGD, PRV) and {@code --dp ftrl} (DP-FTRL without sampling: reshuffled fixed batches, 89 of each
     * worker's 898 rows, ten steps to an epoch and a tree): each prints its mechanism, its accountant's epsilon lands
     * within the calibration's tolerance below the target after the planned steps, and the model still learns.
     */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "sgd | demo: DP-SGD per example: target epsilon 4.00 (PRV accountant) at delta 1e-05 | PRV",
                "ftrl | demo: DP-FTRL per example (tree aggregation, no sampling): target epsilon 4.00 at delta 1e-05,"
                        + " clip 1.00, 89 examples per worker and step, a tree of 10 steps per epoch | tree"
            })
    void thePrivateDemoReachesItsEpsilonAndStillLearns(String mechanism, String header, String accounting)
            throws Exception {
        LocalProcess local = runToExit(
                "--demo",
                "--dp",
                mechanism,
                "--epsilon",
                "4",
                "--steps",
                "30",
                "--kafka-port",
                "0",
                "--web-port",
                String.valueOf(freePort()),
                "--prometheus-port",
                "none");
        List<String> lines = local.lines();
        assertThat(local.output()).contains(header);
        String eps = lines.stream()
                .filter(l -> l.startsWith("demo: privacy epsilon"))
                .findFirst()
                .orElse("(none)");
        assertThat(eps)
                .matches("demo: privacy epsilon [0-9.]+ \\(" + accounting + "\\) at delta 1e-05 \\(target 4.00, "
                        + "noise multiplier [0-9.]+\\)");
        // The noise is calibrated so that the last step lands within the search's tolerance below the target.
        assertThat(Double.parseDouble(eps.split(" ")[3])).isBetween(3.99, 4.0);
        String loss = lines.stream()
                .filter(l -> l.startsWith("demo: loss"))
                .findFirst()
                .orElse("(none)");
        String[] f = loss.split(" ");
        assertThat(Double.parseDouble(f[4])).as(loss).isLessThan(Double.parseDouble(f[2]));
        assertThat(leftovers())
                .as("files left in the temporary folder (the generated seed included)")
                .isEmpty();
    }

    /**
     * {@code --secure --demo}: the demo trains over SASL_SSL with ACLs (its CREATE as the operator, its gradients as
     * workers, each signing with its own HMAC key, the job as 'job'); the credential and key files are printed and
     * owner-only, and no password they hold, no store password and no worker key appears in the output or the log.
     */
    @Test
    void theSecureDemoTrainsOverSaslSslWithoutShowingASecret() throws Exception {
        Path work = tmp.resolve("work");
        LocalProcess local = runToExit(
                "--secure",
                "--demo",
                "--steps",
                "30",
                "--kafka-port",
                "0",
                "--web-port",
                String.valueOf(freePort()),
                "--prometheus-port",
                "none",
                "--work-dir",
                work.toString());
        String output = local.output();
        Path worker = work.resolve("credentials").resolve("worker.properties");
        Path operator = work.resolve("credentials").resolve("operator.properties");
        assertThat(output)
                .contains("security:      SASL_SSL (SCRAM-SHA-512) over TLS, ACLs")
                .contains("worker:      " + worker)
                .contains("operator:    " + operator)
                .contains("--kafka-config " + operator)
                .contains("step   30/30");
        // The model admits only the demo's workers, each signing with its own key (authorised workers).
        Path keys = work.resolve("credentials").resolve("worker-keys");
        assertThat(output)
                .contains("demo: only workers worker-0, worker-1 may contribute; each signs its gradients (keys in "
                        + keys + ")");
        String loss = local.lines().stream()
                .filter(l -> l.startsWith("demo: loss"))
                .findFirst()
                .orElse("(none)");
        String[] f = loss.split(" ");
        assertThat(Double.parseDouble(f[4])).as(loss).isLessThan(Double.parseDouble(f[2]) / 2);

        List<String> secrets = new java.util.ArrayList<>(secrets(work));
        try (var files = Files.list(keys)) {
            for (Path key : files.toList()) {
                assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                        .as("permissions of %s", key)
                        .isEqualTo("rw-------");
                secrets.add(Files.readString(key).strip());
            }
        }
        assertThat(secrets).hasSizeGreaterThan(2);
        String log = Files.readString(local.log());
        for (String secret : secrets) {
            assertThat(output).doesNotContain(secret);
            assertThat(log).doesNotContain(secret);
        }
        assertThat(leftovers()).as("files left in the temporary folder").containsExactly("work");
    }

    /**
     * The Flink UI's configuration page of {@code local --secure} (the job's configuration is the MiniCluster's there)
     * shows the job's Kafka security settings with its secrets as file references only.
     */
    @Test
    void theSecureJobsConfigurationPageHoldsNoSecret() throws Exception {
        int web = freePort();
        Path work = tmp.resolve("work");
        try (LocalProcess local = LocalProcess.start(
                tmp,
                "--secure",
                "--kafka-port",
                "0",
                "--web-port",
                String.valueOf(web),
                "--prometheus-port",
                "none",
                "--work-dir",
                work.toString())) {
            local.awaitLine("Serving workers", 90_000);
            HttpClient http = HttpClient.newHttpClient();
            String config = http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web + "/jobmanager/config"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            assertThat(config)
                    .contains("gradstream.kafka.security.protocol")
                    .contains("SASL_SSL")
                    .contains(work.resolve("tls").resolve("truststore.p12").toString())
                    // Flink masks keys named like passwords and JAAS settings, references or not.
                    .contains("{\"key\":\"gradstream.kafka.ssl.truststore.password\",\"value\":\"******\"}");
            for (String secret : secrets(work)) {
                assertThat(config).doesNotContain(secret);
            }
        }
    }

    /** The passwords of the principals' credential files and the key and trust store passwords of {@code work}. */
    private static List<String> secrets(Path work) throws IOException {
        List<String> secrets = new java.util.ArrayList<>();
        for (String principal : List.of("job", "operator", "worker", "admin")) {
            Path file = work.resolve("credentials").resolve(principal + ".properties");
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                    .isEqualTo("rw-------");
            var m = java.util.regex.Pattern.compile("password=\"([0-9a-f]{48})\"")
                    .matcher(Files.readString(file));
            assertThat(m.find()).as("a password in %s", file).isTrue();
            secrets.add(m.group(1));
        }
        for (String store : List.of("broker.password", "truststore.password")) {
            secrets.add(Files.readString(work.resolve("tls").resolve(store)).strip());
        }
        return secrets;
    }

    @Test
    void servingStopsOnSigtermWithoutLeftovers() throws Exception {
        int web = freePort();
        LocalProcess local = LocalProcess.start(
                tmp, "--kafka-port", "0", "--web-port", String.valueOf(web), "--prometheus-port", "none");
        Process p = local.process();
        local.awaitLine("Serving workers", 60_000);
        // The Flink Web UI lists the running job.
        HttpResponse<String> jobs = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web + "/jobs/overview"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(jobs.body()).contains("\"name\":\"gradstream\"").contains("RUNNING");

        p.destroy(); // SIGTERM: the JVM runs the same shutdown hook as on Ctrl-C
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(leftovers())
                .as("files left after SIGTERM:\n" + local.output())
                .isEmpty();
    }
}
