package io.gradstream.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Loads the golden reference files: from the directory in system property {@code gradstream.reference.dir} (set by
 * surefire in the parent pom), else from the classpath resource {@code /reference} (an IDE run of a single test).
 */
public final class ReferenceData {

    public static final String DIR_PROPERTY = "gradstream.reference.dir";

    private ReferenceData() {}

    public static Path dir() {
        String configured = System.getProperty(DIR_PROPERTY);
        if (configured != null && !configured.isBlank() && Files.isDirectory(Path.of(configured))) {
            return Path.of(configured);
        }
        URL url = ReferenceData.class.getResource("/reference");
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

    /** Parses a JSON file relative to the reference directory, e.g. {@code numeric_formats/fp16_conversion.json}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> load(String relativePath) {
        Path file = dir().resolve(relativePath);
        try {
            return (Map<String, Object>) Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read reference file " + file, e);
        }
    }

    /** A JSON number, or one of the strings "nan", "inf", "-inf" that the reference files use for non-finite values. */
    public static double number(Object value) {
        if (value instanceof Double) {
            return (Double) value;
        }
        switch (String.valueOf(value)) {
            case "nan":
                return Double.NaN;
            case "inf":
                return Double.POSITIVE_INFINITY;
            case "-inf":
                return Double.NEGATIVE_INFINITY;
            default:
                throw new IllegalArgumentException("not a reference number: " + value);
        }
    }

    /** A list of JSON numbers as float32 (exact: every value in the float32 files is a float32). */
    public static float[] floats(Object list) {
        List<?> values = (List<?>) list;
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) number(values.get(i));
        }
        return out;
    }

    /** A hex bit-pattern string such as {@code "0x7fc00000"}. */
    public static int hexBits(Object value) {
        String s = (String) value;
        if (!s.startsWith("0x")) {
            throw new IllegalArgumentException("not a hex bit pattern: " + s);
        }
        return Integer.parseUnsignedInt(s.substring(2), 16);
    }
}
