package io.gradstream.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.kafka.EmbeddedKafka;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * A Flink session cluster of separate JVMs on 127.0.0.1, as {@code bin/start-cluster.sh} would start it: a JobManager
 * ({@code StandaloneSessionClusterEntrypoint}) and TaskManagers ({@code TaskManagerRunner}) on the test class path,
 * with scratch, upload and temporary folders under {@code dir}. TaskManagers can be killed and replaced.
 */
final class StandaloneFlinkCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;
    private final Path confDir;
    private final int restPort;
    private final Configuration tmConfig;
    private final List<ChildJvm> jvms = new ArrayList<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private ChildJvm jobManager;
    private int taskManagers;
    private String classPath = ChildJvm.testClassPath();

    /**
     * @param settings extra cluster settings (config.yaml keys), e.g. heartbeats
     */
    StandaloneFlinkCluster(Path dir, int slotsPerTaskManager, Map<String, String> settings) throws IOException {
        this.dir = dir;
        this.confDir = Files.createDirectories(dir.resolve("conf"));
        this.restPort = EmbeddedKafka.freePort();
        Map<String, String> c = new LinkedHashMap<>();
        // Every socket on loopback: RPC, blob server, REST, data exchange.
        c.put("jobmanager.rpc.address", "127.0.0.1");
        c.put("jobmanager.rpc.port", String.valueOf(EmbeddedKafka.freePort()));
        c.put("jobmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.host", "127.0.0.1");
        c.put("rest.address", "127.0.0.1");
        c.put("rest.bind-address", "127.0.0.1");
        c.put("rest.port", String.valueOf(restPort));
        c.put("io.tmp.dirs", Files.createDirectories(dir.resolve("io-tmp")).toString());
        c.put("web.tmpdir", Files.createDirectories(dir.resolve("web-tmp")).toString());
        c.put(
                "web.upload.dir",
                Files.createDirectories(dir.resolve("web-upload")).toString());
        c.put(
                "blob.storage.directory",
                Files.createDirectories(dir.resolve("blobs")).toString());
        c.put("taskmanager.numberOfTaskSlots", String.valueOf(slotsPerTaskManager));
        // The keyed state lives on the heap (hashmap): little managed memory, a modest task heap.
        c.put("taskmanager.memory.task.heap.size", "384m");
        c.put("taskmanager.memory.managed.size", "32m");
        c.put("taskmanager.memory.network.min", "64m");
        c.put("taskmanager.memory.network.max", "64m");
        c.put("taskmanager.memory.jvm-metaspace.size", "192m");
        c.putAll(settings);
        StringBuilder yaml = new StringBuilder();
        c.forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
        Files.writeString(confDir.resolve("config.yaml"), yaml);
        this.tmConfig = Configuration.fromMap(c);
    }

    /**
     * The class path of the JVMs started from now on (default: the test class path); it must hold the test classes,
     * where the JVMs' launcher is.
     */
    StandaloneFlinkCluster classPath(String classPath) {
        this.classPath = classPath;
        return this;
    }

    String restUrl() {
        return "http://127.0.0.1:" + restPort;
    }

    int restPort() {
        return restPort;
    }

    /** Starts the JobManager JVM without waiting for it (see {@link #awaitTaskManagers}). */
    void startJobManager() throws IOException {
        jobManager = start(
                "jobmanager",
                List.of("-Xmx512m"),
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint");
    }

    /**
     * Starts a TaskManager JVM without waiting for it to register. Its heap and direct memory limits, and the memory
     * settings passed to it, come from Flink's own calculation, as taskmanager.sh gets them from BashJavaUtils.
     */
    ChildJvm startTaskManager() throws IOException {
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(tmConfig);
        List<String> jvmOptions = new ArrayList<>(Arrays.asList(
                ProcessMemoryUtils.generateJvmParametersStr(spec).trim().split("\\s+")));
        List<String> dynamic = Arrays.asList(
                TaskExecutorProcessUtils.generateDynamicConfigsStr(spec).trim().split("\\s+"));
        taskManagers++;
        return start(
                "taskmanager-" + taskManagers,
                jvmOptions,
                "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                dynamic);
    }

    /** The newest TaskManager that is still running. */
    ChildJvm taskManager() {
        for (int i = jvms.size() - 1; i >= 0; i--) {
            if (jvms.get(i) != jobManager && jvms.get(i).isAlive()) {
                return jvms.get(i);
            }
        }
        throw new IllegalStateException("no TaskManager is running:\n" + logTails(40));
    }

    private ChildJvm start(String name, List<String> jvmOptions, String main, List<String> dynamicConfig)
            throws IOException {
        List<String> opts = new ArrayList<>(jvmOptions);
        // C1 only and the serial collector: these JVMs live for a minute on two shared cores. Flink's temporary
        // files (the extracted RPC jar among them) go under dir, not the system's temporary folder.
        opts.addAll(List.of(
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Djava.io.tmpdir=" + dir.resolve("io-tmp"),
                "--add-opens=java.base/java.util=ALL-UNNAMED",
                "--add-opens=java.base/java.lang=ALL-UNNAMED"));
        List<String> args = new ArrayList<>(List.of("--configDir", confDir.toString()));
        args.addAll(dynamicConfig);
        ChildJvm jvm = ChildJvm.start(name, dir.resolve("logs").resolve(name + ".log"), classPath, opts, main, args);
        jvms.add(jvm);
        return jvm;
    }

    private ChildJvm start(String name, List<String> jvmOptions, String main) throws IOException {
        return start(name, jvmOptions, main, List.of());
    }

    /** Waits until {@code count} TaskManagers are registered with the JobManager. */
    void awaitTaskManagers(int count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!jobManager.isAlive()) {
                throw new AssertionError("the JobManager exited:\n" + jobManager.tail(60));
            }
            JsonNode overview = getOrNull("/overview");
            if (overview != null && overview.path("taskmanagers").asInt() >= count) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(count + " TaskManager(s) not registered after " + timeout + "; overview "
                        + overview + "\n" + logTails(40));
            }
            Thread.sleep(200);
        }
    }

    /**
     * Uploads {@code jar} ({@code POST /jars/upload}) and runs its main class ({@code POST /jars/:id/run}) with
     * {@code args} at {@code parallelism}, as {@code gradstream submit} does; returns the job id.
     */
    String submitJar(Path jar, List<String> args, int parallelism) throws IOException, InterruptedException {
        String boundary = "gradstream-test-boundary";
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                        + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        body.writeBytes(Files.readAllBytes(jar));
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        JsonNode upload = post(
                "/jars/upload",
                "multipart/form-data; boundary=" + boundary,
                HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
        String file = upload.path("filename").asText();
        String jarId = file.substring(file.lastIndexOf('/') + 1);
        var run = JSON.createObjectNode();
        run.put("parallelism", parallelism);
        var list = run.putArray("programArgsList");
        args.forEach(list::add);
        JsonNode job = post(
                "/jars/" + jarId + "/run", "application/json", HttpRequest.BodyPublishers.ofString(run.toString()));
        return job.path("jobid").asText();
    }

    private JsonNode post(String path, String contentType, HttpRequest.BodyPublisher body)
            throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create(restUrl() + path))
                        .timeout(Duration.ofMinutes(2))
                        .header("Content-Type", contentType)
                        .POST(body)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new AssertionError(
                    "POST " + path + ": HTTP " + r.statusCode() + " " + r.body() + "\n" + logTails(60));
        }
        return JSON.readTree(r.body());
    }

    /** GET {@code path} of the REST API as JSON; null while the JobManager does not answer. */
    JsonNode getOrNull(String path) {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(restUrl() + path))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The last lines of every JVM's log, for failure messages. */
    String logTails(int lines) {
        StringBuilder b = new StringBuilder();
        for (ChildJvm j : jvms) {
            b.append("---- ")
                    .append(j.name)
                    .append(j.isAlive() ? "" : " (exited)")
                    .append(" ----\n")
                    .append(j.tail(lines))
                    .append('\n');
        }
        return b.toString();
    }

    @Override
    public void close() throws InterruptedException {
        for (ChildJvm j : jvms) {
            j.close();
        }
    }
}
