package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.local.LocalGradstream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Headless Chromium renders the Flink Web UI of a running {@code gradstream local}: the running-jobs page lists the
 * job, and the job's overview page draws its operators. A screenshot stays in target/web-ui/ for people to look at.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebUiITCase {
    private static final Path OUT = Path.of("target", "web-ui").toAbsolutePath();

    @TempDir
    Path tmp;

    @Test
    void theWebUiShowsTheRunningJobAndItsOperators() throws Exception {
        Path chromium = Tools.require("/usr/bin/chromium", "chromium");
        int web = Sockets.freePort();
        Path profile = Files.createDirectories(OUT).resolve("profile-" + System.nanoTime());
        try (LocalProcess local = LocalProcess.start(
                tmp, "--kafka-port", "0", "--web-port", String.valueOf(web), "--prometheus-port", "none")) {
            local.awaitLine("Serving workers", 60_000);
            String ui = "http://127.0.0.1:" + web + "/";
            String overview = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(ui + "jobs/overview"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            String jobId = new ObjectMapper()
                    .readTree(overview)
                    .get("jobs")
                    .get(0)
                    .get("jid")
                    .asText();

            String list = render(chromium, profile, ui + "#/job/running", "--dump-dom");
            assertThat(list).as("running jobs page").contains("gradstream").contains("RUNNING");

            String job = render(chromium, profile, ui + "#/job/running/" + jobId + "/overview", "--dump-dom");
            assertThat(job)
                    .as("job overview page")
                    .contains(jobId)
                    .contains("RUNNING")
                    .contains("Source: gradients")
                    .contains("Source: control")
                    .contains("shard optimizer")
                    .contains("parameters: Writer")
                    .contains("rejected: Writer");

            Path png = OUT.resolve("gradstream-job-overview.png");
            Files.deleteIfExists(png);
            render(
                    chromium,
                    profile,
                    ui + "#/job/running/" + jobId + "/overview",
                    "--screenshot=" + png,
                    "--window-size=1400,900");
            byte[] head = Files.readAllBytes(png);
            assertThat(head.length).as("screenshot size").isGreaterThan(10_000);
            assertThat(new String(head, 1, 3, java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("PNG");
        } finally {
            LocalGradstream.delete(profile);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left.toList()).as("files left in the temporary folder").isEmpty();
        }
    }

    /**
     * Loads {@code url} in a fresh headless browser and returns what it printed. The virtual time budget lets the
     * Angular app fetch the REST data and render before the DOM is dumped; --no-sandbox because CI runs as root.
     */
    private String render(Path chromium, Path profile, String url, String... what)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                chromium.toString(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--user-data-dir=" + profile,
                "--virtual-time-budget=10000"));
        cmd.addAll(List.of(what));
        cmd.add(url);
        Path stderr = OUT.resolve("chromium.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        pb.environment().put("TMPDIR", tmp.toString()); // anything Chromium leaves behind would fail the test
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("chromium did not finish within 60 s: " + url);
        }
        assertThat(p.exitValue()).as("chromium exit status; see " + stderr).isZero();
        return new String(out, java.nio.charset.StandardCharsets.UTF_8);
    }
}
