package io.gradstream.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.yaml.snakeyaml.Yaml;

/** Reads the operations files (flink-conf/, docker/) of the repository the tests run in. */
final class OpsFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OpsFiles() {}

    /** The repository root: Maven's top directory (surefire passes it), else the nearest parent with flink-conf/. */
    static Path root() {
        String dir = System.getProperty("gradstream.project.dir");
        if (dir != null && Files.isDirectory(Path.of(dir, "flink-conf"))) {
            return Path.of(dir);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("flink-conf")) && Files.isDirectory(p.resolve("docker"))) {
                return p;
            }
        }
        throw new IllegalStateException("repository root with flink-conf/ and docker/ not found");
    }

    static Path path(String relative) {
        return root().resolve(relative);
    }

    static String text(String relative) {
        try {
            return Files.readString(path(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(String relative) {
        try {
            return JSON.readTree(path(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A YAML file as a tree, with aliases and merge keys ({@code <<: *flink} in compose.yaml) resolved. */
    static JsonNode yaml(String relative) {
        try (Reader in = Files.newBufferedReader(path(relative))) {
            return JSON.valueToTree(new Yaml().load(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
