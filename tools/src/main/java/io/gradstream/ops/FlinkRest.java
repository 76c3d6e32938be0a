package io.gradstream.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * The few calls of Flink's REST API (the one behind the Web UI) that operations need: cluster overview, jar upload and
 * run, job status. Failures become {@link FlinkRestException}s that carry Flink's own error message, without its Java
 * stack trace.
 */
public final class FlinkRest {
    private static final Duration SHORT = Duration.ofSeconds(10);
    /** Running a jar executes its main() on the JobManager, which builds the job graph: allow for a slow cluster. */
    private static final Duration LONG = Duration.ofMinutes(3);

    private final URI base;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();

    /** @throws IllegalArgumentException unless {@code url} is an http(s) URL with a host */
    public FlinkRest(String url) {
        URI u;
        try {
            u = URI.create(url.endsWith("/") ? url : url + "/");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a URL: '" + url + "'");
        }
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
            throw new IllegalArgumentException("expected http://HOST:PORT of Flink's REST API, got '" + url + "'");
        }
        this.base = u;
        this.http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** What to run from an uploaded jar ({@code POST /jars/:jarid/run}). */
    public record RunRequest(
            String entryClass,
            List<String> programArgs,
            Integer parallelism,
            String savepointPath,
            boolean allowNonRestoredState) {}

    /** The base URL, with a trailing slash. */
    public String url() {
        return base.toString();
    }

    /** The Web UI page of a job. */
    public String jobPage(String jobId) {
        return base + "#/job/running/" + jobId + "/overview";
    }

    /** {@code GET path} (relative to the base URL), parsed. */
    public JsonNode get(String path) throws FlinkRestException {
        return send(
                "GET " + path,
                HttpRequest.newBuilder(base.resolve(path)).timeout(SHORT).GET());
    }

    /** Uploads a jar ({@code POST /jars/upload}) and returns the id under which Flink keeps it. */
    public String uploadJar(Path jar) throws FlinkRestException, IOException {
        String boundary = "gradstream-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String name = jar.getFileName().toString().replace("\"", "");
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"" + name
                        + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8));
        body.writeBytes(Files.readAllBytes(jar));
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonNode r = send(
                "POST jars/upload",
                HttpRequest.newBuilder(base.resolve("jars/upload"))
                        .timeout(LONG)
                        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
        String file = r.path("filename").asText("");
        if (file.isEmpty()) {
            throw new FlinkRestException("Flink accepted the upload but named no jar: " + r);
        }
        return file.substring(file.lastIndexOf('/') + 1);
    }

    /** Runs the main class of an uploaded jar ({@code POST /jars/:jarid/run}) and returns the job id. */
    public String runJar(String jarId, RunRequest run) throws FlinkRestException {
        ObjectNode body = json.createObjectNode();
        if (run.entryClass() != null) {
            body.put("entryClass", run.entryClass());
        }
        body.putArray("programArgsList")
                .addAll(run.programArgs().stream()
                        .map(json.getNodeFactory()::textNode)
                        .toList());
        if (run.parallelism() != null) {
            body.put("parallelism", run.parallelism());
        }
        if (run.savepointPath() != null) {
            body.put("savepointPath", run.savepointPath());
        }
        body.put("allowNonRestoredState", run.allowNonRestoredState());
        String path = "jars/" + jarId + "/run";
        JsonNode r = send(
                "POST " + path,
                HttpRequest.newBuilder(base.resolve(path))
                        .timeout(LONG)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
        String job = r.path("jobid").asText("");
        if (job.isEmpty()) {
            throw new FlinkRestException("Flink ran the jar but returned no job id: " + r);
        }
        return job;
    }

    /** The state of a job ({@code RUNNING}, {@code FAILED}, ...). */
    public String jobState(String jobId) throws FlinkRestException {
        return get("jobs/" + jobId).path("state").asText("UNKNOWN");
    }

    /**
     * The id of the job named {@code name} that is running (or restarting, or created), the newest if several; null
     * when none is.
     */
    public String runningJob(String name) throws FlinkRestException {
        String best = null;
        long bestStart = Long.MIN_VALUE;
        for (JsonNode j : get("jobs/overview").path("jobs")) {
            String state = j.path("state").asText();
            boolean live = state.equals("RUNNING")
                    || state.equals("RESTARTING")
                    || state.equals("CREATED")
                    || state.equals("INITIALIZING");
            if (live
                    && j.path("name").asText().equals(name)
                    && j.path("start-time").asLong() > bestStart) {
                best = j.path("jid").asText();
                bestStart = j.path("start-time").asLong();
            }
        }
        return best;
    }

    /**
     * Stops a job with a savepoint ({@code POST /jobs/:jobid/stop}, without draining, so that the job can go on from
     * it) and returns the trigger id to poll with {@link #savepointStatus}.
     */
    public String stopWithSavepoint(String jobId, String targetDirectory) throws FlinkRestException {
        ObjectNode body = json.createObjectNode();
        if (targetDirectory != null) {
            body.put("targetDirectory", targetDirectory);
        }
        body.put("drain", false);
        String path = "jobs/" + jobId + "/stop";
        JsonNode r = send(
                "POST " + path,
                HttpRequest.newBuilder(base.resolve(path))
                        .timeout(SHORT)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
        String trigger = r.path("request-id").asText("");
        if (trigger.isEmpty()) {
            throw new FlinkRestException("Flink accepted the stop but returned no trigger id: " + r);
        }
        return trigger;
    }

    /**
     * The savepoint's path once the stop triggered as {@code triggerId} completed, null while it is in progress.
     *
     * @throws FlinkRestException when it failed, with Flink's reason
     */
    public String savepointStatus(String jobId, String triggerId) throws FlinkRestException {
        JsonNode r = get("jobs/" + jobId + "/savepoints/" + triggerId);
        if (!r.path("status").path("id").asText().equals("COMPLETED")) {
            return null;
        }
        JsonNode op = r.path("operation");
        if (op.has("failure-cause")) {
            String cause = op.path("failure-cause").path("stack-trace").asText("");
            String first = cause.isEmpty()
                    ? op.path("failure-cause").toString()
                    : cause.lines().findFirst().orElse("");
            StringBuilder causes = new StringBuilder(first.strip());
            cause.lines()
                    .filter(l -> l.startsWith("Caused by: "))
                    .forEach(l -> causes.append("\n  ").append(l.strip()));
            throw new FlinkRestException("the savepoint failed: " + causes);
        }
        String location = op.path("location").asText("");
        if (location.isEmpty()) {
            throw new FlinkRestException("Flink completed the savepoint but named no location: " + r);
        }
        return location;
    }

    private JsonNode send(String what, HttpRequest.Builder request) throws FlinkRestException {
        HttpResponse<String> r;
        try {
            r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new FlinkRestException(
                    "cannot reach Flink's REST API at " + base + " (connection refused): is the "
                            + "cluster running, and is that its rest.address and rest.port?",
                    e);
        } catch (HttpTimeoutException e) {
            throw new FlinkRestException("Flink's REST API at " + base + " did not answer " + what + " in time", e);
        } catch (IOException e) {
            throw new FlinkRestException("cannot reach Flink's REST API at " + base + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlinkRestException("interrupted during " + what, e);
        }
        JsonNode body;
        try {
            body = r.body().isBlank() ? json.createObjectNode() : json.readTree(r.body());
        } catch (IOException e) {
            throw new FlinkRestException(base + " answered " + what + " with HTTP " + r.statusCode()
                    + " and no JSON: is this Flink's REST API? (" + abbreviate(r.body()) + ")");
        }
        if (r.statusCode() / 100 != 2 || body.has("errors")) {
            throw new FlinkRestException("Flink refused " + what + " (HTTP " + r.statusCode() + "): " + errors(body));
        }
        return body;
    }

    /**
     * Flink's {@code {"errors": [...]}} without Java stack frames: its messages often embed whole traces, where the
     * useful part is the chain of exception messages.
     */
    static String errors(JsonNode body) {
        StringBuilder b = new StringBuilder();
        for (JsonNode e : body.path("errors")) {
            for (String line : e.asText().split("\n")) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("at ") || l.startsWith("... ") || b.indexOf(l) >= 0) {
                    continue;
                }
                b.append(b.length() == 0 ? "" : "\n  ").append(l);
            }
        }
        return b.length() == 0 ? abbreviate(body.toString()) : b.toString();
    }

    private static String abbreviate(String s) {
        String t = s.strip().replaceAll("\\s+", " ");
        return t.length() <= 200 ? t : t.substring(0, 200) + " ...";
    }
}
