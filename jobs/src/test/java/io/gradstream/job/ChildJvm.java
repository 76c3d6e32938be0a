package io.gradstream.job;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A JVM on the test class path (a Kafka broker, a Flink JobManager or TaskManager) whose output goes to a log file and
 * which halts as soon as its standard input closes: the test JVM holds the other end of that pipe, so even a test JVM
 * killed with SIGKILL leaves no child behind, and a shutdown hook kills what is left on an ordinary exit.
 */
public final class ChildJvm implements AutoCloseable {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "child-jvm-reaper"));
    }

    final String name;
    final Path log;
    private final Process process;

    private ChildJvm(String name, Path log, Process process) {
        this.name = name;
        this.log = log;
        this.process = process;
    }

    /**
     * Starts {@code mainClass} with {@code args} in a new JVM with {@code jvmOptions}; stdout and stderr are appended
     * to {@code log}.
     */
    static ChildJvm start(String name, Path log, List<String> jvmOptions, String mainClass, List<String> args)
            throws IOException {
        return start(name, log, testClassPath(), jvmOptions, mainClass, args);
    }

    /** As above on {@code classPath}, which must hold this class (the test classes). */
    static ChildJvm start(
            String name, Path log, String classPath, List<String> jvmOptions, String mainClass, List<String> args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(ChildJvm.class.getName());
        cmd.add(mainClass);
        cmd.addAll(args);
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        LIVE.add(p);
        p.onExit().thenRun(() -> LIVE.remove(p));
        return new ChildJvm(name, log, p);
    }

    /** The test class path; failsafe's own java.class.path is a manifest-only jar, hence its property first. */
    static String testClassPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL, as a machine or container that dies takes the process: no shutdown hook runs. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " (pid " + process.pid() + ") survived SIGKILL for 30 s");
        }
    }

    /** SIGTERM (the process's shutdown hooks run), then SIGKILL if it is still there after {@code grace}. */
    void stop(Duration grace) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
        }
    }

    /** The last {@code lines} lines of the log. */
    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    /** Entry point of the child: arguments are the real main class and its arguments. */
    public static void main(String[] args) throws Throwable {
        Thread guard = new Thread(
                () -> {
                    try {
                        while (System.in.read() >= 0) {
                            // nothing is ever written; only the end of the stream matters
                        }
                    } catch (IOException ignored) {
                        // a broken pipe means the same as its end
                    }
                    Runtime.getRuntime().halt(137);
                },
                "orphan-guard");
        guard.setDaemon(true);
        guard.start();
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        try {
            Class.forName(args[0]).getMethod("main", String[].class).invoke(null, (Object) rest);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
