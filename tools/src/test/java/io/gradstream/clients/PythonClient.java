package io.gradstream.clients;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Where the Python client is (clients/python of the repository the tests run in) and which Python interpreter has its
 * dependencies: {@code GRADSTREAM_PYTHON}, else Debian's {@code /usr/bin/python3} (where apt installs python3-avro,
 * -confluent-kafka, -numpy, -torch and -pytest), else {@code python3} on the PATH.
 */
final class PythonClient {
    /** What the client and its tests import. */
    static final String MODULES = "avro, confluent_kafka, numpy, torch, pytest";

    static final String PACKAGES = "python3-avro python3-confluent-kafka python3-numpy python3-torch python3-pytest";

    private PythonClient() {}

    /** The repository root: Maven's top directory when surefire passes it, else the nearest parent with clients/. */
    static Path root() {
        String dir = System.getProperty("gradstream.project.dir");
        if (dir != null && Files.isRegularFile(Path.of(dir, "clients/python/pyproject.toml"))) {
            return Path.of(dir);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("clients/python/pyproject.toml"))) {
                return p;
            }
        }
        throw new IllegalStateException("repository root with clients/python/pyproject.toml not found");
    }

    /**
     * The first interpreter that imports {@link #MODULES}; when none does, the test is skipped with the install
     * command, or fails where {@code GRADSTREAM_REQUIRE_TOOLS} is set (.ci/run sets it), so CI cannot pass by skipping.
     */
    static String python() throws IOException, InterruptedException {
        List<String> candidates = new ArrayList<>();
        String configured = System.getenv("GRADSTREAM_PYTHON");
        if (configured != null && !configured.isBlank()) {
            candidates.add(configured);
        }
        candidates.add("/usr/bin/python3");
        candidates.add("python3");
        for (String python : candidates) {
            if (imports(python)) {
                return python;
            }
        }
        String message = "no Python with " + MODULES + " (tried " + candidates + "): apt-get install " + PACKAGES;
        String flag = System.getenv("GRADSTREAM_REQUIRE_TOOLS");
        if (flag != null && !flag.isBlank() && !flag.equals("0")) {
            throw new AssertionError(message + " (GRADSTREAM_REQUIRE_TOOLS is set, so this test may not skip)");
        }
        Assumptions.abort(message);
        return null;
    }

    private static boolean imports(String python) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(python, "-c", "import " + MODULES)
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException notThere) {
            return false;
        }
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
