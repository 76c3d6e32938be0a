package io.gradstream.ops;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code gradstream local} in a separate JVM, as a user starts it, with the test's folder as its temporary folder and
 * its standard output collected line by line; stderr goes to a log under target/, never into that folder.
 */
public final class LocalProcess implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    private LocalProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
        Thread reader = new Thread(
                () -> {
                    try (var r = new BufferedReader(
                            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line = r.readLine(); line != null; line = r.readLine()) {
                            lines.add(line);
                        }
                    } catch (IOException closed) {
                        // the process ended
                    }
                },
                "gradstream-local-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Runs {@code gradstream local ARGS...} with {@code tmp} as its working and temporary folder. */
    public static LocalProcess start(Path tmp, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g",
                "-Djava.io.tmpdir=" + tmp,
                "-cp",
                System.getProperty("java.class.path"),
                "io.gradstream.cli.GradstreamCli",
                "local"));
        cmd.addAll(List.of(args));
        Path log = Files.createDirectories(Path.of("target", "local-mode-logs").toAbsolutePath())
                .resolve(System.nanoTime() + ".log");
        return new LocalProcess(
                new ProcessBuilder(cmd)
                        .redirectError(log.toFile())
                        .directory(tmp.toFile())
                        .start(),
                log);
    }

    /** Waits until a line starts with {@code prefix} and returns it; fails with the output so far otherwise. */
    public String awaitLine(String prefix, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            synchronized (lines) {
                for (String l : lines) {
                    if (l.strip().startsWith(prefix)) {
                        return l.strip();
                    }
                }
            }
            if (!process.isAlive()) {
                break;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("gradstream local printed no line starting with '" + prefix + "' (exit: "
                + (process.isAlive() ? "running" : process.exitValue()) + "):\n" + output());
    }

    /** Everything printed so far. */
    public String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    public List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    public Process process() {
        return process;
    }

    /** The file its standard error (its log) goes to. */
    public Path log() {
        return log;
    }

    /** SIGTERM (the shutdown hook Ctrl-C runs too), then a forced kill if it does not end within a minute. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        Thread.sleep(200); // let the reader take the last lines
    }
}
