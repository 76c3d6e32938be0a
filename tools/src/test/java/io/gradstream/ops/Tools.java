package io.gradstream.ops;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * External programs the operations tests drive (Prometheus, Chromium). Missing on a developer's machine, a test is
 * skipped with the install command; where {@code GRADSTREAM_REQUIRE_TOOLS} is set (.ci/run sets it), it fails instead,
 * so CI can never pass by skipping.
 */
public final class Tools {
    private Tools() {}

    public static Path require(String path, String debianPackage) {
        String flag = System.getenv("GRADSTREAM_REQUIRE_TOOLS");
        return require(path, debianPackage, flag != null && !flag.isBlank() && !flag.equals("0"));
    }

    static Path require(String path, String debianPackage, boolean required) {
        Path p = Path.of(path);
        if (!Files.isExecutable(p)) {
            String message = path + " is not installed: apt-get install " + debianPackage;
            if (required) {
                throw new AssertionError(message + " (GRADSTREAM_REQUIRE_TOOLS is set, so this test may not skip)");
            }
            Assumptions.abort(message);
        }
        return p;
    }
}
