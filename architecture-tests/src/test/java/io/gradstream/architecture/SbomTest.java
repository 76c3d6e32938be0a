package io.gradstream.architecture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The SBOM that `mvn package` writes beside the job's cluster jar (jobs/target/bom.json, CycloneDX) names every
 * library bundled in that jar at the version bundled. It runs after the jobs module in a reactor build; the plugin
 * needs online mode, so an offline build has no SBOM and skips this test, unless CI requires it.
 */
class SbomTest {

    @Test
    void clusterJarSbomListsEveryBundledLibraryAtItsVersion() throws IOException {
        Path target = Path.of(System.getProperty("gradstream.project.dir", ".."))
                .toAbsolutePath()
                .resolve("jobs/target");
        Path bom = target.resolve("bom.json");
        Path jar = clusterJar(target);
        boolean built = Files.isRegularFile(bom) && jar != null;
        assumeTrue(
                built || "1".equals(System.getenv("GRADSTREAM_REQUIRE_TOOLS")),
                "no jobs/target/bom.json and cluster jar: build the jobs module online (`mvn package`) first");
        assertThat(bom).as("the SBOM of an online `mvn package`").isRegularFile();
        assertThat(jar).as("jobs/target/gradstream-jobs-*-cluster.jar").isNotNull();

        JsonNode root = new ObjectMapper().readTree(bom.toFile());
        assertThat(root.path("bomFormat").asText()).isEqualTo("CycloneDX");
        JsonNode subject = root.path("metadata").path("component");
        assertThat(subject.path("name").asText()).isEqualTo("gradstream-jobs");
        Map<String, String> listed = new HashMap<>();
        listed.put(
                subject.path("group").asText() + ":" + subject.path("name").asText(),
                subject.path("version").asText());
        for (JsonNode c : root.path("components")) {
            listed.put(
                    c.path("group").asText() + ":" + c.path("name").asText(),
                    c.path("version").asText());
        }

        List<String> bundled = bundledArtifacts(jar);
        // The shaded jar keeps each bundled artifact's pom.properties: ours, Avro, Jackson, JOCL, lz4 at least.
        assertThat(bundled).hasSizeGreaterThanOrEqualTo(5).anyMatch(a -> a.startsWith("org.apache.avro:avro:"));
        for (String gav : bundled) {
            String ga = gav.substring(0, gav.lastIndexOf(':'));
            String version = gav.substring(gav.lastIndexOf(':') + 1);
            assertThat(listed.get(ga))
                    .as(
                            "version of %s in bom.json (bundled in %s; a stale SBOM? rebuild jobs online)",
                            ga, jar.getFileName())
                    .isEqualTo(version);
        }
    }

    private static Path clusterJar(Path target) throws IOException {
        if (!Files.isDirectory(target)) {
            return null;
        }
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(target, "gradstream-jobs-*-cluster.jar")) {
            for (Path p : jars) {
                return p;
            }
        }
        return null;
    }

    /** group:artifact:version of every META-INF/maven/.../pom.properties in the jar. */
    private static List<String> bundledArtifacts(Path jar) throws IOException {
        List<String> found = new ArrayList<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            for (JarEntry e : java.util.Collections.list(file.entries())) {
                if (e.getName().startsWith("META-INF/maven/") && e.getName().endsWith("/pom.properties")) {
                    Properties p = new Properties();
                    try (InputStream in = file.getInputStream(e)) {
                        p.load(in);
                    }
                    found.add(p.getProperty("groupId") + ":" + p.getProperty("artifactId") + ":"
                            + p.getProperty("version"));
                }
            }
        }
        return found;
    }
}
