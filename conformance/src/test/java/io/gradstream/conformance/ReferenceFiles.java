package io.gradstream.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the tests find the golden reference files: the directory in system property {@code gradstream.reference.dir}
 * (set by surefire in the parent pom), else the test classpath's {@code /reference} (an IDE run of a single test).
 */
final class ReferenceFiles {
    static final String DIR_PROPERTY = "gradstream.reference.dir";

    private ReferenceFiles() {}

    /** The copy of {@code shared/reference}. */
    static Path dir() {
        String configured = System.getProperty(DIR_PROPERTY);
        if (configured != null && !configured.isBlank() && Files.isDirectory(Path.of(configured))) {
            return Path.of(configured);
        }
        URL url = ReferenceFiles.class.getResource("/reference");
        if (url == null) {
            throw new IllegalStateException("reference data not found: set -D" + DIR_PROPERTY
                    + " or put it on the test classpath under /reference (configured: " + configured + ")");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("bad reference data location " + url, e);
        }
    }

    /** The files we generated with torch 1.13 for further configurations, beside the public set. */
    static Path extraDir() {
        return dir().resolveSibling("reference-extra");
    }

    /** Parses a file relative to {@link #dir()}, e.g. {@code numeric_formats/fp16_conversion.json}. */
    static JsonNode load(String relativePath) {
        try {
            return Json.read(dir().resolve(relativePath));
        } catch (ReferenceFormatException e) {
            throw new IllegalStateException("cannot read reference file " + relativePath + ": " + e.getMessage(), e);
        }
    }
}
